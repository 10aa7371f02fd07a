"""What the network looks at: one call shape, `method(model, image, target, ...) -> tensor`.

`image` is (N, 3, H, W) in [0, 1] and `target` a class: an index or a name from
`model.categories` (or one per image). Every result has the image's height and width, and is either

- per pixel, (N, H, W): saliency, smoothgrad, cam, grad_cam, occlusion; or
- per channel, (N, 3, H, W): gradient, deconvnet, guided_backprop, guided_grad_cam, integrated_gradients
  (show them as images, or reduce with `as_heatmap`).

Two helpers look past the class score: `unit_guided_backprop` explains one unit of an inner
layer instead of a class, and `path_scores` gives the score along integrated gradients' path.

No method changes the model: they run `models.folded(model)` (the same function with its batch
norms folded into its convolutions, faster to differentiate), and backward rules for ReLUs live in
forward hooks that are removed when the call returns, also when it raises.
"""

import contextlib
import copy
import inspect
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .activations import forward_hooks, forward_with_activations, get_activations
from .models import folded

# The last layer with a spatial map, where CAM and Grad-CAM look by default.
LAST_CONV = {"efficientnet_lite0": "head", "alexnet": "conv5", "vgg16": "conv5_3", "vgg19": "conv5_4",
             "googlenet": "inception5b", "squeezenet1_1": "fire9", "resnet18": "layer4"}
# Models whose classifier is global average pooling then ONE linear layer (what CAM needs):
# the layer before the pooling and the path of the linear layer's weight.
CAM_CLASSIFIER = {"efficientnet_lite0": ("head", "net.fc"), "resnet18": ("layer4", "net.fc"),
                  "googlenet": ("inception5b", "net.fc")}


def _prepare(model, image, target):
    """Validate; return the network to run (`folded(model)`: the same function with its batch
    norms folded, faster to differentiate), the image on the model's device and a (N,) tensor
    of target indices."""
    image = _checks.images(image, "image")
    targets = _checks.class_indices(model, target, len(image), "target")
    return folded(model), image.to(model.device), targets.to(model.device)


def _scores(logits, targets):
    return logits.gather(1, targets[:, None]).sum()


def _input_gradient(model, image, targets):
    x = image.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(_scores(model(x), targets), x)
    return grad


def as_heatmap(attribution):
    """(N, 3, H, W) per-channel attributions -> (N, H, W): largest absolute value over channels."""
    return attribution.abs().amax(dim=1) if attribution.ndim == 4 else attribution


def gradient(model, image, target):
    """The plain gradient d score / d pixel. Per channel, (N, 3, H, W), signed."""
    net, image, targets = _prepare(model, image, target)
    return _input_gradient(net, image, targets)


def saliency(model, image, target):
    """Vanilla gradient saliency (Simonyan et al. 2014): |d score / d pixel|, max over RGB.

    Per pixel, (N, H, W), >= 0.
    """
    return as_heatmap(gradient(model, image, target))


# ---------------------------------------------------------------- ReLU backward rules


class _ReluRule(torch.autograd.Function):
    """Returns the activation's output unchanged; its backward applies a modified ReLU rule.

    guided (guided backprop): pass positive gradients where the input was positive;
    not guided (deconvnet): pass positive gradients wherever they are, ignoring the input.
    """

    @staticmethod
    def forward(ctx, x, y, guided):
        # Takes the activation's input x so that the gradient goes straight to it, past the
        # activation's own backward; y > 0 exactly where x > 0 (ReLU, ReLU6).
        ctx.guided = guided
        if guided:
            ctx.save_for_backward(y > 0)
        return y.clone()

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clamp(min=0)  # a new tensor: the in-place mask below is safe
        if ctx.guided:
            (active,) = ctx.saved_tensors
            grad.mul_(active)
        return grad, None, None


@contextlib.contextmanager
def relu_rule(model, guided):
    """Inside the block, every nn.ReLU / nn.ReLU6 of `model` back-propagates by the rule.

    ReLU6 (the bundled model's activation) follows the same rule as ReLU: its cap at 6 is
    ignored on the way back, so a saturated unit still passes its (positive) gradient. Such a
    unit is as active as a unit can be; blocking it would hide the strongest evidence.
    Limit: activations called as functions (F.relu, as in GoogLeNet's convolutions) are not seen.
    """
    modules = {name: m for name, m in model.named_modules() if isinstance(m, (nn.ReLU, nn.ReLU6))}
    if not modules:
        raise ValueError(f"{model.name} has no nn.ReLU or nn.ReLU6 modules; "
                         f"deconvnet and guided backprop need them")
    with forward_hooks(modules, lambda name, module, inputs, output: _ReluRule.apply(inputs[0], output, guided)):
        yield


