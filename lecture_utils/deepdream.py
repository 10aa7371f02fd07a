"""The lecture's DeepDream step, ported line for line from the slide's Caffe code to PyTorch.

The slide (Mordvintsev, Olah and Tyka's `make_step`, in Google's deepdream notebook of 2015):

    def make_step(net, step_size=1.5, end='inception_4c/output', jitter=32, clip=True):
        src = net.blobs['data']                   # input image
        dst = net.blobs[end]
        ox, oy = np.random.randint(-jitter, jitter+1, 2)
        src.data[0] = np.roll(np.roll(src.data[0], ox, -1), oy, -2)   # apply jitter shift
        net.forward(end=end)
        dst.diff[:] = dst.data                    # objective: L2 (gradient = activation)
        net.backward(start=end)
        g = src.diff[0]
        src.data[:] += step_size/np.abs(g).mean() * g                 # L1-normalised step
        src.data[0] = np.roll(np.roll(src.data[0], -ox, -1), -oy, -2) # unshift image
        if clip:
            bias = net.transformer.mean['data']
            src.data[:] = np.clip(src.data, -bias, 255-bias)

`make_step` below does the same on an RGB image in [0, 1] (so the step of 1.5 grey levels is
1.5/255 and clipping is to [0, 1]). It is here to read beside the library's
`optimize.deepdream`, which runs the same step on the shared optimisation loop (with octaves,
a progress protocol and the other objectives): with no jitter, one step of each gives the same
image (tests/test_deepdream.py).
"""

import torch

from . import _checks
from .activations import get_activations


def make_step(model, image, layer, lr=1.5 / 255, jitter_px=32, clip=True, seed=None, shift=None):
    """One DeepDream step, as on the slide: jitter, forward to `layer`, set the layer's gradient
    to its activation, backward, an L1-normalised step, unjitter, clip.

    Args:
        model: a `load_model` model (RGB in [0, 1]); `layer`: one of `model.layers`.
        image: (1, 3, H, W) in [0, 1] (or beyond, after unclipped steps).
        lr: the step size, how far the mean pixel moves, in pixel units (the slide's step_size
            of 1.5 of 255).
        jitter_px: the largest random shift in pixels (0: none; the slide's jitter).
        clip: clip the result to [0, 1] (the slide's clip to the valid pixel range).
        seed: an int for the same shift on every run (None: torch's global random numbers).
        shift: (ox, oy), the shift in columns and rows to use instead of a random one.

    Returns:
        The next image, (1, 3, H, W), detached.

    Example:
        >>> x = load_image("palace", 256)
        >>> for _ in range(20):
        ...     x = make_step(model, x, "stage4")

    Limit: one scale only; `optimize.deepdream` adds the octaves.
    """
    # not _checks.images: after unclipped steps the values leave [0, 1], and that is allowed here
    if not (torch.is_tensor(image) and image.ndim == 4 and image.shape[:2] == (1, 3)):
        raise ValueError(f"image must be a tensor (1, 3, H, W); got {getattr(image, 'shape', type(image).__name__)}")
    lr = _checks.positive_number(lr, "lr")
    jitter_px = _checks.integer(jitter_px, "jitter_px", low=0)
    if shift is None:
        ox, oy = (int(v) for v in torch.randint(-jitter_px, jitter_px + 1, (2,), generator=_checks.seed(seed)))
    elif not (isinstance(shift, (tuple, list)) and len(shift) == 2):
        raise ValueError(f"shift must be a pair (ox, oy) of whole numbers of pixels; got {shift!r}")
    else:
        ox, oy = (_checks.integer(v, "shift") for v in shift)
    x = torch.roll(image.detach(), shifts=(oy, ox), dims=(-2, -1))        # apply jitter shift
    x.requires_grad_(True)
    with torch.enable_grad():
        activation = get_activations(model, x, [layer])[layer]           # forward to the layer
        activation.backward(activation.detach())                         # gradient = activation
    g = x.grad
    x = x.detach() + lr / g.abs().mean().clamp_min(1e-12) * g     # L1-normalised step
    x = torch.roll(x, shifts=(-oy, -ox), dims=(-2, -1))                  # unshift image
    if clip:
        x = x.clamp(0, 1)
    return x


def pattern_wavelength(image, original):
    """The typical wavelength, in pixels, of what a dream added to its photo: 1 / the mean spatial
    frequency of the change (image - original, averaged over the colours, its mean removed),
    each frequency weighted by its power. Smaller patterns give a shorter wavelength; a stripe
    pattern of period p gives p. Used to compare DeepDream's runs with and without octaves.

    Args:
        image, original: (1, 3, H, W) tensors of the same shape (the dream and its photo).

    Returns:
        The wavelength in pixels (a float, at least 1), or inf when nothing changed.
    """
    image = _checks.images(image, "image", single=True)  # detached
    original = _checks.images(original, "original", single=True)
    if image.shape != original.shape:
        raise ValueError(f"image and original must have the same shape; got {tuple(image.shape)} and {tuple(original.shape)}")
    change = (image - original).double().mean(1)[0]
    power = torch.fft.rfft2(change - change.mean()).abs() ** 2
    fy = torch.fft.fftfreq(change.shape[0], dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(change.shape[1], dtype=torch.float64)[None]
    total = power.sum()
    if total <= 0:
        return float("inf")
    return float(total / (power * (fy ** 2 + fx ** 2).sqrt()).sum())
