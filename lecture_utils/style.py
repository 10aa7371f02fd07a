"""Gram matrices, neural texture synthesis and neural style transfer (Gatys, Ecker and Bethge).

A layer's activations form an H x W grid of C-dimensional vectors. Their Gram matrix, the
outer products averaged over all positions, keeps which features occur together and forgets
where: that is a texture. Texture synthesis looks for an image whose Gram matrices match a
texture's; style transfer also keeps one layer's features of a content photo:

    palace, cafe = load_image("palace"), load_image("cafe_terrace")
    painted = style_transfer(model, palace, cafe, size=256)              # (1, 3, h, w) in [0, 1]
    for step in iterate_style_transfer(model, palace, cafe, size=256):   # a runs.Step per update
        print(step.step, step.losses)

Both run on the shared loop of `optimize` (so a panel can show progress and stop them); the
losses are `Objective`s. Style targets are computed once per (model, style image, size, layer
set) and then reused from a small cache; the network runs only up to the deepest layer asked
for. Networks: `vgg19(weights="imagenet")` is the lecture's VGG-19 (needs its weights in torch's
cache), `vgg19(weights="random")` the same architecture with random weights (no download; it
still stylises, Wang et al. 2021), and the bundled EfficientNet with SWAG's softmax smoothing.
"""

import numbers
import weakref
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .activations import get_activations, resolve_layers
from .images import resize_longer_side
from .models import IMAGENET_MEAN, IMAGENET_STD, ImageNetModel, cached_state_dict, imagenet_categories, vgg_layers
from .optimize import Objective, iterate, total_variation
from .runs import Step, run_to_end

