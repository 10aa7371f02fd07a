"""Images in, tensors out: load, validate, convert, resize and save.

Everything in this package works on float tensors of shape (1, 3, H, W) with RGB values in
[0, 1]. `load_image` makes one from a bundled name, a path, the bytes of an upload, a PIL image
or an array, and refuses bad input with an `ImageError` that says what is wrong and what is
accepted.
"""

import io
import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from . import _checks

# The data the library loads by name (the bundled photos, data/atlas, data/fast_style), from one
# folder: $LECTURE_UTILS_DATA if set; else lecture_utils/data, the copy an installed wheel carries
# (setup.py puts it there); else data/ beside the package, in a clone or an editable install. The
# installed copy is looked for first: beside an installed package is site-packages, whose data/
# could be another distribution's.
_PACKAGE = Path(__file__).resolve().parent
if os.environ.get("LECTURE_UTILS_DATA"):
    _DATA_PLACES = [Path(os.environ["LECTURE_UTILS_DATA"]).expanduser()]
    _LOOKED = f"{_DATA_PLACES[0]} (LECTURE_UTILS_DATA)"
else:
    _DATA_PLACES = [_PACKAGE / "data", _PACKAGE.parent / "data"]
    _LOOKED = " or ".join(map(str, _DATA_PLACES))
DATA_DIR = next((place for place in _DATA_PLACES if place.is_dir()), _DATA_PLACES[-1])
_NO_DATA = ("the bundled data (photos, unit atlas, style networks) is not at {}; install lecture-utils from a "
            "wheel built from the repository (it carries lecture_utils/data), or set LECTURE_UTILS_DATA to a "
            "copy of the repository's data/ folder")
if not DATA_DIR.is_dir():
    warnings.warn(_NO_DATA.format(_LOOKED), stacklevel=2)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
ACCEPTED = "a PNG, JPEG, WebP, BMP, TIFF or GIF file"

MAX_PIXELS = 40_000_000  # refuse larger images before decoding them (decompression bombs)
MAX_SIDE = 1024  # without an explicit size, larger images are scaled down to this longer side
MAX_SIZE = 4096  # the largest size one may ask for
MAX_FILE_BYTES = 200_000_000
MAX_JPEG_SCANS = 100  # progressive JPEGs use about 10


class ImageError(ValueError):
    """An input that cannot be read as an image; the message says why and what is accepted."""


def _data_files():
    """The files in DATA_DIR, sorted; a FileNotFoundError saying where it looked if it is missing."""
    if not DATA_DIR.is_dir():
        raise FileNotFoundError(_NO_DATA.format(_LOOKED if DATA_DIR in _DATA_PLACES else DATA_DIR))
    return sorted(DATA_DIR.iterdir())


def bundled_images():
    """Names of the photos in data/ (load them with `load_image(name)`), sorted."""
    return sorted(p.stem for p in _data_files() if p.suffix.lower() in IMAGE_SUFFIXES)


def load_image(source, size=None):
    """Load an image as a float tensor (1, 3, H, W) with RGB values in [0, 1].

    Args:
        source: a bundled name ("cat"; see `bundled_images()`), a path (str or Path), the
            bytes of an image file (e.g. an upload), a PIL image, a NumPy array (H, W) or
            (H, W, C) with C in 1, 3, 4 (uint8, uint16, bool, or float in [0, 1]), or a tensor
            (3, H, W) / (1, 3, H, W), float in [0, 1] or uint8.
        size: None keeps the size (scaled down to MAX_SIDE on the longer side if larger);
            an int scales the shorter side to it; (H, W) resizes to exactly that.

    Grayscale, palette, CMYK and 16-bit images are converted to RGB; transparency is
    composited on white; EXIF orientation is applied; of an animation the first frame is used.

    Raises:
        ImageError: empty, truncated or unreadable data, not an image (SVG included), an image
            over MAX_PIXELS, a missing path or a directory, an array of the wrong shape/range.
        ValueError: a size that is not a positive int or (H, W) pair up to MAX_SIZE.

    Example:
        >>> load_image("cat", size=224).shape
        torch.Size([1, 3, 224, 337])
    """
    size = _check_size(size)
    with warnings.catch_warnings():
        # Pillow warns about damaged metadata it then ignores; the image itself is checked here.
        warnings.simplefilter("ignore")
        if isinstance(source, torch.Tensor):
            image = _from_tensor(source)
        elif isinstance(source, np.ndarray):
            image = _from_array(source)
        elif isinstance(source, Image.Image):
            image = _from_pil(_decode(source, "the PIL image"))
        elif isinstance(source, (bytes, bytearray, memoryview)):
            image = _from_pil(_open(bytes(source), "the uploaded data"))
        elif isinstance(source, (str, os.PathLike)):
            path = _resolve(source)
            image = _from_pil(_open(_read(path), f"the file {str(path)!r}"))
        else:
            raise ImageError(
                f"cannot load an image from a {type(source).__name__}; accepted: a bundled name, "
                f"a path, bytes, a PIL image, a NumPy array or a tensor"
            )
    return resize(image, size)


