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
- "maco" (Fel et al., "Unlocking Feature Visualization for Deeper Networks with MAgnitude
  Constrained Optimization", NeurIPS 2023): only the PHASE of the spectrum (in decorrelated
  colours) is optimised; its magnitude is fixed to the mean magnitude spectrum of photos
  (data/maco_spectrum.npy, made by `python -m lecture_utils spectrum`). The image is the
  inverse FFT, standardised, its colours recorrelated, through a sigmoid: whatever the
  optimiser does, the image keeps the energy per frequency of a photo, so it cannot pile
  energy into fine noise. The loop then also returns MACO's transparency map (`Step.transparency`).

The two Fourier parameterisations map to [0, 1] with a sigmoid rather than by clipping:
a clipped pixel has no gradient, and in Fourier space every parameter feeds every pixel, so
clipping would silently freeze parts of the spectrum; the sigmoid keeps all of them moving
and keeps the image in (0, 1) by construction.

Each parameterisation encodes an image into parameters and decodes them back, so a run can
start from a photo (DeepDream, inversion) or carry its image up to the next octave.
"""

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import _checks, images

PARAMETERIZATIONS = ("pixels", "fourier", "fourier_decorrelated", "maco")

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
SPECTRUM_FILE = "maco_spectrum.npy"  # in images.DATA_DIR
SPECTRUM_SIZE = 224  # the side of the photo crops the spectrum is measured on


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


class Maco:
    """MACO: the phase of the image's spectrum in decorrelated colours; its magnitude is fixed.

    decode(phase): spectrum = magnitude * exp(i phase) -> inverse FFT -> each image standardised
    (zero mean, unit std over its three channels and pixels) -> colours recorrelated with
    COLOR_SQRT -> sigmoid. The parameters are the phase, (N, 3, H, W // 2 + 1), real.

        >>> step = finish(iterate(model, class_logit(model, "lemon"), parameterization="maco",
        ...                       optimizer="adam", lr=0.2, transforms=robust_views()))
        >>> step.image, step.transparency    # (1, 3, 224, 224) each

    Limits: `encode` keeps only an image's phase (of the logit of its pixels, in decorrelated
    colours, as the decoder's input); the magnitude stays the photos' mean. So decode(encode(x))
    is not x: it has x's edges and layout, in the energy per frequency of an average photo.
    A blur between steps (`iterate(blur=...)`) can therefore move the phase only. In the first
    column of the spectrum (and the last, for an even width) a real image ties frequency
    (k, 0) to (-k, 0); the inverse FFT keeps their common part, so there the magnitude is at most
    the template's, and a decoded image's phase comes back only in the other columns.
    """

    name = "maco"

    def __init__(self, height, width):
        self.size = (height, width)
        self.magnitude = maco_spectrum(height, width)

    def decode(self, phase):
        spectrum = torch.polar(self.magnitude.to(phase.device), phase)
        x = torch.fft.irfft2(spectrum, s=self.size, norm="ortho")
        flat = x.flatten(1)
        x = (x - flat.mean(dim=1).view(-1, 1, 1, 1)) / flat.std(dim=1).clamp_min(1e-8).view(-1, 1, 1, 1)
        x = torch.einsum("ij,njhw->nihw", COLOR_SQRT.to(x.device), x)
        return torch.sigmoid(x)

    def encode(self, image):
        x = torch.logit(image.detach().clamp(_EDGE, 1 - _EDGE))
        x = torch.einsum("ij,njhw->nihw", torch.linalg.inv(COLOR_SQRT).to(x.device), x)
        spectrum = torch.fft.rfft2(x, norm="ortho")
        phase = spectrum.angle()
        # The mean colour (frequency 0) is real, so its angle is 0 or pi, where the cosine has no
        # slope: the optimiser could never change it again (nor could a blur between steps). Read it
        # as magnitude * cos(phase) instead, at the image's scale: its median ratio to the template
        # over the other frequencies (1 / the standardisation's std, for a decoded image). The decoder
        # ignores a shift common to the three channels (it subtracts the mean), so take the shift that
        # leaves the cosines farthest from +-1, where the slope vanishes again.
        magnitude = self.magnitude.to(x.device)
        scale = (spectrum.abs() / magnitude.clamp_min(1e-12))[..., 1:].flatten(1).median(dim=1).values
        mean, limit = spectrum.real[..., 0, 0] / scale[:, None], magnitude[:, 0, 0]
        shift = ((limit - mean).amin(dim=1) - (limit + mean).amin(dim=1)) / 2
        cos = (mean + shift[:, None]) / limit
        phase[..., 0, 0] = torch.arccos(cos.clamp(-1 + 1e-4, 1 - 1e-4))
        return phase

    @staticmethod
    def clip(params):
        pass  # any phase is valid, and the sigmoid keeps every decoded image in (0, 1)

    def noise(self, batch_size, generator, device):
        """A uniformly random phase: a cloudy texture with the photos' spectrum, no shape yet."""
        shape = (batch_size, *self.magnitude.shape)
        return ((2 * torch.rand(*shape, generator=generator) - 1) * math.pi).to(device)


def maco_spectrum(height, width):
    """The photos' mean magnitude spectrum (data/maco_spectrum.npy) for images of height x width:
    (3, height, width // 2 + 1), float32, in decorrelated colours.

    The file is measured on crops of `side` px (224). A photo scaled down to n px keeps its
    spectrum in cycles per image below n / 2 cycles, times n / side (a factor the decoder's
    standardisation removes), so a smaller side takes the template's lowest frequencies as they
    are. A larger side reads it at the same cycles per pixel (bilinear between bins), which for
    a spectrum falling as 1 / frequency, as photos' roughly does, is the same up to that factor,
    and multiplies the zero frequency (the mean colour, not on that law) by the factor. (Reading
    every size at the same cycles per pixel, as Horama does, left a 64 px image with 3.5 times
    too strong a mean colour and the high-frequency fall of the 224 px crops' resampling.)

    Raises FileNotFoundError naming the command that makes the file."""
    path = images.DATA_DIR / SPECTRUM_FILE
    if not path.is_file():
        raise FileNotFoundError(f"MACO's magnitude spectrum {path} is missing; make it with "
                                f"`python -m lecture_utils spectrum` (a few minutes, from the atlas photos)")
    template = torch.from_numpy(np.load(path)).float()
    side = template.shape[-2]
    if (height, width // 2 + 1) == tuple(template.shape[-2:]):
        return template
    # rows in order of frequency (-side/2 ... side/2 - 1 cycles), so interpolation never mixes the two ends
    ordered = torch.fft.fftshift(template, dim=-2)
    mean_colour = ordered[:, side // 2, 0].clone()
    # between bins, the zero frequency would lend its (much larger) value to the lowest others
    ordered[:, side // 2, 0] = (ordered[:, side // 2 + 1, 0] + ordered[:, side // 2, 1]) / 2
    rows = side // 2 + torch.fft.fftfreq(height) * min(height, side)  # template indices of the target's bins
    columns = torch.fft.rfftfreq(width) * min(width, side)
    grid = torch.stack(torch.broadcast_tensors(2 * columns[None, :] / (template.shape[-1] - 1) - 1,
                                               2 * rows[:, None] / (side - 1) - 1), dim=-1)
    spectrum = F.grid_sample(ordered[None], grid[None], mode="bilinear", padding_mode="border",
                             align_corners=True)[0]
    spectrum[:, 0, 0] = mean_colour * math.sqrt(max(height / side, 1) * max(width / side, 1))
    return spectrum


def photo_spectrum(image):
    """The magnitude of the 2-D spectrum of images (N, 3, S, S) in [0, 1], in decorrelated colours:
    (N, 3, S, S // 2 + 1). What `build_spectrum` averages.

    Measured on the pixel values less 0.5, not on their logit (the decoder's own input): the
    standardisation in `Maco.decode` removes the scale anyway, and the logit would turn every
    clipped highlight and black shadow into a plateau at the clipping value, an arbitrary
    constant whose edges add energy at all frequencies.
    The crop is multiplied by a Hann window (rescaled to keep its energy; the mean colour is
    kept as it is): the FFT takes the crop as periodic, and without the window the jump between
    opposite edges adds a cross of energy along the axes (1.2x-1.8x its neighbours' on the
    atlas photos) that would come back as horizontal and vertical streaks."""
    x = torch.einsum("ij,njhw->nihw", torch.linalg.inv(COLOR_SQRT), image.float() - 0.5)
    mean = x.mean(dim=(-2, -1), keepdim=True)
    h, w = x.shape[-2:]
    window = torch.hann_window(h, periodic=False)[:, None] * torch.hann_window(w, periodic=False)[None, :]
    x = (x - mean) * window / window.pow(2).mean().sqrt() + mean
    return torch.fft.rfft2(x, norm="ortho").abs()


def build_spectrum(out=None, size=SPECTRUM_SIZE, progress=True):
    """Measure MACO's magnitude spectrum on the atlas photos (`atlas.photos()`: licensed, listed
    in data/README.md), each scaled to `size` on its shorter side and centre cropped, and save
    the mean (3, size, size // 2 + 1), float32, to `out` (default data/maco_spectrum.npy),
    atomically. Returns the path. Used by `python -m lecture_utils spectrum`."""
    from . import atlas  # the atlas imports the optimiser, which imports this module

    size = _checks.positive_int(size, "size")
    out = Path(out) if out else images.DATA_DIR / SPECTRUM_FILE
    names = atlas.photos()
    total = torch.zeros(3, size, size // 2 + 1)
    for k, name in enumerate(names):
        photo = images.center_square(images.load_image(_photo_source(name), size=size), size)
        total += photo_spectrum(photo)[0]
        if progress and (k + 1) % 50 == 0:
            print(f"{k + 1}/{len(names)} photos", flush=True)
    with _checks.atomic_path(out) as partial, open(partial, "wb") as file:
        np.save(file, (total / len(names)).numpy().astype(np.float32))
    return out


def _photo_source(name):
    """What `images.load_image` reads for a name of `atlas.photos()`: a path, `data/NAME` (a
    bundled image) or `FILE.rcc:/NAME` (a photo's bytes, from `datasets.gcompris_photos`, which
    `atlas.photos()` has already read and cached)."""
    from .datasets import gcompris_photos

    if ".rcc:" in name:
        rcc, inside = name.split(":", 1)
        return gcompris_photos(Path(rcc))[inside]
    return images.DATA_DIR / name[len("data/"):] if name.startswith("data/") else Path(name)


def parameterization(name, height, width):
    """The parameterisation called `name` (one of PARAMETERIZATIONS) for images of this size."""
    if name == "pixels":
        return Pixels(height, width)
    if name in ("fourier", "fourier_decorrelated"):
        return Fourier(height, width, decorrelate=name == "fourier_decorrelated")
    if name == "maco":
        return Maco(height, width)
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