# (content layer, style layers): Gatys et al. use VGG-19's conv4_2 and conv1_1 ... conv5_1
# (the ReLU outputs); for the bundled network the stages at the same strides (2 to 16).
_GATYS = ("conv4_2", ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"))
DEFAULT_LAYERS = {
    "vgg": _GATYS,
    "efficientnet_lite0": ("stage4", ("stem", "stage1", "stage2", "stage3", "stage4")),
}
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
CACHE_SIZE = 16  # feature/Gram targets kept per model


# --- the statistics --------------------------------------------------------------------------

def gram_matrix(features):
    """Gram matrices of activations, averaged over positions (the lecture's normalisation).

    Args:
        features: tensor (N, C, H, W).

    Returns:
        (N, C, C) with G[n, c, d] = (1 / HW) * sum_p F[n, c, p] F[n, d, p].

    Example:
        >>> gram_matrix(torch.ones(1, 2, 3, 3))
        tensor([[[1., 1.], [1., 1.]]])
    """
    if not torch.is_tensor(features) or features.ndim != 4:
        raise ValueError(f"features must be a tensor (N, C, H, W); got {getattr(features, 'shape', type(features).__name__)}")
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def softmax_smoothing(features):
    """SWAG (Wang, Li and Vasconcelos, CVPR 2021): a softmax over all activations of a layer.

    Residual networks put most of a layer's activation on a few entries (peaky, low entropy),
    and matching their Gram matrices then copies those few places rather than a style. The
    softmax over all C*H*W entries of each image's layer (as in the authors' code) spreads the
    activation out. Returns a tensor of the same shape, scaled so its mean is 1.

    Limit: the paper uses temperature 1 on ResNet-50; this network's activations are several
    times larger (std about 7), which makes a softmax at temperature 1 nearly one-hot, so the
    temperature here is the layer's own standard deviation (the smoothing is scale-free).
    """
    flat = features.reshape(features.shape[0], -1)
    temperature = flat.std(dim=1, keepdim=True).clamp_min(1e-6)
    return (flat.shape[1] * torch.softmax(flat / temperature, dim=1)).reshape(features.shape)


def loss_features(features, swag=False):
    """What the content and style losses compare at a layer: its features, softmax-smoothed
    (`softmax_smoothing`) when `swag`."""
    return softmax_smoothing(features) if swag else features


# --- targets: computed once, then reused -------------------------------------------------------

_CACHE = weakref.WeakKeyDictionary()  # model -> OrderedDict(key -> {layer: tensor})


def layer_targets(model, image, layers, gram=False, swag=False):
    """Features (or their Gram matrices) of `image` at `layers`, without gradients.

    Computed once per (model, image content, layers, gram, swag) and then taken from a small
    per-model cache (the last CACHE_SIZE entries), so a second run with the same style image
    runs no forward pass for its targets. Returns {layer: tensor}; do not modify them.
    """
    layers = tuple(resolve_layers(model, layers))
    key = (_checks.image_key(image), layers, bool(gram), bool(swag), str(model.device))
    cache = _CACHE.setdefault(model, OrderedDict())
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    with torch.no_grad():
        acts = get_activations(model, image.to(model.device), list(layers))
        features = {name: loss_features(a, swag) for name, a in acts.items()}
        targets = {name: gram_matrix(f) if gram else f for name, f in features.items()}
    cache[key] = targets
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return targets


def style_targets(model, styles, layers, blend=None, swag=False):
    """Gram targets {layer: (1, C, C)} of one style image or of several blended.

    Args:
        styles: an image (1, 3, H, W) in [0, 1] or a list of them.
        layers: style layer names.
        blend: for several styles, their non-negative weights (normalised to sum 1; None:
            equal). Blending the Gram matrices minimises the same loss as the weighted sum of
            the per-style losses, up to a constant.
    """
    styles = [styles] if torch.is_tensor(styles) else list(styles)
    if not styles:
        raise ValueError("give at least one style image")
    for image in styles:
        _checks.images(image, "style image", single=True)
    blend = _normalised(blend, len(styles), "blend", "one per style image")
    grams = [layer_targets(model, image, layers, gram=True, swag=swag) for image in styles]
    return {layer: sum(b * g[layer] for b, g in zip(blend, grams)) for layer in grams[0]}


# --- losses as objectives (to minimise: use them with a minus sign) ---------------------------

def content_loss(layer, target_features, swag=False):
    """Objective "content[layer]": ||F(x) - P||^2 / ||P||^2 between the layer's features F(x)
    and the content's P = `target_features` (the squared error of Gatys et al., relative to the
    target's size; the argument was called `target` before). For a batch, P holds one target
    per image (or one for all) and the loss is the images' mean."""
    target_features = target_features.detach()
    scale = target_features.pow(2).flatten(1).sum(1).clamp_min(1e-12)

    def value(a):
        difference = loss_features(a[layer], swag) - target_features
        return (difference.pow(2).flatten(1).sum(1) / scale).mean()

    return Objective(f"content[{layer}]", value, [layer])


def style_loss(target_grams, weights=None, swag=False):
    """Objective: sum over layers of w_l * ||G_l(x) - A_l||^2 / ||A_l||^2.

    Args:
        target_grams: {layer: Gram target (1, C, C)}, e.g. from `style_targets`.
        weights: per-layer weights, a list in the order of `target_grams` or a {layer: w} dict
            (normalised to sum 1; None: equal, as Gatys et al.). Layers of weight 0 are skipped.

    Gatys et al.'s E_l = ||G_l - A_l||^2 / (4 N_l^2 M_l^2) is the same up to a constant per
    layer; dividing by ||A_l||^2 instead makes every layer start near 1 on any network, so one
    set of weights serves VGG-19, random VGG-19 and the bundled model.
    Each layer is a term named "style[layer]" (its unweighted value shows in `Step.losses`);
    for a batch of images, the mean over the images.
    """
    if not isinstance(target_grams, dict) or not target_grams:
        raise ValueError("target_grams must be a non-empty {layer: Gram matrix} dict (style_targets makes one)")
    layers = list(target_grams)
    if isinstance(weights, dict):
        unknown = [k for k in weights if k not in target_grams]
        if unknown:
            raise ValueError(f"layer weights for {unknown} name no style layer; style layers: {layers}")
        weights = [weights.get(layer, 0.0) for layer in layers]
    weights = _normalised(weights, len(layers), "layer weights", f"one per style layer {layers}")
    total = None
    for layer, weight in zip(layers, weights):
        if weight == 0:
            continue
        term = weight * _gram_term(layer, target_grams[layer], swag)
        total = term if total is None else total + term
    return total


def _gram_term(layer, target_gram, swag):
    target_gram = target_gram.detach()
    scale = target_gram.pow(2).sum().clamp_min(1e-30)

    def value(a):
        difference = gram_matrix(loss_features(a[layer], swag)) - target_gram
        return difference.pow(2).flatten(1).sum(1).mean() / scale

    return Objective(f"style[{layer}]", value, [layer])


def style_distance(model, image, target_grams, weights=None, swag=False):
    """The value of `style_loss(target_grams, weights, swag)` for `image` (a float, no gradients)."""
    objective = style_loss(target_grams, weights, swag)
    with torch.no_grad():
        acts = get_activations(model, image.to(model.device), [n for n in objective.layers])
        total, _ = objective(dict(acts))
    return float(total)


# --- texture synthesis -------------------------------------------------------------------------

def default_layers(model):
    """(content layer, style layers) for a model: Gatys et al.'s for VGG-19."""
    family = "vgg" if model.name.startswith("vgg19") else model.name
    if family not in DEFAULT_LAYERS:
        raise ValueError(f"no default layers for {model.name}; pass content_layer= and style_layers= "
                         f"(valid layers: {', '.join(model.layers)})")
    return DEFAULT_LAYERS[family]


def texture_layer_sets(model):
    """The lecture's figure: style layers from the shallowest only to all of them, each set
    adding the next deeper layer ([l1], [l1, l2], ...). Deeper sets recover larger structures."""
    layers = default_layers(model)[1]
    return [list(layers[:k]) for k in range(1, len(layers) + 1)]


def iterate_texture(model, image, *, layers=None, layer_weights=None, size=128, steps=100, optimizer="lbfgs",
                    lr=None, tv_weight=0.0, swag=False, seed=0):
    """Texture synthesis (Gatys, Ecker and Bethge 2015): from noise, an image whose Gram
    matrices at `layers` match those of `image`.

    Args:
        image: the texture (1, 3, H, W) in [0, 1]; it is resized so its longer side is `size`.
        layers, layer_weights: style layers (default: `default_layers(model)[1]`) and their
            weights (see `style_loss`).
        size: the output's side (square) in pixels. steps, optimizer ("lbfgs" or "adam"), lr
            (None: 1.0 for L-BFGS, 0.02 for Adam): as in `optimize.iterate`.
        tv_weight: weight of a total-variation penalty (0: none). swag: softmax smoothing.

    Returns:
        The iterator of `optimize.iterate` (each `Step` has losses "style[layer]").
    """
    _checks.images(image, "texture image", single=True)
    size = _checks.positive_int(size, "size")
    layers = list(default_layers(model)[1] if layers is None else _layer_list(layers, "layers"))
    source = resize_longer_side(image, size)
    target_grams = style_targets(model, source, layers, swag=swag)
    objective = -style_loss(target_grams, layer_weights, swag)
    if _checks.number(tv_weight, "tv_weight", low=0):
        objective = objective - tv_weight * total_variation()
    optimizer, lr = _check_optimizer(optimizer, lr)
    return iterate(model, objective, size=size, steps=steps, lr=lr, optimizer=optimizer, seed=seed)


def texture(model, image, **options):
    """`iterate_texture` run to its end: the texture (1, 3, size, size) in [0, 1].

    Example:
        >>> bricks = texture(model, load_image("bricks"), size=128)
    """
    return run_to_end(iterate_texture(model, image, **options))


# --- style transfer ------------------------------------------------------------------------------

def iterate_style_transfer(model, content, style, *, size=256, content_weight=1.0, style_weight=20.0,
                           tv_weight=1.0, content_layer=None, style_layers=None, layer_weights=None, blend=None,
                           init="content", optimizer="lbfgs", steps=100, lr=None, preserve_colors=False, octaves=1,
                           swag=False, seed=0, style_scale=1.0):
    """Neural style transfer (Gatys, Ecker and Bethge 2016): an image with the content's
    features at `content_layer` and the style's Gram matrices at `style_layers`.

    Minimises content_weight * content loss + style_weight * style loss + tv_weight * TV
    (see `content_loss`, `style_loss`, `optimize.total_variation`).

    Args:
        content: (1, 3, H, W) in [0, 1]; resized so its longer side is `size` (the output's).
        style: one style image, or a list of them blended with weights `blend`. Each is
            resized so its longer side is `style_scale` times the output's: at 1 the strokes
            keep their size relative to the output; at 2 the network sees the painting twice
            as large, and its strokes come out about twice as large; at 0.5, half as large.
        content_layer, style_layers, layer_weights: default `default_layers(model)`, equal weights.
        init: "content" (start from the photo) or "noise" (faint noise of `seed`).
        optimizer: "lbfgs" (Gatys et al.) or "adam"; lr None: 1.0 for L-BFGS, 0.02 for Adam.
        steps: updates at each scale. octaves: coarse to fine: run at size / 2^(octaves-1), then
            upsample the result and refine at twice the size, up to `size`.
        preserve_colors: luminance-only transfer (Gatys et al. 2016, "Preserving color"): the
            optimisation sees only luminance (the style's matched to the content's mean and
            std), and the result takes the content's chroma (I and Q of YIQ). See `chroma_error`.
        swag: SWAG softmax smoothing of every layer's activations (for residual networks).
            Its gradient is concentrated on few pixels, where clipping to [0, 1] slows L-BFGS
            down: use "adam" with it (benchmarks/RESULTS.md has the comparison).

    Returns:
        An iterator of `runs.Step` (`octave` is the scale), its images with the colours
        already restored when `preserve_colors`. Settings are checked before the first step.

    Limits: memory and time grow with size^2, and a step of VGG-19 costs far more than one of
    the bundled network (benchmarks/RESULTS.md has the times).
    """
    _checks.images(content, "content image", single=True)
    size = _checks.positive_int(size, "size")
    octaves = _checks.positive_int(octaves, "octaves")
    steps = _checks.positive_int(steps, "steps")
    weights = [_checks.number(v, n, low=0) for v, n in ((content_weight, "content_weight"),
                                                        (style_weight, "style_weight"), (tv_weight, "tv_weight"))]
    if not weights[0] and not weights[1]:
        raise ValueError("content_weight and style_weight are both 0: there is nothing to match")
    _checks.one_of(init, "init", INITS)
    optimizer, lr = _check_optimizer(optimizer, lr)
    default_content, default_style = default_layers(model) if content_layer is None or style_layers is None else (None, None)
    content_layer = default_content if content_layer is None else content_layer
    if not isinstance(content_layer, str):
        raise ValueError(f"content_layer must be one layer name; got {content_layer!r}")
    style_layers = list(default_style if style_layers is None else _layer_list(style_layers, "style_layers"))
    resolve_layers(model, [content_layer, *style_layers])
    styles = [style] if torch.is_tensor(style) else list(style)
    for image in styles:
        _checks.images(image, "style image", single=True)
    _normalised(blend, len(styles), "blend", "one per style image")
    style_scale = _checks.positive_number(style_scale, "style_scale")
    if isinstance(layer_weights, dict) or layer_weights is not None:
        style_loss({layer: torch.ones(1, 1, 1) for layer in style_layers}, layer_weights)  # checks them
    if preserve_colors:
        content_y = _gray(content)
        styles = [_gray(_match_mean_std(luminance(s), luminance(content))) for s in styles]
    sizes = [max(32, round(size / 2 ** k)) for k in reversed(range(octaves))]
    settings = dict(content_weight=weights[0], style_weight=weights[1], tv_weight=weights[2], content_layer=content_layer,
                    style_layers=style_layers, layer_weights=layer_weights, blend=blend, swag=swag,
                    style_scale=style_scale)
    return _transfer_steps(model, content, content_y if preserve_colors else content, styles, sizes=sizes, init=init,
                           optimizer=optimizer, lr=lr, steps=steps, preserve_colors=preserve_colors, seed=seed,
                           settings=settings)


def style_transfer(model, content, style, **options):
    """`iterate_style_transfer` run to its end: the stylised image (1, 3, h, w) in [0, 1], its
    longer side `size`.

    Example:
        >>> painted = style_transfer(model, load_image("palace"), load_image("cafe_terrace"))
    """
    return run_to_end(iterate_style_transfer(model, content, style, **options))


def _transfer_steps(model, content, matched_content, styles, *, sizes, init, optimizer, lr, steps, preserve_colors,
                    seed, settings):
    """The run of `iterate_style_transfer` at each size; `matched_content` is what the content
    loss sees (the content's luminance when `preserve_colors`)."""
    total, done, result = steps * len(sizes), 0, None
    layer = settings["content_layer"]
    for scale, side in enumerate(sizes):
        target_image = resize_longer_side(matched_content, side)
        style_side = max(16, round(side * settings["style_scale"]))
        target_grams = style_targets(model, [resize_longer_side(image, style_side) for image in styles],
                                     settings["style_layers"], settings["blend"], settings["swag"]) \
            if settings["style_weight"] else None
        target_features = layer_targets(model, target_image, [layer], swag=settings["swag"])[layer] \
            if settings["content_weight"] else None
        loss_settings = {k: v for k, v in settings.items() if k not in ("style_layers", "blend", "style_scale")}
        objective = -perceptual_loss(target_features, target_grams, **loss_settings)
        if result is not None:  # clamped: bilinear rounding may step a hair outside [0, 1]
            start = F.interpolate(result, size=target_image.shape[-2:], mode="bilinear", align_corners=False).clamp(0, 1)
        elif init == "content":
            start = target_image
        else:
            start = None
        last = None
        for step in iterate(model, objective, start, size=tuple(target_image.shape[-2:]), steps=steps, lr=lr,
                            optimizer=optimizer, seed=seed):
            last = step
            image = keep_colors(step.image, content) if preserve_colors else step.image
            yield Step(done + step.step, total, step.losses, image, step.message, octave=scale)
            if step.message:
                return
        done += steps
        result = last.image


def perceptual_loss(target_features, target_grams, *, content_layer, content_weight=1.0, style_weight=20.0,
                    tv_weight=1.0, layer_weights=None, swag=False):
    """The Objective style transfer minimises (so maximise its negative):
    content_weight * content loss + style_weight * style loss + tv_weight * TV.

    target_features: features of the content at `content_layer` ((N, C, H, W): one per image
    of a batch, or one for all); target_grams: {layer: Gram target} from `style_targets`.
    Each term is the mean over a batch, so feed-forward training (`fast_style`)
    minimises the same loss.
    """
    terms = []
    if style_weight:
        terms.append(style_weight * style_loss(target_grams, layer_weights, swag))
    if content_weight:
        terms.append(content_weight * content_loss(content_layer, target_features, swag))
    if tv_weight:
        terms.append(tv_weight * total_variation())
    if not terms:
        raise ValueError("content_weight, style_weight and tv_weight are all 0: there is nothing to minimise")
    return sum(terms[1:], terms[0])


# --- colour preservation -------------------------------------------------------------------------

_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def rgb_to_yiq(image):
    """(N, 3, H, W) RGB in [0, 1] -> YIQ: Y (luminance) in [0, 1], I and Q (chroma) about +-0.6."""
    return torch.einsum("ij,njhw->nihw", _RGB_TO_YIQ.to(image), image)


def yiq_to_rgb(image):
    """Inverse of `rgb_to_yiq` (not clipped)."""
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(_RGB_TO_YIQ).to(image), image)


