"""Style transfer against a reference written the way the official PyTorch neural-transfer tutorial
does it (called by run.py).

The reference copies the network's layers into an `nn.Sequential` (for VGG-19: torchvision's
`vgg19().features`, as the tutorial does, with the same weights), inserts ContentLoss and
StyleLoss modules after the chosen layers (each computing its target while the model is being
built, i.e. again for every run), trims what follows the last loss, freezes the weights
(`model.requires_grad_(False)`, as the current tutorial does) and runs `optim.LBFGS` on the
image, clamping it in the closure. Both sides use the same layers and the same losses (relative
squared errors of features and of position-averaged Gram matrices; no TV), the same image sizes
and the same process. Ours runs the bundled network with its batch norms folded into its
convolutions (`models.folded`; VGG-19 has none), the reference the network as it is. Measured:
seconds per function evaluation (forward + backward), with the targets' cost of a run included,
ours on a second run (its targets come from the cache).
"""

import copy
import time

import torch
from torch import nn

from lecture_utils import load_image, load_model
from lecture_utils import style as st
from lecture_utils.models import folded

EVALUATIONS = {"vgg19_random": 8, "efficientnet_lite0": 30}


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean, self.std = mean.view(-1, 1, 1), std.view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()

    def forward(self, x):
        self.loss = (x - self.target).pow(2).sum() / self.target.pow(2).sum()
        return x


def gram(x):
    a, b, c, d = x.size()
    features = x.view(a * b, c * d)
    return torch.mm(features, features.t()).div(c * d)


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = gram(target_feature).detach()

    def forward(self, x):
        self.loss = (gram(x) - self.target).pow(2).sum() / self.target.pow(2).sum()
        return x


def units(model):
    """The network as a flat list of (module path, module), in order, as the tutorial walks it.

    VGG-19 as the tutorial builds it: torchvision's `vgg19().features` (default memory layout),
    here with the weights of `model`. The bundled network has no tutorial version: its own units.
    """
    net = model.net
    if hasattr(net, "features"):  # VGG
        import torchvision

        features = torchvision.models.vgg19(weights=None).features
        features.load_state_dict(net.features.state_dict())
        features.to(model.device)
        return [(f"net.features.{i}", m) for i, m in enumerate(features)]
    return [("net.stem", net.stem)] + [(f"net.blocks.{i}", b) for i, b in enumerate(net.blocks)] + [("net.head", net.head)]


def tutorial_model(model, style_img, content_img, content_layer, style_layers):
    """get_style_model_and_losses, generalised from VGG's children to the model's units."""
    paths = {model.layers[n]: n for n in [content_layer, *style_layers]}
    cnn = copy.deepcopy(units(model))
    seq = nn.Sequential(Normalization(model.mean.flatten(), model.std.flatten()))
    content_losses, style_losses = [], []
    for i, (path, layer) in enumerate(cnn):
        if isinstance(layer, nn.ReLU):
            layer = nn.ReLU(inplace=False)
        seq.add_module(f"layer_{i}", layer)
        name = paths.get(path)
        if name == content_layer:
            loss = ContentLoss(seq(content_img).detach())
            seq.add_module(f"content_loss_{i}", loss)
            content_losses.append(loss)
        if name in style_layers:
            loss = StyleLoss(seq(style_img).detach())
            seq.add_module(f"style_loss_{i}", loss)
            style_losses.append(loss)
        if len(content_losses) + len(style_losses) == len(style_layers) + 1:
            break  # the tutorial trims what follows the last loss
    return seq, style_losses, content_losses


def tutorial_run(model, content_img, style_img, content_layer, style_layers, num_steps, style_weight, content_weight):
    seq, style_losses, content_losses = tutorial_model(model, style_img, content_img, content_layer, style_layers)
    input_img = content_img.clone()
    input_img.requires_grad_(True)
    seq.eval()
    seq.requires_grad_(False)
    optimizer = torch.optim.LBFGS([input_img])
    run = [0]
    while run[0] < num_steps:
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            seq(input_img)
            style_score = sum(sl.loss for sl in style_losses) / len(style_losses) * style_weight
            content_score = sum(cl.loss for cl in content_losses) * content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            return loss

        optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    return run[0]


def ours_run(model, content_img, style_img, steps):
    calls = [0]  # counted on the network the loop runs (the bundled model with its batch norms folded)
    handle = folded(model).register_forward_pre_hook(lambda *a: calls.__setitem__(0, calls[0] + 1))
    try:
        for _ in st.iterate_style_transfer(model, content_img, style_img, size=max(content_img.shape[-2:]), steps=steps,
                                   tv_weight=0.0):
            pass
    finally:
        handle.remove()
    return calls[0]


def per_evaluation(model, size, evaluations):
    content = load_image("palace", size)[..., :size, :size].contiguous()
    style = load_image("cafe_terrace", size)[..., :size, :size].contiguous()
    content_layer, style_layers = st.default_layers(model)
    ours_run(model, content, style, 2)  # warm-up; fills the target cache as a first run would
    ours, peer = [], []
    for _ in range(2):  # alternate, so a drift of the (shared) machine hits both alike; keep the best
        start = time.perf_counter()
        n = ours_run(model, content, style, evaluations)
        ours.append((time.perf_counter() - start) / n)
        start = time.perf_counter()
        n = tutorial_run(model, content, style, content_layer, style_layers, evaluations, 20.0, 1.0)
        peer.append((time.perf_counter() - start) / n)
    ours, peer = min(ours), min(peer)
    return ours, peer


def rows():
    out = []
    for model, label in ((st.vgg19(weights="random", device="cpu"), "random VGG-19"),
                         (load_model(device="cpu"), "bundled EfficientNet-Lite0")):
        ours, peer = per_evaluation(model, 256, EVALUATIONS[model.name])
        out.append((f"style transfer, {label}, 256 px, seconds per L-BFGS evaluation", ours, peer,
                    "ours >= 1.5x faster", peer >= 1.5 * ours))
    return out


if __name__ == "__main__":
    for row in rows():
        print(row)
