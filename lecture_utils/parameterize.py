"""Image parameterisations: what the optimiser changes, and how that becomes an image.

Gradient ascent on raw pixels climbs fastest along high spatial frequencies: a CNN's gradient
with respect to its input is dominated by them, so a pixel-space visualisation fills with
fine, saturated noise. Olah, Mordvintsev and Schubert ("Feature Visualization", Distill 2017)
and Mordvintsev et al. ("Differentiable Image Parameterizations", Distill 2018) change the
variables instead of the objective:

- "pixels": the image itself, clipped to [0, 1] after each step;
- "fourier": the image's 2-D spectrum, each frequency f scaled by 1/f^1.3. A step of the same
  size now moves every frequency by about what it has in a natural photo (whose amplitude
  spectrum falls as 1/f), so low frequencies, shapes, are learnt as fast as texture. The
  exponent is a little steeper than Lucid's 1: measured on six channels of the bundled model
  (benchmarks/RESULTS.md), it leaves less fine noise and reaches the same or a higher
  activation over random views;
- "fourier_decorrelated": the same, and the three channels are decorrelated colours: the
  square root of ImageNet's colour covariance maps them to RGB, so a step changes brightness
  and hue independently, as they vary in photos, rather than R, G and B.

The two Fourier parameterisations map to [0, 1] with a sigmoid rather than by clipping:
a clipped pixel has no gradient, and in Fourier space every parameter feeds every pixel, so
clipping would silently freeze parts of the spectrum; the sigmoid keeps all of them moving
and keeps the image in (0, 1) by construction.

Each parameterisation encodes an image into parameters and decodes them back, so a run can
start from a photo (DeepDream, inversion) or carry its image up to the next octave.
"""

import torch

from . import _checks

PARAMETERIZATIONS = ("pixels", "fourier", "fourier_decorrelated")

# The square root of the colour covariance of ImageNet photos (RGB in [0, 1]), as measured and
# published with Lucid (Olah et al. 2017), scaled so that its largest column has norm 1.
_COLOR_SQRT = torch.tensor([[0.26, 0.09, 0.02],
                            [0.27, 0.00, -0.05],
                            [0.27, -0.09, 0.03]])
COLOR_SQRT = _COLOR_SQRT / _COLOR_SQRT.norm(dim=0).max()

# Pre-sigmoid values are the inverse FFT divided by this: Lucid's constant. A larger one gives
# less saturated colours early on.
_FOURIER_DAMPING = 4.0
_DECAY = 1.3  # amplitude falls as 1/f**1.3: a little steeper than photos (1/f), less fine noise
_EDGE = 1e-4  # encoding clips the image to [_EDGE, 1 - _EDGE], where the logit is finite


class Pixels:
    """The image is the parameter; `clip` projects it back into [0, 1] after each step."""

    name = "pixels"

    def __init__(self, height, width):
        self.size = (height, width)

    def encode(self, image):
        return image.detach().clone()

    def decode(self, params):
        return params

    @staticmethod
    def clip(params):
        params.clamp_(0, 1)

    def noise(self, batch_size, generator, device):
        """Faint noise around mid-grey: the usual start."""
        x = 0.5 + 0.05 * torch.randn(batch_size, 3, *self.size, generator=generator)
        return x.clamp(0, 1).to(device)


class Fourier:
    """The image's spectrum, scaled by 1/frequency, optionally in decorrelated colours."""

    def __init__(self, height, width, decorrelate=True):
        self.size = (height, width)
        self.name = "fourier_decorrelated" if decorrelate else "fourier"
        fy = torch.fft.fftfreq(height)[:, None]
        fx = torch.fft.rfftfreq(width)[None, :]
        frequency = (fy ** 2 + fx ** 2).sqrt()
        # 1/f, capped at the lowest frequency the image holds so the mean colour is not infinite
        self.scale = frequency.clamp_min(1.0 / max(height, width)).pow(-_DECAY) / _FOURIER_DAMPING
        self.colors = COLOR_SQRT if decorrelate else torch.eye(3)

    def decode(self, params):
        spectrum = torch.view_as_complex(params) * self.scale.to(params.device)
        x = torch.fft.irfft2(spectrum, s=self.size, norm="ortho")
        x = torch.einsum("ij,njhw->nihw", self.colors.to(x.device), x)
        return torch.sigmoid(x)

    def encode(self, image):
        x = torch.logit(image.detach().clamp(_EDGE, 1 - _EDGE))
        x = torch.einsum("ij,njhw->nihw", torch.linalg.inv(self.colors).to(x.device), x)
        spectrum = torch.fft.rfft2(x, norm="ortho") / self.scale.to(x.device)
        return torch.view_as_real(spectrum).contiguous()

    @staticmethod
    def clip(params):
        pass  # the sigmoid keeps every decoded image in (0, 1)

    def noise(self, batch_size, generator, device):
        """A faint random spectrum (sd 0.01, as in Lucid): a grey image with soft blotches."""
        shape = (batch_size, 3, *self.scale.shape, 2)
        return (0.01 * torch.randn(*shape, generator=generator)).to(device)


def parameterization(name, height, width):
    """The parameterisation called `name` (one of PARAMETERIZATIONS) for images of this size."""
    if name == "pixels":
        return Pixels(height, width)
    if name in ("fourier", "fourier_decorrelated"):
        return Fourier(height, width, decorrelate=name == "fourier_decorrelated")
    raise ValueError(f"parameterization must be one of {', '.join(PARAMETERIZATIONS)}; got {name!r}")


def high_frequency_share(image):
    """The fraction of an image's power above half the Nyquist frequency (0.25 cycles per pixel),
    of its grey version with the mean removed, one value per image of the batch. Photos have
    1-2%; pixel-space visualisations are often ten times that: fine, noisy texture."""
    grey = image.detach().float().mean(dim=1)
    grey = grey - grey.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(grey).abs().pow(2)
    fy = torch.fft.fftfreq(grey.shape[-2])[:, None]
    fx = torch.fft.fftfreq(grey.shape[-1])[None, :]
    high = (fy ** 2 + fx ** 2).sqrt() > 0.25
    return (power * high).sum(dim=(-2, -1)) / power.sum(dim=(-2, -1)).clamp_min(1e-20)


def saturated_share(image, margin=0.5 / 255):
    """The fraction of an image's colour values within `margin` of 0 or 1, one value per image of
    the batch. The default counts the values an 8-bit display shows as pure black or white (0 or
    255 in a channel); a margin of 0.05 also counts those nearly there. Photos have a few percent
    at most; an optimisation that pushes contrast without limit piles values up at both ends."""
    margin = _checks.number(margin, "margin", 0, 0.5, open_high=True)
    x = image.detach().float()
    return ((x < margin) | (x > 1 - margin)).flatten(1).float().mean(dim=1)