def luminance(image):
    """Y of YIQ, (N, 1, H, W)."""
    return rgb_to_yiq(image)[:, :1]


def keep_colors(image, content):
    """The luminance of `image` with the chroma (I, Q) of `content` (resized to it), clipped to [0, 1]."""
    content = F.interpolate(content.to(image), size=image.shape[-2:], mode="bilinear", align_corners=False,
                            antialias=True) if content.shape[-2:] != image.shape[-2:] else content.to(image)
    yiq = torch.cat([luminance(image), rgb_to_yiq(content)[:, 1:]], dim=1)
    return yiq_to_rgb(yiq).clamp(0, 1)


def chroma_error(image, content):
    """Mean over pixels of the distance between the (I, Q) chroma of `image` and of `content`
    (resized to it): 0 when the colours are the content's; YIQ units (I, Q within about +-0.6)."""
    content = F.interpolate(content.to(image), size=image.shape[-2:], mode="bilinear", align_corners=False,
                            antialias=True) if content.shape[-2:] != image.shape[-2:] else content.to(image)
    difference = rgb_to_yiq(image)[:, 1:] - rgb_to_yiq(content)[:, 1:]
    return float(difference.pow(2).sum(dim=1).sqrt().mean())


def _gray(y):
    return y.expand(-1, 3, -1, -1).clamp(0, 1) if y.shape[1] == 1 else _gray(luminance(y))


