"""One loop that optimises an image in pixel space, for every "make an image" topic.

Class and neuron images, DeepDream, feature inversion, texture synthesis and style transfer
differ only in what they maximise and which tricks they use, so they share this loop:

    objective = class_logit(model, "dumbbell") - 1e-3 * l2()     # objectives compose
    final = finish(iterate(model, objective, steps=200, transforms=[jitter(8)], blur=0.5))
    final.image                                                   # (1, 3, 224, 224) in [0, 1]

`iterate` yields a `Step` after every update (step, losses, current image), so a panel can
draw a preview and stop the run by no longer asking for steps: the last image it got is kept.
A loss or gradient that becomes NaN or inf ends the run with a final `Step` whose `message`
says so and whose image is the last good one. Random choices (initial noise, jitter) come
from `seed`, so a CPU run is reproducible.
"""

import math
import numbers

import torch
import torch.nn.functional as F

from . import _checks, parameterize
from .activations import forward_with_activations, get_activations, resolve_layers
from .models import folded
from .runs import Step, finish  # noqa: F401 (finish: part of this module's interface)

LOGITS, IMAGE = "logits", "image"  # pseudo-layers: the model's output and the image itself
OPTIMIZERS = ("ascent", "adam", "lbfgs")
SCHEDULES = ("constant", "cosine")


# --- objectives: what to maximise -----------------------------------------------------------

class Objective:
    """A scalar to maximise: a weighted sum of named terms, each a function of the activations.

    A term is `fn(acts) -> scalar tensor`, where `acts` maps layer names to activations, and
    the pseudo-layers "logits" and "image" to the model's output and the (untransformed) image.
    Objectives compose: `a + b`, `a - b`, `0.1 * a`, `-a`. Terms are kept by position, so two
    different terms with the same name (two `feature_match` at one layer) are both counted.
    """

    def __init__(self, name, fn, layers=()):
        self.terms = [(1.0, name, fn)]
        self.layers = tuple(layers)

    @classmethod
    def _combine(cls, terms, layers):
        new = cls.__new__(cls)
        new.terms, new.layers = terms, tuple(dict.fromkeys(layers))
        return new

    def __add__(self, other):
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective._combine(self.terms + other.terms, self.layers + other.layers)

    def __mul__(self, weight):
        if not isinstance(weight, numbers.Real) or isinstance(weight, bool) or not math.isfinite(weight):
            return NotImplemented
        return Objective._combine([(weight * w, n, f) for w, n, f in self.terms], self.layers)

    __rmul__ = __mul__

    def __neg__(self):
        return -1.0 * self

    def __sub__(self, other):
        if not isinstance(other, Objective):
            return NotImplemented
        return self + (-other)

    def __call__(self, acts):
        """(total, {term name: unweighted value}) for these activations.

        A term that occurs more than once (`a - 0.5 * a`) is computed once and shown once; of
        different terms with one name, the second is shown as "name#2", the third "name#3", ...
        """
        values = {}  # term function -> its value: one entry per distinct term
        for _, _, fn in self.terms:
            if fn not in values:
                values[fn] = fn(acts)
        total = sum(weight * values[fn] for weight, _, fn in self.terms)
        return total, dict(zip(self._display_names(), values.values()))

    def _display_names(self):
        """One name per distinct term, in order of first occurrence, made unique with "#k"."""
        names, seen, count = [], set(), {}
        for _, name, fn in self.terms:
            if fn in seen:
                continue
            seen.add(fn)
            count[name] = count.get(name, 0) + 1
            names.append(name if count[name] == 1 else f"{name}#{count[name]}")
        return names

    def __repr__(self):
        parts = [f"{w:+g}*{n}" for w, n, _ in self.terms]
        return " ".join(parts).lstrip("+")


def _check_channel(model, layer, channel):
    resolve_layers(model, layer)  # unknown layer: error listing the valid ones
    n = channels(model, layer)
    try:
        return _checks.integer(channel, "channel", 0, n - 1)
    except ValueError as error:
        raise ValueError(f"{error} (layer {layer!r} has {n} channels)") from None


