"""The loop: one optimiser of an image for every "make an image" topic (`iterate`), and the
measure of an image through random views (`view_score`)."""

import math
import numbers

import torch
import torch.nn.functional as F

from .. import _checks, parameterize
from ..images import gaussian_blur
from ..activations import forward_with_activations, get_activations, resolve_layers
from ..models import folded
from ..runs import Step
from .objectives import IMAGE, LOGITS, Objective, class_probability
from .transforms import jitter, random_rotation, random_scale

OPTIMIZERS = ("ascent", "adam", "lbfgs")
SCHEDULES = ("constant", "cosine")


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
            (the 1/f-scaled spectrum) or "fourier_decorrelated" (also decorrelated colours), or
            "maco" (only the spectrum's phase; its magnitude is that of photos). Every yielded
            image is in [0, 1] whichever is chosen. With "maco" each `Step` also carries MACO's
            transparency map: |d objective / d image| summed over the octave's steps so far (it
            starts again at each octave's size).
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
        seed: an int for the same noise and random transforms on every run (None: torch's
            global random numbers).

    Returns:
        An iterator of `Step`. Stop early by not asking for more; `runs.finish` runs it to the end.

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
    generator = _checks.seed(seed)
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
    return run.updates(base, parameterization=parameterization, steps=steps, lr=lr, optimizer=optimizer,
                       normalize_grad=normalize_grad, momentum=momentum, schedule=schedule, octaves=octaves,
                       octave_scale=octave_scale, blur=blur, blur_every=blur_every)


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

    def updates(self, base, *, parameterization, steps, lr, optimizer, normalize_grad, momentum, schedule,
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
            # MACO's transparency map, per octave: a smaller octave's map is of another grid of pixels,
            # whose gradients have another scale, so it is not carried up
            evidence = torch.zeros_like(start) if parameterization == "maco" else None
            update = _updater(params, variables.decode, self.evaluate, lr=lr, optimizer=optimizer,
                              normalize_grad=normalize_grad, momentum=momentum, evidence=evidence)
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
                        params.copy_(variables.encode(gaussian_blur(variables.decode(params), blur)))
                    variables.clip(params)
                    x = variables.decode(params).detach().clone()
                transparency = None if evidence is None else evidence.to("cpu", copy=True)
                yield Step(count, total, losses, x.cpu(), octave=octave, transparency=transparency)
            detail = x - start


def _updater(x, decode, evaluate, *, lr, optimizer, normalize_grad, momentum, evidence=None):
    """A function `update(step_size) -> {loss name: value}` that takes one step on the parameters x
    of the image `decode(x)` (None: non-finite). `evidence`: None, or a tensor of the image's shape
    to which every evaluation adds |d objective / d image| (MACO's transparency map)."""
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
        image = decode(x)
        if evidence is not None:
            image.retain_grad()  # a non-leaf keeps its gradient only when asked
        total, values = evaluate(image)
        loss = -total
        x.grad = None
        loss.backward()
        if evidence is not None:
            evidence.add_(image.grad.abs())
        if normalize_grad and optimizer == "ascent":
            x.grad /= x.grad.abs().mean().clamp_min(1e-12)
        record.update({"objective": float(total.detach()), **{k: float(v.detach()) for k, v in values.items()}})
        return loss

    def update(step_size):
        record = {}
        if optimizer != "lbfgs":
            opt.param_groups[0]["lr"] = step_size
        with torch.enable_grad():  # also when the caller asks for the next step inside no_grad
            opt.step(lambda: closure(record))
        finite = all(math.isfinite(v) for v in record.values()) and torch.isfinite(x.grad).all()
        return record if finite else None

    return update


def _resize(image, size):
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)



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
    run = _Run(model, objective, layers, transforms, _checks.seed(seed))
    with torch.no_grad():
        return sum(float(run.evaluate(image)[0]) for _ in range(views)) / views


def view_probability(model, image, target, **views):
    """Mean probability of class `target` over random views of `image` (see `view_score`): an
    image that only fools the exact pixel grid scores low here."""
    return view_score(model, image, class_probability(model, target), **views)