def _check_size(size):
    """None, an int (the shorter side) or a pair (H, W), each side from 1 to MAX_SIZE."""
    if size is None:
        return None
    pair = isinstance(size, (tuple, list))
    message = (f"size must be None, an int from 1 to {MAX_SIZE} (the shorter side) or a pair (H, W) of such "
               f"ints; got {size!r}")
    if pair and len(size) != 2:
        raise ValueError(message)
    try:
        sides = [_checks.integer(side, "size", 1, MAX_SIZE) for side in (size if pair else [size])]
    except ValueError:
        raise ValueError(message) from None
    return tuple(sides) if pair else sides[0]


def _resolve(source):
    try:
        return _find(source)
    except (OSError, RuntimeError, TypeError) as error:  # name too long, ~nosuchuser, bytes paths
        raise ImageError(f"cannot use {source!r} as a path: {error}") from None


def _find(source):
    path = Path(source).expanduser()
    if not path.exists() and isinstance(source, str) and path.name == source:
        for candidate in _data_files():  # a bundled name, with or without suffix
            if candidate.suffix.lower() in IMAGE_SUFFIXES and source in (candidate.stem, candidate.name):
                return candidate
    if path.is_dir():
        raise ImageError(f"{str(source)!r} is a directory; give the path of one image file ({ACCEPTED})")
    if not path.is_file():
        raise ImageError(
            f"no file at {str(source)!r}; give the path of {ACCEPTED}, or a bundled name: "
            f"{', '.join(bundled_images())}"
        )
    return path


def _read(path):
    try:
        nbytes = path.stat().st_size
        if nbytes > MAX_FILE_BYTES:
            raise ImageError(
                f"the file {str(path)!r} is {nbytes / 1e6:.0f} MB, more than the "
                f"{MAX_FILE_BYTES / 1e6:.0f} MB accepted; scale it down first"
            )
        return path.read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read the file {str(path)!r}: {error.strerror or error}") from None


def _open(data, what):
    """Open and decode image bytes, refusing what is not one before any large decode."""
    if len(data) == 0:
        raise ImageError(f"{what} is empty (0 bytes); expected {ACCEPTED}")
    head = data[:512].lower()
    if b"<svg" in head or (head.lstrip().startswith(b"<") and b"svg" in head):
        raise ImageError(f"{what} is an SVG (vector) image; convert it to {ACCEPTED}")
    if data.startswith(b"\xff\xd8") and data.count(b"\xff\xda") > MAX_JPEG_SCANS:
        # every progressive scan re-decodes the whole image: thousands of them take minutes
        raise ImageError(f"{what} is a JPEG with more than {MAX_JPEG_SCANS} scans; re-save it")
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
    except UnidentifiedImageError:
        raise ImageError(f"{what} is not an image that can be read; expected {ACCEPTED}") from None
    except Exception as error:
        raise _damaged(what, error) from None
    return _decode(image, what)


def _decode(image, what):
    """Check the size from the header, then decode the first frame."""
    try:
        _check_pixels(*image.size, what)
        image.seek(0)  # first frame of an animation
        if image.format == "JPEG":
            image.draft("RGB", (MAX_SIZE, MAX_SIZE))  # decode very large JPEGs at a reduced scale
        image.load()
    except ImageError:
        raise
    except Exception as error:  # Pillow's decoders raise many types on damaged data
        raise _damaged(what, error) from None
    return image


def _damaged(what, error):
    if isinstance(error, Image.DecompressionBombError):
        return ImageError(f"{what} is far larger than the {MAX_PIXELS / 1e6:.0f} megapixels accepted "
                          f"(a decompression bomb?); scale it down first")
    return ImageError(f"{what} is damaged or truncated ({type(error).__name__}: {error}); expected {ACCEPTED}")