def channels(model, layer):
    """Number of channels of a layer's output (one shallow forward pass of a tiny image)."""
    probe = torch.zeros(1, 3, 64, 64, device=model.device)
    with torch.no_grad():
        return get_activations(model, probe, [layer])[layer].shape[1]


def _one_per_image(indices, what, scores):
    """The value of an objective that gives image i of a batch the score of indices[i]:
    `scores(acts)` is (N, K, ...), and the batch must hold one image per index."""
    rows = torch.arange(len(indices))

    def value(a):
        chosen = scores(a)
        if len(chosen) != len(indices):
            raise ValueError(f"{len(indices)} {what} need a batch of {len(indices)} images; got {len(chosen)}")
        return chosen[rows, indices].mean()

    return value


def class_logit(model, target):
    """The logit of a class (name or index): Simonyan et al.'s score, before the softmax.
    A list of classes gives one per image of a batch (`iterate(..., batch_size=len(target))`)."""
    if isinstance(target, (list, tuple)):
        indices = [_checks.class_index(model, t) for t in target]
        return Objective(f"logit[{len(indices)} classes]", _one_per_image(indices, "classes", lambda a: a[LOGITS]),
                         [LOGITS])
    index = _checks.class_index(model, target)
    return Objective(f"logit[{model.categories[index]}]", lambda a: a[LOGITS][:, index].mean(), [LOGITS])


def class_probability(model, target):
    """The softmax probability of a class: saturates at 1, and rises partly by pushing other classes down."""
    index = _checks.class_index(model, target)
    return Objective(f"p[{model.categories[index]}]",
                     lambda a: a[LOGITS].softmax(dim=1)[:, index].mean(), [LOGITS])


def channel(model, layer, channel):
    """The mean activation of one channel of a layer over all positions. A list of channels
    gives one per image of a batch (`iterate(..., batch_size=len(channel))`)."""
    if isinstance(channel, (list, tuple)):
        indices = [_check_channel(model, layer, i) for i in channel]
        return Objective(f"{layer}[{len(indices)} channels]", _one_per_image(indices, "channels", lambda a: a[layer]),
                         [layer])
    _check_channel(model, layer, channel)
    return Objective(f"{layer}[{channel}]", lambda a: a[layer][:, channel].mean(), [layer])


_channel_objective = channel  # for channel_image, whose argument `channel` hides the function


def neuron(model, layer, channel, y=None, x=None):
    """One unit: channel `channel` at position (y, x) of the layer's map (default: the centre).
    A position outside the map raises when the objective is evaluated (the map's size depends
    on the image's)."""
    _check_channel(model, layer, channel)
    y = None if y is None else _checks.integer(y, "y", 0)
    x = None if x is None else _checks.integer(x, "x", 0)

    def value(a):
        h, w = a[layer].shape[-2:]
        if (y is not None and y >= h) or (x is not None and x >= w):
            raise ValueError(f"neuron position (y={y}, x={x}) is outside the {h}x{w} map of layer "
                             f"{layer!r} for this image size; accepted: y < {h}, x < {w}")
        row = h // 2 if y is None else y
        col = w // 2 if x is None else x
        return a[layer][:, channel, row, col].mean()

    return Objective(f"{layer}[{channel}]@({y},{x})", value, [layer])


def layer_l2(model, layer):
    """DeepDream's objective: the mean squared activation of a whole layer ("more of whatever is there")."""
    resolve_layers(model, layer)
    return Objective(f"l2[{layer}]", lambda a: a[layer].pow(2).mean(), [layer])


def gram_similarity(layer):
    """How alike a batch of images looks at `layer`: the mean cosine similarity of their Gram
    matrices over all pairs. Subtracted, it is the diversity term of Olah et al. (2017): it
    pushes the images apart, so each excites the objective with a different style of features."""

    def value(a):
        features = a[layer].flatten(2)
        grams = F.normalize((features @ features.transpose(1, 2)).flatten(1), dim=1)
        n = grams.shape[0]
        if n < 2:
            raise ValueError("gram_similarity needs a batch of at least 2 images (iterate(..., batch_size=4))")
        similarity = grams @ grams.T
        return (similarity.sum() - similarity.diagonal().sum()) / (n * (n - 1))

    return Objective(f"similarity[{layer}]", value, [layer])