def guided_backprop(model, image, target):
    """Guided backpropagation (Springenberg et al. 2015). Per channel, (N, 3, H, W), signed."""
    net, image, targets = _prepare(model, image, target)
    with relu_rule(net, guided=True):
        return _input_gradient(net, image, targets)


def deconvnet(model, image, target):
    """Deconvnet-style backward pass (Zeiler and Fergus 2014). Per channel, (N, 3, H, W), signed."""
    net, image, targets = _prepare(model, image, target)
    with relu_rule(net, guided=False):
        return _input_gradient(net, image, targets)


# ---------------------------------------------------------------- class activation maps


def _upsample(maps, size):
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def _layer_of(model, layer):
    if layer is not None:
        return layer
    if model.name not in LAST_CONV:
        raise ValueError(f"no default layer for {model.name}; pass layer=, one of: {', '.join(model.layers)}")
    return LAST_CONV[model.name]


def grad_cam(model, image, target, layer=None):
    """Grad-CAM (Selvaraju et al. 2017): ReLU(sum_k w_k A_k), w_k = spatial mean of d score/d A_k.

    layer: a short layer name (default: the last convolutional layer). Per pixel, (N, H, W),
    >= 0: the layer's map upsampled bilinearly to the image.
    """
    net, image, targets = _prepare(model, image, target)
    layer = _layer_of(model, layer)
    x = image.clone().requires_grad_(True)  # builds the graph through the frozen model
    logits, acts = forward_with_activations(net, x, [layer])
    (grads,) = torch.autograd.grad(_scores(logits, targets), acts[layer])
    weights = grads.mean(dim=(2, 3), keepdim=True)
    maps = F.relu((weights * acts[layer]).sum(dim=1)).detach()
    return _upsample(maps, image.shape[2:])


def cam(model, image, target):
    """Class activation map (Zhou et al. 2016): the classifier's weights for the target applied
    to the last feature map, sum_k w_k^c A_k, ReLU, upsampled. Per pixel, (N, H, W), >= 0.

    Needs global average pooling followed by one linear layer: efficientnet_lite0, resnet18,
    googlenet. Other models get Grad-CAM at their last convolutional layer, with a warning
    (for CAM's models the two agree up to a constant factor).
    """
    if model.name not in CAM_CLASSIFIER:
        warnings.warn(f"CAM needs global average pooling and one linear layer, which {model.name} "
                      f"lacks; showing Grad-CAM at {_layer_of(model, None)!r} instead", stacklevel=2)
        return grad_cam(model, image, target)
    net, image, targets = _prepare(model, image, target)
    layer = CAM_CLASSIFIER[model.name][0]
    with torch.no_grad():
        _, acts = forward_with_activations(net, image, [layer])
    return _upsample(cam_maps(net, acts[layer], targets), image.shape[2:])


def cam_maps(model, maps, targets):
    """CAM from maps already computed: ReLU(sum_k w_k^c A_k) at the maps' own size, (N, h, w),
    where `maps` (N, K, h, w) are the layer `CAM_CLASSIFIER[model.name][0]` and w^c the linear
    layer's row for each target class (an index tensor or list, one per map)."""
    weights = model.get_submodule(CAM_CLASSIFIER[model.name][1]).weight  # (classes, K)
    targets = torch.as_tensor(targets, device=maps.device).reshape(-1)
    with torch.no_grad():
        return F.relu(torch.einsum("nk,nkhw->nhw", weights[targets], maps))


def guided_grad_cam(model, image, target, layer=None):
    """Guided Grad-CAM: guided backprop times Grad-CAM. Per channel, (N, 3, H, W)."""
    return guided_backprop(model, image, target) * grad_cam(model, image, target, layer)[:, None]


# ---------------------------------------------------------------- perturbation and sampling