def _check_pixels(w, h, what):
    if w * h > MAX_PIXELS:
        raise ImageError(
            f"{what} is {w}x{h} = {w * h / 1e6:.0f} megapixels, more than the "
            f"{MAX_PIXELS / 1e6:.0f} accepted; scale it down first"
        )


def _from_pil(image):
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a damaged EXIF block: keep the pixels as stored
        pass
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # 16-bit (or float) grayscale: keep the precision instead of clipping to 8 bits.
        array = np.asarray(image, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ImageError("the image holds NaN or infinite values")
        scale = 65535.0 if image.mode != "F" else max(1.0, float(array.max()))
        return _from_array(np.clip(array / scale, 0.0, 1.0))
    icc_profile = image.info.get("icc_profile")  # compositing drops image.info
    try:
        if image.mode == "La":  # premultiplied alpha: Pillow converts it only to LA
            image = image.convert("LA")
        if image.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, rgba)
        rgb = image.convert("RGB")
    except (ValueError, OSError) as error:
        raise ImageError(f"images of mode {image.mode!r} cannot be converted to RGB ({error})") from None
    return _from_array(np.asarray(_to_srgb(rgb, icc_profile)))


def _to_srgb(rgb, icc_profile):
    """Convert from an embedded colour profile (e.g. a phone's Display P3) to sRGB."""
    if not icc_profile:
        return rgb
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if source.profile.xcolor_space.strip() != "RGB":
            return rgb  # the profile described the original CMYK/gray data, not these RGB pixels
        return ImageCms.profileToProfile(rgb, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return rgb  # an unreadable profile: keep the pixels as stored


def _from_array(array):
    array = np.asarray(array)  # masked arrays and matrices become plain arrays
    if array.dtype.byteorder not in ("=", "|"):
        array = array.astype(array.dtype.newbyteorder("="))
    if array.ndim in (2, 3):
        _check_pixels(array.shape[1], array.shape[0], "the array")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or min(array.shape[:2], default=0) < 1:
        hint = "; for channels first, pass array.transpose(1, 2, 0)" if array.ndim == 3 and array.shape[0] in (3, 4) else ""
        raise ImageError(
            f"an image array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {array.shape}{hint}"
        )
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        array = array.astype(np.float32) / 65535.0
    elif array.dtype == bool:
        array = array.astype(np.float32)
    elif np.issubdtype(array.dtype, np.floating):
        # allow rounding error at the ends of the range, nothing more
        if not np.isfinite(array).all() or array.min() < -1e-4 or array.max() > 1 + 1e-4:
            raise ImageError("a float image array must hold finite values in [0, 1]")
        array = np.clip(array, 0.0, 1.0).astype(np.float32)
    else:
        raise ImageError(f"image arrays of dtype {array.dtype} are not accepted; use uint8, uint16, bool or float")
    if array.shape[2] == 4:  # composite on white
        alpha = array[:, :, 3:]
        array = array[:, :, :3] * alpha + (1.0 - alpha)
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0).contiguous()


def _from_tensor(tensor):
    if (tensor.layout != torch.strided or tensor.is_quantized or tensor.device.type == "meta"
            or not (tensor.dtype.is_floating_point or tensor.dtype in (torch.bool, torch.uint8))):
        raise ImageError(f"an image tensor must be a dense float (in [0, 1]) or uint8 tensor; "
                         f"got {tensor.dtype}, {tensor.layout}")
    if tensor.ndim >= 2:  # before any conversion allocates memory
        _check_pixels(tensor.shape[-1], tensor.shape[-2], "the tensor")
    # uint8 as torchvision.io.read_image gives it
    image = tensor.detach().float() / 255.0 if tensor.dtype == torch.uint8 else tensor.detach().float()
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or image.shape[:2] != (1, 3) or min(image.shape[2:]) < 1:
        raise ImageError(f"an image tensor must have shape (3, H, W) or (1, 3, H, W); got {tuple(tensor.shape)}")
    _checks.pixel_values(image, "the image tensor", error=ImageError)
    return image.clone()