def feature_match(layer, target_features):
    """Minus the squared relative error between a layer's features and `target_features`
    (feature inversion); `target_features` was called `target` before (a warning says so).

    The value is -||phi(x) - t||^2 / ||t||^2; its square root is `relative_error`.
    On a smaller image (an early octave) the target features are averaged down to the
    features' size: a coarse guide that settles the layout cheaply before the full-size steps
    match exactly.
    """
    target_features = target_features.detach()

    def value(a):
        features = a[layer]
        goal = target_features if features.shape == target_features.shape \
            else F.adaptive_avg_pool2d(target_features, features.shape[-2:])
        return -(features - goal).pow(2).sum() / goal.pow(2).sum().clamp_min(1e-12)

    return Objective(f"match[{layer}]", value, [layer])


# --- regularisers: what to keep small (use with a minus sign) --------------------------------

def l2():
    """Mean squared distance of the pixels from mid-grey (keeps colours from saturating)."""
    return Objective("l2", lambda a: (a[IMAGE] - 0.5).pow(2).mean(), [IMAGE])


def total_variation(beta=2.0):
    """Mahendran and Vedaldi's TV prior: mean of (dx^2 + dy^2)^(beta/2); beta < 2 keeps edges sharper."""
    beta = _checks.positive_number(beta, "beta")

    def value(a):
        x = a[IMAGE]
        dx = x[..., :-1, 1:] - x[..., :-1, :-1]
        dy = x[..., 1:, :-1] - x[..., :-1, :-1]
        return (dx.pow(2) + dy.pow(2) + 1e-8).pow(beta / 2).mean()

    return Objective(f"tv{beta:g}", value, [IMAGE])


# --- transforms: random views of the image each step (robustness) ---------------------------

def jitter(pixels):
    """Roll the image by up to `pixels` in x and y: the result must work at every offset."""
    pixels = _checks.integer(pixels, "jitter pixels", low=0)

    def transform(image, generator):
        dy, dx = (int(v) for v in torch.randint(-pixels, pixels + 1, (2,), generator=generator))
        return torch.roll(image, shifts=(dy, dx), dims=(-2, -1))

    return transform


def pad(pixels, value=0.5):
    """Surround the image with a border of `pixels` of grey: the image's edge becomes a seen
    border, not a wrap-around, and jitter moves it without rolling content from the far side."""
    pixels = _checks.integer(pixels, "pad pixels", low=0)
    value = _checks.number(value, "pad value", 0, 1)

    def transform(image, generator):
        return F.pad(image, (pixels,) * 4, value=value)

    return transform


def random_scale(low=0.9, high=1.1):
    """Zoom by a random factor in [low, high], keeping the size (crop or reflect-pad)."""
    low = _checks.positive_number(low, "low")
    high = _checks.number(high, "high", low=low)
    return _affine(lambda g: (1.0, low + (high - low) * float(torch.rand((), generator=g))))


def random_rotation(degrees=5.0):
    """Rotate by a random angle in [-degrees, degrees]."""
    degrees = _checks.number(degrees, "degrees", low=0)
    return _affine(lambda g: (degrees * (2 * float(torch.rand((), generator=g)) - 1), 1.0))


def random_resolution(low=0.5):
    """Downscale by a random factor in [low, 1] (antialiased) and scale back to the size: the
    result must survive the loss of its finest detail, as on a thumbnail or a projector."""
    low = _checks.number(low, "low", 0.1, 1)

    def transform(image, generator):
        factor = low + (1 - low) * float(torch.rand((), generator=generator))
        small = F.interpolate(image, scale_factor=factor, mode="bilinear", antialias=True)
        return F.interpolate(small, size=image.shape[-2:], mode="bilinear", align_corners=False)

    return transform