def _batches(total, batch_size, device, cpu_default):
    # A CPU is fastest with small batches (its memory grows with them; benchmarks/RESULTS.md);
    # a GPU wants larger ones.
    if batch_size is None:
        batch_size = 32 if device.type == "cuda" else cpu_default
    batch_size = _checks.positive_int(batch_size, "batch_size")
    for start in range(0, total, batch_size):
        yield start, min(start + batch_size, total)


def _starts(size, window, stride):
    """Window positions every `stride` pixels, plus one flush with the far edge if needed."""
    starts = list(range(0, size - window + 1, stride))
    return starts + [size - window] if starts[-1] != size - window else starts


def _baseline_like(image, baseline):
    """The path's start as a tensor like `image`: black by default, or pixels in [0, 1] whose shape
    broadcasts to the image's (a number, (3, 1, 1), (1, 3, H, W), (N, 3, H, W), ...)."""
    if baseline is None:
        return torch.zeros_like(image)
    baseline = torch.as_tensor(baseline).to(image)
    try:
        baseline = baseline.expand_as(image)
    except RuntimeError:
        raise ValueError(f"baseline must be a number or a tensor that broadcasts to the image's shape "
                         f"{tuple(image.shape)}; got shape {tuple(baseline.shape)}") from None
    _checks.pixel_values(baseline, "baseline")
    return baseline


def occlusion(model, image, target, window=48, stride=24, baseline=0.5, batch_size=None):
    """Occlusion sensitivity (Zeiler and Fergus 2014): slide a grey square over the image and
    record how much the target's probability drops.

    Per pixel, (N, H, W): each pixel gets the mean drop of all windows that cover it (positive:
    hiding it hurts the class). window, stride: pixels; baseline: the grey (in [0, 1]) that
    fills the square. Runs batch_size occluded copies per forward pass (None: 8 on a CPU,
    32 on a GPU).
    """
    net, image, targets = _prepare(model, image, target)
    h, w = image.shape[2:]
    window = _checks.integer(window, "window", 1, min(h, w))  # at most the image's shorter side
    stride = _checks.integer(stride, "stride", 1, min(h, w))
    baseline = _checks.number(baseline, "baseline", 0, 1)  # a grey level: pixels are in [0, 1]
    with torch.no_grad():
        base_probs = net(image).softmax(1).gather(1, targets[:, None])[:, 0]
    tops, lefts = _starts(h, window, stride), _starts(w, window, stride)
    positions = torch.tensor([(t, l) for t in tops for l in lefts], device=image.device)
    rows = torch.arange(h, device=image.device).view(1, h, 1)
    cols = torch.arange(w, device=image.device).view(1, 1, w)
    heat = image.new_zeros(image.shape[0], h, w)
    count = image.new_zeros(h, w)
    with torch.no_grad():
        for start, stop in _batches(len(positions), batch_size, image.device, cpu_default=8):
            t, l = positions[start:stop, 0].view(-1, 1, 1), positions[start:stop, 1].view(-1, 1, 1)
            masks = (rows >= t) & (rows < t + window) & (cols >= l) & (cols < l + window)  # (B, H, W)
            count += masks.sum(0)
            for i, (img, tgt) in enumerate(zip(image, targets)):
                copies = torch.where(masks[:, None], torch.as_tensor(baseline, dtype=img.dtype), img)
                drops = base_probs[i] - net(copies).softmax(1)[:, tgt]
                heat[i] += (drops.view(-1, 1, 1) * masks).sum(0)
    return heat / count.clamp(min=1)


def smoothgrad(model, image, target, samples=25, sigma=0.15, batch_size=None, seed=None):
    """SmoothGrad (Smilkov et al. 2017): saliency averaged over copies with Gaussian noise.

    sigma: noise standard deviation in pixel units ([0, 1] range); batch_size: noisy copies per
    pass (None: 2 on a CPU, 32 on a GPU); seed: an int for the same noise on every run (None:
    torch's global random numbers). Per pixel, (N, H, W), >= 0.
    """
    net, image, targets = _prepare(model, image, target)
    samples = _checks.positive_int(samples, "samples")
    sigma = _checks.number(sigma, "sigma (pixel units)", low=0)
    generator = _checks.seed(seed)
    total = image.new_zeros(image.shape[0], *image.shape[2:])
    for img, tgt, out in zip(image, targets, total):
        for start, stop in _batches(samples, batch_size, image.device, cpu_default=2):
            noise = torch.randn((stop - start, *img.shape), generator=generator, device="cpu").to(img.device)
            out += as_heatmap(_input_gradient(net, img[None] + sigma * noise, tgt.expand(stop - start))).sum(0)
    return total / samples