def gaussian_blur(image, sigma):
    """A Gaussian blur of (N, C, H, W) images, reflecting at the edges: torchvision's
    `gaussian_blur` with a kernel of 2 * ceil(2 sigma) + 1 taps, as two 1-D passes (the bundled
    model's path never imports torchvision, which costs a kernel about 170 MB)."""
    radius = math.ceil(2 * sigma)
    x = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    taps = (taps / taps.sum()).expand(image.shape[1], 1, -1)
    out = F.pad(image, (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, taps[:, :, None, :], groups=image.shape[1])  # along rows
    return F.conv2d(out, taps[:, :, :, None], groups=image.shape[1])  # along columns


def resize(image, size=None):
    """Resize an image tensor (N, 3, H, W) with antialiasing.

    size None caps the longer side at MAX_SIDE; an int sets the shorter side; (H, W) is exact.
    """
    size = _check_size(size)
    h, w = image.shape[-2:]
    if size is None:
        scale = min(1.0, MAX_SIDE / max(h, w))
        target = (max(1, round(h * scale)), max(1, round(w * scale)))
    elif isinstance(size, int):
        scale = size / min(h, w)
        target = (max(1, round(h * scale)), max(1, round(w * scale)))
    else:
        target = tuple(size)
    if target[0] * target[1] > MAX_PIXELS:
        raise ValueError(
            f"resizing {h}x{w} to size={size!r} would give {target[0]}x{target[1]} pixels, more than "
            f"the {MAX_PIXELS / 1e6:.0f} megapixels accepted; ask for a smaller size"
        )
    if target == (h, w):
        return image
    out = F.interpolate(image, size=target, mode="bilinear", align_corners=False, antialias=True)
    return out.clamp(0, 1)


def center_crop(image, size):
    """Crop the central size x size square (or (H, W)) of an image tensor."""
    th, tw = _checks.size(size, "size")
    h, w = image.shape[-2:]
    if th > h or tw > w:
        raise ValueError(f"cannot crop {th}x{tw} from an image of {h}x{w}")
    top, left = (h - th) // 2, (w - tw) // 2
    return image[..., top : top + th, left : left + tw]


def resize_longer_side(image, side):
    """Resize an image (N, 3, H, W) so its longer side is `side` pixels, keeping its aspect ratio
    (the size convention of texture synthesis and style transfer)."""
    side = _checks.positive_int(side, "side")
    h, w = image.shape[-2:]
    scale = side / max(h, w)
    return resize(image, (max(1, round(h * scale)), max(1, round(w * scale))))


def center_square(image, size=224):
    """The view a classifier was trained on: shorter side scaled to `size`, centre cropped square."""
    return center_crop(resize(image, size), size)


def random_crops(images, n, size=224, scale=(0.35, 1.0), flip=True, seed=None):
    """`n` random square crops of a list of photos, resized to size x size (data augmentation).

    Args:
        images: a list of image tensors (1, 3, H, W) in [0, 1] (sizes may differ), or a batch.
        n: how many crops, taken from the photos in turn (photo i % len(images)).
        size: side of the crops in pixels.
        scale: range of the crop's side as a fraction of the photo's shorter side.
        flip: mirror half of the crops left to right, at random.
        seed: an int for the same crops on every run (None: torch's global random numbers).

    Returns:
        A tensor (n, 3, size, size) in [0, 1].
    """
    generator = _checks.seed(seed)
    photos = [images[i:i + 1] for i in range(len(images))] if torch.is_tensor(images) else list(images)
    if not photos:
        raise ValueError("random_crops needs at least one image")
    n, size = _checks.positive_int(n, "n"), _checks.positive_int(size, "size")
    low, high = scale
    if not 0 < low <= high <= 1:
        raise ValueError(f"scale must be (low, high) with 0 < low <= high <= 1; got {scale!r}")
    for photo in photos:
        _checks.images(photo, "each image", single=True)
    crops = []
    for i in range(n):
        photo = photos[i % len(photos)].detach()
        h, w = photo.shape[-2:]
        r = torch.rand(4, generator=generator).tolist()
        side = max(1, round(min(h, w) * (low + (high - low) * r[0])))
        top, left = int(r[1] * (h - side + 1)), int(r[2] * (w - side + 1))
        crop = center_square(photo[..., top:top + side, left:left + side], size)
        crops.append(crop.flip(-1) if flip and r[3] < 0.5 else crop)
    return torch.cat(crops)


def to_pil(image):
    """A PIL RGB image from a tensor (1, 3, H, W) or (3, H, W) in [0, 1]."""
    image = image.detach().float().cpu()
    if image.ndim == 4:
        if image.shape[0] != 1:
            raise ValueError(f"to_pil takes one image; got a batch of {image.shape[0]}")
        image = image[0]
    array = (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
    return Image.fromarray(array)


def save_image(image, path):
    """Save a tensor (1, 3, H, W) in [0, 1] to a file; the suffix picks the format."""
    to_pil(image).save(path)