def _affine(draw):
    def transform(image, generator):
        angle, scale = draw(generator)
        theta = math.radians(angle)
        cos, sin = math.cos(theta) / scale, math.sin(theta) / scale
        matrix = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=image.dtype, device=image.device)
        grid = F.affine_grid(matrix.expand(image.shape[0], 2, 3), list(image.shape), align_corners=False)
        return F.grid_sample(image, grid, padding_mode="reflection", align_corners=False)

    return transform


# --- the loop ---------------------------------------------------------------------------------

def iterate(model, objective, image=None, *, size=224, steps=100, lr=0.05, optimizer="ascent",
            normalize_grad=True, momentum=0.0, schedule="constant", transforms=(), octaves=1, octave_scale=1.4,
            blur=0.0, blur_every=4, parameterization="pixels", batch_size=1, seed=0):
    """Maximise `objective` over an image; yields a `Step` after every update.

    Args:
        model: an `ImageNetModel` (its weights are not changed; the loop runs `models.folded(model)`,
            the same function with its batch norms folded into its convolutions).
        objective: an `Objective` (build with `class_logit`, `channel`, `layer_l2`, ... and
            subtract regularisers such as `0.01 * total_variation()`).
        image: the start, (1, 3, H, W) in [0, 1]; None starts from faint noise of `size`
            (an int for a square, or (H, W)).
        parameterization: what the optimiser changes (`parameterize`): "pixels", "fourier"
            (the 1/f-scaled spectrum) or "fourier_decorrelated" (also decorrelated colours).
            Every yielded image is in [0, 1] whichever is chosen.
        batch_size: optimise this many images at once (each objective averages over them; see
            `gram_similarity` for pushing them apart); a start `image` is repeated.
        steps: updates per octave. lr: step size (pixel units for "ascent" with
            `normalize_grad`, whose step moves the mean pixel by `lr`).
        optimizer: "ascent" (plain gradient ascent), "adam", or "lbfgs" (deterministic
            objectives only: no transforms).
        normalize_grad: for "ascent", divide the gradient by its mean absolute value
            (DeepDream's L1 normalisation: the step no longer depends on the gradient's scale).
        momentum: for "ascent", heavy-ball momentum in [0, 1): each step moves along a running
            sum of the (normalised) gradients, v = momentum * v + g, which keeps going through
            flat and noisy stretches (0: plain ascent).
        schedule: "constant", or "cosine": the step size falls from `lr` to 5% of it over each
            octave (big moves first, fine detail last; "ascent" and "adam").
        transforms: callables `(image, generator) -> image` applied before each forward pass
            (`jitter`, `random_scale`, `random_rotation`).
        octaves, octave_scale: run at `octaves` sizes, each `octave_scale` times larger, the
            detail found so far carried up to the next size (DeepDream's image pyramid).
        blur, blur_every: Gaussian blur of this sigma (pixels) every `blur_every` steps.
        seed: seeds the noise and the random transforms.

    Returns:
        An iterator of `Step`. Stop early by not asking for more; `finish` runs it to the end.

    Limits: L-BFGS with random transforms would see a different function at every step,
    so it is refused; clipping to [0, 1] after each step is a projection L-BFGS does not know of.
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be an Objective (e.g. class_logit(model, 'lemon')); got {type(objective).__name__}")
    layers = [n for n in objective.layers if n not in (LOGITS, IMAGE)]
    if layers:
        resolve_layers(model, layers)
    steps = _checks.positive_int(steps, "steps")
    octaves = _checks.positive_int(octaves, "octaves")
    blur_every = _checks.positive_int(blur_every, "blur_every")
    _checks.one_of(schedule, "schedule", SCHEDULES)
    _checks.one_of(optimizer, "optimizer", OPTIMIZERS)
    momentum = _checks.number(momentum, "momentum", 0, 1, open_high=True)
    if momentum and optimizer != "ascent":
        raise ValueError(f"momentum is for optimizer='ascent' (Adam has its own); got optimizer={optimizer!r}")
    lr = _checks.positive_number(lr, "lr")
    octave_scale = _checks.positive_number(octave_scale, "octave_scale")
    blur = _checks.number(blur, "blur (a sigma in pixels)", low=0)
    _checks.one_of(parameterization, "parameterization", parameterize.PARAMETERIZATIONS)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    transforms = list(transforms)
    if optimizer == "lbfgs" and transforms:
        raise ValueError("L-BFGS needs the same function at every step: use transforms=() with it, "
                         "or 'adam'/'ascent' with random transforms")
    generator = torch.Generator().manual_seed(seed)
    if image is None:
        if isinstance(size, numbers.Integral):
            size = (size, size)
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise ValueError(f"size must be an int or (height, width); got {size!r}")
        height, width = (_checks.positive_int(n, "size") for n in size)
        start = parameterize.parameterization(parameterization, height, width)
        with torch.no_grad():
            base = start.decode(start.noise(batch_size, generator, model.device))
    else:
        image = _checks.images(image, "image", single=True)
        base = image.to(model.device, torch.float32).repeat(batch_size, 1, 1, 1)
    run = _Run(folded(model), objective, layers, transforms, generator)  # same function, faster
    return run.updates(base, parameterization, steps, lr, optimizer, normalize_grad, momentum, schedule,
                       octaves, octave_scale, blur, blur_every)


def optimize(model, objective, image=None, **options):
    """`finish(iterate(...))`: the final `Step` of a run (see `iterate` for the options)."""
    return finish(iterate(model, objective, image, **options))


class _Run:
    def __init__(self, model, objective, layers, transforms, generator):
        self.model, self.objective, self.layers = model, objective, layers
        self.transforms, self.generator = transforms, generator

    def evaluate(self, x):
        """(total objective, {term: value}) of image x, seen through this step's transforms."""
        view = x
        for transform in self.transforms:
            view = transform(view, self.generator)
        if LOGITS in self.objective.layers:
            if self.layers:
                logits, acts = forward_with_activations(self.model, view, self.layers)
            else:
                logits, acts = self.model(view), {}
            acts = {**acts, LOGITS: logits}
        else:
            acts = dict(get_activations(self.model, view, self.layers)) if self.layers else {}
        acts[IMAGE] = x
        return self.objective(acts)

    def updates(self, base, parameterization, steps, lr, optimizer, normalize_grad, momentum, schedule,
                octaves, octave_scale, blur, blur_every):
        height, width = base.shape[-2:]
        # the smallest octaves stop at 8 px (or the image's own size, if smaller)
        sizes = [(max(min(8, height), round(height / octave_scale ** k)),
                  max(min(8, width), round(width / octave_scale ** k))) for k in reversed(range(octaves))]
        detail = torch.zeros_like(base)
        total, count = steps * octaves, 0
        for octave, size in enumerate(sizes):
            start = _resize(base, size)
            variables = parameterize.parameterization(parameterization, *size)
            params = variables.encode((start + _resize(detail, size)).clamp(0, 1)).requires_grad_(True)
            update = _updater(params, variables.decode, lr, optimizer, normalize_grad, momentum, self.evaluate)
            x = variables.decode(params).detach()
            for i in range(steps):
                count += 1
                before_update = x  # kept if this update goes NaN or inf
                factor = 0.05 + 0.475 * (1 + math.cos(math.pi * i / steps)) if schedule == "cosine" else 1.0
                losses = update(lr * factor)
                if losses is None or not torch.isfinite(params).all():
                    yield Step(count, total, {}, before_update.cpu(), octave=octave, message=(
                        f"stopped at step {count}: the objective or its gradient became NaN or "
                        f"inf; kept the image of step {count - 1}. Try a smaller lr or weights."))
                    return
                with torch.no_grad():
                    if blur and count % blur_every == 0:
                        params.copy_(variables.encode(_blur(variables.decode(params), blur)))
                    variables.clip(params)
                    x = variables.decode(params).detach().clone()
                yield Step(count, total, losses, x.cpu(), octave=octave)
            detail = x - start