def integrated_gradients(model, image, target, baseline=None, steps=32, batch_size=None):
    """Integrated gradients (Sundararajan et al. 2017) from `baseline` (default: black) to the
    image, with the midpoint rule over `steps` points, batch_size of them per pass (None: 2 on
    a CPU, 32 on a GPU).

    Per channel, (N, 3, H, W); the sum approximates score(image) - score(baseline).
    """
    net, image, targets = _prepare(model, image, target)
    steps = _checks.positive_int(steps, "steps")
    baseline = _baseline_like(image, baseline)
    alphas = (torch.arange(steps, device=image.device, dtype=image.dtype) + 0.5) / steps
    result = torch.zeros_like(image)
    for i, (img, base, tgt) in enumerate(zip(image, baseline, targets)):
        for start, stop in _batches(steps, batch_size, image.device, cpu_default=2):
            a = alphas[start:stop].view(-1, 1, 1, 1)
            grads = _input_gradient(net, base + a * (img - base), tgt.expand(stop - start))
            result[i] += grads.sum(0)
    return (image - baseline) * result / steps


def path_scores(model, image, target, alphas, baseline=None, batch_size=8):
    """The target's score (logit) at points of the straight path from `baseline` (default: black)
    to the image, `baseline + alpha * (image - baseline)` for each alpha in `alphas` (1-D, in
    [0, 1]): the curve whose slope integrated gradients integrates. Forward passes only,
    `batch_size` points per pass.

    Returns (N, len(alphas)) float. Integrated gradients' attributions sum to
    scores at alpha 1 minus scores at alpha 0, in the limit of many steps.

    Example:
        >>> path_scores(model, cat, "tabby", torch.linspace(0, 1, 11)).shape
        torch.Size([1, 11])
    """
    net, image, targets = _prepare(model, image, target)
    alphas = torch.as_tensor(alphas, dtype=image.dtype).flatten().to(image.device)
    if len(alphas) == 0 or not bool(((alphas >= 0) & (alphas <= 1)).all()):
        raise ValueError(f"alphas must be a non-empty 1-D list of numbers in [0, 1]; got {alphas.tolist()}")
    baseline = _baseline_like(image, baseline)
    scores = image.new_zeros(len(image), len(alphas))
    with torch.no_grad():
        for i, (img, base, tgt) in enumerate(zip(image, baseline, targets)):
            for start, stop in _batches(len(alphas), batch_size, image.device, cpu_default=8):
                a = alphas[start:stop].view(-1, 1, 1, 1)
                scores[i, start:stop] = net(base + a * (img - base))[:, tgt]
    return scores


METHODS = {"gradient": gradient, "saliency": saliency, "smoothgrad": smoothgrad, "deconvnet": deconvnet,
           "guided_backprop": guided_backprop, "integrated_gradients": integrated_gradients,
           "cam": cam, "grad_cam": grad_cam, "guided_grad_cam": guided_grad_cam, "occlusion": occlusion}


def attribute(model, method, image, target, **settings):
    """Run the method `METHODS[method]` with those of `settings` that it takes (by its signature).

    One set of settings can then serve every method: `layer` reaches grad_cam and
    guided_grad_cam, `window` and `stride` reach occlusion, and the others ignore them.
    Returns what the method returns. Raises ValueError for an unknown method (naming the valid
    ones) or a setting that no method takes.

    Example:
        >>> attribute(model, "occlusion", image, "tabby", layer="stage4", window=48, stride=24)
    """
    taken = settings_of(method, settings)  # checks the method's name and the settings first
    return METHODS[method](model, image, target, **taken)


def settings_of(method, settings):
    """Those of `settings` (a dict) that the method `METHODS[method]` takes, by its signature
    (what `attribute` passes it: a cache of results can key on them). Raises ValueError for an
    unknown method or a setting that no method takes."""
    _checks.one_of(method, "attribution method", METHODS)
    known = {name for fn in METHODS.values() for name in list(inspect.signature(fn).parameters)[3:]}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"no attribution method takes {', '.join(unknown)}; settings: {', '.join(sorted(known))}")
    accepted = inspect.signature(METHODS[method]).parameters
    return {k: v for k, v in settings.items() if k in accepted}