def _match_mean_std(values, reference):
    """Gatys et al.'s luminance matching: scale and shift `values` to `reference`'s mean and std."""
    return (values - values.mean()) * (reference.std() / values.std().clamp_min(1e-6)) + reference.mean()


# --- VGG-19 for style: ImageNet weights (cached) or random weights ------------------------------

class _NoClassifier(nn.Module):
    """Stands where VGG-19's fully connected layers were: style work needs only the convolutions."""

    def forward(self, x):
        raise RuntimeError("this VGG-19 keeps only its convolutional layers (for style and texture); "
                           "for class scores use lecture_utils.load_model('vgg19')")


def vgg19(weights="random", pooling="max", seed=0, device=None):
    """VGG-19's convolutional part, wrapped like `load_model`'s models (RGB in [0, 1], layer names
    conv1_1 ... conv5_4, pool1 ... pool5), for texture synthesis and style transfer.

    Args:
        weights: "imagenet" (torchvision's, from torch's cache: `python -m lecture_utils fetch
            vgg19`; raises `WeightsNotCachedError` if absent) or "random": torchvision's VGG
            initialisation (Kaiming normal, zero biases) after `torch.manual_seed(seed)`.
        pooling: "max", or "avg" (Gatys et al. replaced max pooling by average pooling).
        device: None picks CUDA when a CUDA device is visible, else the CPU.

    Returns:
        An `ImageNetModel` named "vgg19", "vgg19_random" (+ "_avgpool"), in eval mode, no
        gradients for its weights. The classifier (fc6-fc8, 120M of 144M weights) is left out,
        so asking it for logits raises.
    """
    from torchvision.models import vgg as tv_vgg

    _checks.one_of(weights, "weights", ("imagenet", "random"))
    _checks.one_of(pooling, "pooling", ("max", "avg"))
    seed = _checks.integer(seed, "seed", low=0)
    device = _checks.device(device)
    # Only the convolutions are built: the classifier's 120M weights would cost 0.5 GB, even
    # for a moment, on Binder's 2 GB. The skeleton's classifier lives on the meta device.
    with torch.device("meta"):
        net = tv_vgg.VGG(nn.Sequential(), init_weights=False)
    net.classifier = _NoClassifier()
    if weights == "imagenet":
        state = cached_state_dict("vgg19", mmap=True)  # raises WeightsNotCachedError
        with torch.device("meta"):  # no random initialisation to overwrite
            net.features = tv_vgg.make_layers(tv_vgg.cfgs["E"])
        net.features.load_state_dict({k[len("features."):]: v for k, v in state.items() if k.startswith("features.")},
                                     assign=True)
        del state
        name = "vgg19"
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net.features = tv_vgg.make_layers(tv_vgg.cfgs["E"])
            for module in net.features:
                if isinstance(module, nn.Conv2d):  # torchvision's VGG initialisation
                    nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(module.bias)
        name = "vgg19_random"
    layers = OrderedDict((k, v) for k, v in vgg_layers(net).items() if not k.startswith("fc"))  # before avg pooling
    for index, module in enumerate(net.features):
        if isinstance(module, nn.ReLU):
            module.inplace = False  # hooks must see each layer's own output
        if pooling == "avg" and isinstance(module, nn.MaxPool2d):
            net.features[index] = nn.AvgPool2d(kernel_size=2, stride=2)
    model = ImageNetModel(name + ("_avgpool" if pooling == "avg" else ""), net, layers, imagenet_categories(),
                          IMAGENET_MEAN, IMAGENET_STD)
    model.eval().requires_grad_(False)
    # channels_last weights: oneDNN's preferred layout, faster on the CPU (benchmarks/RESULTS.md);
    # inputs stay (N, 3, H, W).
    model.to(memory_format=torch.channels_last)
    return model.to(device)


# --- checks --------------------------------------------------------------------------------------

def _check_optimizer(optimizer, lr):
    _checks.one_of(optimizer, "optimizer", OPTIMIZERS)
    return optimizer, DEFAULT_LR[optimizer] if lr is None else lr


def _layer_list(layers, name):
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers or not all(isinstance(layer, str) for layer in layers):
        raise ValueError(f"{name} must be a non-empty list of layer names; got {layers!r}")
    return layers


def _normalised(weights, count, name, accepted):
    """Non-negative weights (one per item; None: equal) scaled to sum 1."""
    if weights is None:
        return [1.0 / count] * count
    weights = list(weights) if not isinstance(weights, numbers.Real) else [weights]
    if len(weights) != count:
        raise ValueError(f"{name}: need {accepted}, got {len(weights)} value(s)")
    weights = [_checks.number(w, name, low=0) for w in weights]
    if not sum(weights) > 0:
        raise ValueError(f"{name}: at least one must be > 0; got {weights}")
    return [w / sum(weights) for w in weights]