def _updater(x, decode, lr, optimizer, normalize_grad, momentum, evaluate):
    """A function `update(step_size) -> {loss name: value}` that takes one step on the parameters x
    of the image `decode(x)` (None: non-finite)."""
    if optimizer == "lbfgs":
        # One evaluation per step, as in Johnson's neural-style and PyTorch's tutorial. A line search
        # evaluates the point it steps to, and the next step evaluates it again after clipping.
        # Measured: the line search nearly always took the full step (the same images at twice the
        # cost); where it did not (random VGG-19, 128 px, palace and café) it stalled after 20 steps
        # at a loss of 0.30, while these steps went on to 0.16.
        opt = torch.optim.LBFGS([x], lr=lr, max_iter=1, history_size=20)
    elif optimizer == "adam":
        opt = torch.optim.Adam([x], lr=lr)
    else:  # plain ascent, with heavy-ball momentum v = momentum * v + g when asked
        opt = torch.optim.SGD([x], lr=lr, momentum=momentum)

    def closure(record):
        total, values = evaluate(decode(x))
        loss = -total
        x.grad = None
        loss.backward()
        if normalize_grad and optimizer == "ascent":
            x.grad /= x.grad.abs().mean().clamp_min(1e-12)
        record.update({"objective": float(total.detach()), **{k: float(v.detach()) for k, v in values.items()}})
        return loss

    def update(step_size):
        record = {}
        if optimizer != "lbfgs":
            opt.param_groups[0]["lr"] = step_size
        opt.step(lambda: closure(record))
        finite = all(math.isfinite(v) for v in record.values()) and torch.isfinite(x.grad).all()
        return record if finite else None

    return update