# ---------------------------------------------------------------- one unit of an inner layer


def unit_guided_backprop(model, image, layer, channel, positions=None):
    """Guided backprop of one unit of an inner layer (Springenberg et al. 2015, their "image
    crops" figure): which pixels drive `channel` of `layer` at one position of its map.

    Args:
        layer: a short layer name (see `model.layers`); channel: a channel index of it.
        positions: one (row, col) of the layer's map per image, e.g. `Patch.position` from
            `embedding.top_patches` (computed at the same image size); None takes each image's
            strongest position of the channel.

    Returns:
        Per channel, (N, 3, H, W), signed; zero outside the unit's receptive field
        (`embedding.receptive_field`). The forward pass stops at `layer`.

    Example:
        >>> unit_guided_backprop(model, images, "stage3", 5, positions=[(3, 4)] * len(images))
    """
    image = _checks.images(image, "image")
    net = folded(model)
    x = image.to(model.device).clone().requires_grad_(True)
    with relu_rule(net, guided=True):
        acts = get_activations(net, x, [layer])[layer]
        channel = _checks.integer(channel, "channel", 0, acts.shape[1] - 1)
        maps = acts[:, channel]  # (N, h, w)
        h, w = maps.shape[1:]
        if positions is None:
            flat = maps.flatten(1).argmax(1)
        else:
            positions = [tuple(p) for p in positions]
            if len(positions) != len(image) or any(len(p) != 2 for p in positions):
                raise ValueError(f"positions must hold one (row, col) per image ({len(image)}); "
                                 f"got {positions!r}")
            rows = [_checks.integer(r, "row of a position", 0, h - 1) for r, _ in positions]
            cols = [_checks.integer(c, "column of a position", 0, w - 1) for _, c in positions]
            flat = torch.tensor([r * w + c for r, c in zip(rows, cols)], device=x.device)
        score = maps.flatten(1).gather(1, flat[:, None]).sum()
        (grad,) = torch.autograd.grad(score, x)
    return grad


# ---------------------------------------------------------------- sanity check


def randomized_copies(model, seed=None):
    """Cascading randomisation (Adebayo et al. 2018): yield (name, model) with the weights from
    the top of the network down re-drawn at random, one more layer each time.

    First "classifier" (everything after the deepest named layer), then each named layer from
    the deepest to the first (a layer's part is everything after the layer below it). New
    weights are Gaussian with each tensor's own mean and standard deviation (constant tensors
    get their mean absolute value, or 0.1, as the deviation). One copy of the model is
    randomised further at each step (use it before asking for the next); the original is
    not touched. seed: an int for the same new weights on every run (None: torch's global random numbers).
    """
    # Checked here, at the call: the copies below are drawn only when asked for.
    return _randomized_copies(model, _checks.seed(seed))


def _randomized_copies(model, generator):
    names = list(model.layers)
    randomized = copy.deepcopy(model)
    params = list(randomized.named_parameters())  # in module order
    order = {path: i for i, (path, _) in enumerate(randomized.named_modules())}
    owners = [order[name.rpartition(".")[0]] for name, _ in params]
    ends = []  # for each named layer: how many parameters come up to and including it
    for name in names:
        path = model.layers[name]
        last = max(i for p, i in order.items() if p == path or p.startswith(path + "."))
        ends.append(sum(owner <= last for owner in owners))
    cuts = [("classifier", ends[-1])] + [(name, ends[i - 1] if i else 0) for i, name in reversed(list(enumerate(names)))]
    done = len(params)
    for name, cut in cuts:
        with torch.no_grad():
            for _, param in params[cut:done]:
                noise = torch.randn(param.shape, generator=generator).to(param)
                scale = float(param.std()) if param.numel() > 1 else 0.0
                if scale == 0.0:  # a constant tensor (zero biases): re-draw it all the same
                    scale = float(param.abs().mean()) or 0.1
                param.copy_(param.mean() + noise * scale)
        done = min(done, cut)
        yield name, randomized


def rank_correlation(a, b):
    """Spearman rank correlation of two maps (the similarity measure of Adebayo et al.)."""
    ranks = [m.flatten().argsort().argsort().double() for m in (a, b)]
    ranks = [r - r.mean() for r in ranks]
    return float((ranks[0] * ranks[1]).sum() / (ranks[0].norm() * ranks[1].norm()))
