"""The lecture's recipes on the loop: class and channel images, DeepDream and feature
inversion. Each comes in two forms: `iterate_<recipe>` yields a `runs.Step` after every update
(for a preview, or to stop early), and the plain name runs it to the end and returns the image."""

import torch

from .. import _checks
from ..activations import get_activations
from ..runs import run_to_end
from .loop import iterate
from .objectives import class_logit, feature_match, gram_similarity, l2, layer_l2, total_variation
from .objectives import channel as _channel_objective  # the recipes' argument `channel` hides the name
from .transforms import jitter, random_resolution, robust_views


def iterate_class_image(model, target, *, steps=96, size=224, lr=0.05, l2_weight=20.0, blur=0.5, blur_every=8,
                        parameterization="fourier_decorrelated", transforms=None, seed=0):
    """An image the model takes for class `target` (Simonyan et al. 2013): Adam on the class
    logit minus the lecture's R(I), an L2 penalty of weight `l2_weight` on each colour value's
    distance from mid-grey, in decorrelated Fourier space, through random views
    (`transforms=None`: Lucid's `robust_views()` and then `random_resolution(0.5)`; `()` for
    none), with a light Gaussian blur (`blur` px every `blur_every` steps) against isolated dots.
    A list of classes makes one image of each, in one batch. Yields a `Step` after every update
    (see `iterate`).

    The random resolution is ours, not Lucid's: without it the class often rests on the finest
    pixels and falls when the image is shown at half size (for "limousine", from 1.0 to 0.5).
    The logit has no ceiling, so without the penalty the optimiser drives colour values to the
    ends of the sigmoid, black and white. With these defaults a viewer who did not know the
    classes named 10 of the 12 lecture classes freely and matched 10 from a list of 24 names;
    with `parameterization="maco"` (lr 0.2, no penalty or blur) other viewers named 6, and
    with MACO through views zooming in by 1-1.5 named 10 and matched 8 (benchmarks/RESULTS.md)."""
    views = robust_views() + [random_resolution(0.5)] if transforms is None else transforms
    batch_size = len(target) if isinstance(target, (list, tuple)) else 1
    l2_weight = _checks.number(l2_weight, "l2_weight", low=0)
    objective = class_logit(model, target) - l2_weight * l2() if l2_weight else class_logit(model, target)
    return iterate(model, objective, size=size, steps=steps, lr=lr, optimizer="adam", transforms=views,
                   parameterization=parameterization, batch_size=batch_size, blur=blur, blur_every=blur_every,
                   seed=seed)


def class_image(model, target, **options):
    """`iterate_class_image` run to its end: the image (N, 3, size, size) in [0, 1], one per class.

    Example:
        >>> dumbbell = class_image(model, "dumbbell")
    """
    return run_to_end(iterate_class_image(model, target, **options))


def iterate_channel_image(model, layer, channel, *, steps=128, size=224, lr=0.08,
                          parameterization="fourier_decorrelated", transforms=None, batch_size=1,
                          diversity_weight=0.0, seed=0):
    """An image that excites one channel of a layer everywhere (its mean activation), made as
    `iterate_class_image` makes a class's. A list of channels makes one image of each, in one
    batch. With `batch_size` > 1 and a `diversity_weight`, several images of one channel, pushed
    apart by `gram_similarity` at the same layer (Olah et al. 2017). Yields a `Step` after every
    update."""
    objective = _channel_objective(model, layer, channel)
    if isinstance(channel, (list, tuple)):
        batch_size = len(channel)
    if diversity_weight:
        objective = objective - diversity_weight * gram_similarity(layer)
    views = robust_views() if transforms is None else transforms
    return iterate(model, objective, size=size, steps=steps, lr=lr, optimizer="adam",
                   transforms=views, parameterization=parameterization, batch_size=batch_size, seed=seed)


def channel_image(model, layer, channel, **options):
    """`iterate_channel_image` run to its end: the image (N, 3, size, size) in [0, 1].

    Example:
        >>> stage4_61 = channel_image(model, "stage4", 61)
    """
    return run_to_end(iterate_channel_image(model, layer, channel, **options))


def iterate_deepdream(model, image, layer, *, steps=10, lr=0.01, jitter_px=32, octaves=3, octave_scale=1.4,
                      seed=0):
    """DeepDream (Mordvintsev, Olah and Tyka 2015): amplify whatever `layer` sees in `image`,
    by L1-normalised gradient ascent on its mean squared activation, jittered, over octaves.
    Yields a `Step` after every update (`steps` per octave)."""
    return iterate(model, layer_l2(model, layer), image, steps=steps, lr=lr, optimizer="ascent",
                   transforms=[jitter(jitter_px)] if jitter_px else [], octaves=octaves,
                   octave_scale=octave_scale, seed=seed)


def deepdream(model, image, layer, **options):
    """`iterate_deepdream` run to its end: the dream (1, 3, H, W) in [0, 1], the size of `image`.

    Example:
        >>> dream = deepdream(model, load_image("sky", 224), "stage4")
    """
    return run_to_end(iterate_deepdream(model, image, layer, **options))


def iterate_inversion(model, image, layer, *, tv_weight=0.5, beta=2.0, steps=1300, lr=0.005, momentum=0.98,
                      seed=0):
    """Feature inversion (Mahendran and Vedaldi 2015): from noise, the image whose features at
    `layer` match those of `image`, with a total-variation prior of weight `tv_weight` (and
    exponent `beta`). Yields a `Step` after every update.

    The optimiser is L1-normalised gradient descent with heavy momentum and a cosine schedule:
    with these defaults the layers of notebook 07 end at a relative feature error of about 0.1
    or less (`relative_error`; the deepest, head, depends most on the CPU's float rounding),
    which neither Adam nor L-BFGS reached (benchmarks/RESULTS.md)."""
    image = _checks.images(image, "image", single=True)
    objective = feature_match(layer, _features(model, image, layer)) - tv_weight * total_variation(beta)
    return iterate(model, objective, size=tuple(image.shape[-2:]), steps=steps, lr=lr, optimizer="ascent",
                   momentum=momentum, schedule="cosine", seed=seed)


def invert(model, image, layer, **options):
    """`iterate_inversion` run to its end: the inversion (1, 3, H, W) in [0, 1], the size of `image`.

    Example:
        >>> seen = invert(model, photo, "stage4")
        >>> relative_error(model, seen, "stage4", photo)    # about 0.1 or less
    """
    return run_to_end(iterate_inversion(model, image, layer, **options))


def relative_error(model, image, layer, original):
    """How well an inversion matches: ||phi(image) - phi(original)|| / ||phi(original)||, with
    phi the features at `layer`, a float (0: the same features)."""
    image = _checks.images(image, "image")
    original = _checks.images(original, "original", single=True)
    features, goal = _features(model, image, layer), _features(model, original, layer)
    return float((features - goal).norm() / goal.norm().clamp_min(1e-12))


def _features(model, image, layer):
    with torch.no_grad():
        return get_activations(model, image.to(model.device), [layer])[layer]