def _resize(image, size):
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)


def _blur(image, sigma):
    """A Gaussian blur, reflecting at the edges: torchvision's `gaussian_blur` with a kernel of
    2 * ceil(2 sigma) + 1 taps, as two 1-D passes (the bundled model's path never imports
    torchvision, which costs a kernel about 170 MB)."""
    radius = math.ceil(2 * sigma)
    x = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    taps = (taps / taps.sum()).expand(image.shape[1], 1, -1)
    out = F.pad(image, (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, taps[:, :, None, :], groups=image.shape[1])  # along rows
    return F.conv2d(out, taps[:, :, :, None], groups=image.shape[1])  # along columns


def relative_error(model, image, layer, target_features):
    """||phi(image) - t|| / ||t|| at `layer`, t = `target_features` (called `target` before):
    how well an inversion matches, a float."""
    image = _checks.images(image, "image")
    with torch.no_grad():
        features = get_activations(model, image.to(model.device), [layer])[layer]
    target_features = target_features.to(features)
    return float((features - target_features).norm() / target_features.norm().clamp_min(1e-12))


# --- the lecture's recipes: each returns the iterator of `iterate` ---------------------------

def robust_views(pad_px=12, jitter_px=8, scale=(0.9, 1.1), degrees=5.0, fine_px=4):
    """The transformation-robustness set of Lucid (Olah et al. 2017), as one list: pad with grey,
    jitter, zoom by a random factor in `scale`, rotate by up to `degrees`, jitter a little again.
    An image optimised through them must work from every such view, which rules out patterns
    that live in the exact pixel grid.

    Lucid rotates by up to 10 degrees; 5 is the default here: on six channels of the bundled
    model it reached a higher activation over random views on four of them and left less fine
    noise (benchmarks/RESULTS.md)."""
    low, high = scale
    views = [pad(pad_px)] if pad_px else []
    views += [jitter(jitter_px), random_scale(low, high), random_rotation(degrees)]
    return views + ([jitter(fine_px)] if fine_px else [])


def class_image(model, target, *, steps=128, size=224, lr=0.08, parameterization="fourier_decorrelated",
                transforms=None, seed=0):
    """An image the model takes for class `target` (Simonyan et al. 2013): Adam on the class
    logit, in decorrelated Fourier space, through random views (`transforms=None`: Lucid's
    `robust_views()` and then `random_resolution(0.5)`; `()` for none). A list of classes makes
    one image of each, in one batch.

    The random resolution is ours, not Lucid's: without it the class often rests on the finest
    pixels and falls when the image is shown at half size (for "limousine", from 1.0 to 0.5)."""
    views = robust_views() + [random_resolution(0.5)] if transforms is None else transforms
    batch_size = len(target) if isinstance(target, (list, tuple)) else 1
    return iterate(model, class_logit(model, target), size=size, steps=steps, lr=lr, optimizer="adam",
                   transforms=views, parameterization=parameterization, batch_size=batch_size, seed=seed)


def channel_image(model, layer, channel, *, steps=128, size=224, lr=0.08, parameterization="fourier_decorrelated",
                  transforms=None, batch_size=1, diversity_weight=0.0, seed=0):
    """An image that excites one channel of a layer everywhere (its mean activation), made as
    `class_image` is. A list of channels makes one image of each, in one batch. With `batch_size` > 1
    and a `diversity_weight`, several images of one channel, pushed apart by `gram_similarity`
    at the same layer (Olah et al. 2017)."""
    objective = _channel_objective(model, layer, channel)
    if isinstance(channel, (list, tuple)):
        batch_size = len(channel)
    if diversity_weight:
        objective = objective - diversity_weight * gram_similarity(layer)
    views = robust_views() if transforms is None else transforms
    return iterate(model, objective, size=size, steps=steps, lr=lr, optimizer="adam",
                   transforms=views, parameterization=parameterization, batch_size=batch_size, seed=seed)


def deepdream(model, image, layer, *, steps=10, lr=0.01, jitter_px=32, octaves=4, octave_scale=1.4, seed=0):
    """DeepDream (Mordvintsev, Olah and Tyka 2015): amplify whatever `layer` sees in `image`,
    by L1-normalised gradient ascent on its mean squared activation, jittered, over octaves."""
    return iterate(model, layer_l2(model, layer), image, steps=steps, lr=lr, optimizer="ascent",
                   transforms=[jitter(jitter_px)] if jitter_px else [], octaves=octaves,
                   octave_scale=octave_scale, seed=seed)


def invert(model, image, layer, *, tv_weight=0.5, beta=2.0, steps=1300, lr=0.005, momentum=0.98, seed=0):
    """Feature inversion (Mahendran and Vedaldi 2015): from noise, the image whose features at
    `layer` match those of `image`, with a total-variation prior.

    Returns (iterator of `Step`, the image's features at `layer`: the target features).

    The optimiser is L1-normalised gradient descent with heavy momentum and a cosine schedule:
    with these defaults the layers of notebook 07 end at a relative feature error of about 0.1
    or less (`relative_error`; the deepest, head, depends most on the CPU's float rounding),
    which neither Adam nor L-BFGS reached (benchmarks/RESULTS.md)."""
    image = _checks.images(image, "image", single=True)
    with torch.no_grad():
        target_features = get_activations(model, image.to(model.device), [layer])[layer]
    objective = feature_match(layer, target_features) - tv_weight * total_variation(beta)
    run = iterate(model, objective, size=tuple(image.shape[-2:]), steps=steps, lr=lr, optimizer="ascent",
                  momentum=momentum, schedule="cosine", seed=seed)
    return run, target_features


def view_score(model, image, objective, *, views=20, shift=16, scale=(0.9, 1.1), degrees=5.0, seed=0):
    """Mean of `objective` over random views of `image` (shifted by up to `shift` px, zoomed by a
    factor in `scale`, rotated by up to `degrees`): what an image reaches from any view, not
    only in its exact pixel grid."""
    views = _checks.positive_int(views, "views")
    image = _checks.images(image, "image").to(model.device)
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be an Objective such as class_logit(model, 'lemon') or "
                        f"channel(model, 'stage4', 7); got {objective!r} (for a class's probability: "
                        f"view_probability(model, image, target))")
    layers = [n for n in objective.layers if n not in (LOGITS, IMAGE)]
    transforms = [jitter(shift), random_scale(*scale), random_rotation(degrees)]
    run = _Run(model, objective, layers, transforms, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return sum(float(run.evaluate(image)[0]) for _ in range(views)) / views


def view_probability(model, image, target, **views):
    """Mean probability of class `target` over random views of `image` (see `view_score`): an
    image that only fools the exact pixel grid scores low here."""
    return view_score(model, image, class_probability(model, target), **views)
