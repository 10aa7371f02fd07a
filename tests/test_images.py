import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from lecture_utils import ImageError, bundled_images, load_image, save_image, to_pil
from lecture_utils.images import MAX_PIXELS, center_crop, center_square, random_crops, resize_longer_side


def encode(image, fmt, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def gradient_rgb(w=40, h=30):
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None].repeat(w, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=2))


def png_with_size(width, height):
    """A valid PNG header (and a tiny IDAT) claiming width x height pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


def check(image, shape=None):
    assert image.dtype == torch.float32 and image.ndim == 4 and image.shape[:2] == (1, 3)
    assert 0.0 <= image.min() and image.max() <= 1.0
    if shape:
        assert tuple(image.shape[2:]) == shape


def test_every_bundled_image_loads():
    names = bundled_images()
    assert 6 <= len(names) <= 12 and "cat_and_espresso" in names
    for name in names:
        check(load_image(name))
        check(load_image(name + ".jpg"))


UNUSUAL = {
    "grayscale": lambda: encode(gradient_rgb().convert("L"), "PNG"),
    "one_bit": lambda: encode(gradient_rgb().convert("1"), "PNG"),
    "palette": lambda: encode(gradient_rgb().convert("P"), "PNG"),
    "palette_transparent": lambda: encode(gradient_rgb().convert("P"), "PNG", transparency=0),
    "rgba": lambda: encode(gradient_rgb().convert("RGBA"), "PNG"),
    "la": lambda: encode(gradient_rgb().convert("LA"), "PNG"),
    "cmyk_jpeg": lambda: encode(gradient_rgb().convert("CMYK"), "JPEG"),
    "cmyk_tiff": lambda: encode(gradient_rgb().convert("CMYK"), "TIFF"),
    "sixteen_bit": lambda: encode(Image.fromarray(np.full((30, 40), 40000, np.uint16)), "PNG"),
    "webp": lambda: encode(gradient_rgb(), "WEBP"),
    "bmp": lambda: encode(gradient_rgb(), "BMP"),
    "tiff": lambda: encode(gradient_rgb(), "TIFF"),
    "gif": lambda: encode(gradient_rgb(), "GIF"),
    "animated_gif": lambda: encode(gradient_rgb(), "GIF", save_all=True,
                                   append_images=[gradient_rgb().rotate(90, expand=False)] * 2),
    "jpeg": lambda: encode(gradient_rgb(), "JPEG"),
}


@pytest.mark.parametrize("kind", UNUSUAL)
def test_unusual_but_valid_images_load(kind, tmp_path):
    data = UNUSUAL[kind]()
    check(load_image(data), (30, 40))
    # the same file under a path with spaces, non-ASCII letters and a suffix that lies
    path = tmp_path / "déjà vu folder" / f"фото {kind}.jpg"
    path.parent.mkdir()
    path.write_bytes(data)
    check(load_image(path), (30, 40))
    check(load_image(str(path)), (30, 40))


def test_conversions_keep_the_pixels_right():
    white_transparent = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert torch.allclose(load_image(encode(white_transparent, "PNG")), torch.ones(1, 3, 4, 4))
    sixteen = load_image(encode(Image.fromarray(np.full((3, 3), 32768, np.uint16)), "PNG"))
    assert torch.allclose(sixteen, torch.full_like(sixteen, 32768 / 65535), atol=1e-6)
    gray = load_image(encode(Image.new("L", (3, 3), 51), "PNG"))
    assert torch.allclose(gray, torch.full_like(gray, 0.2), atol=1e-6)


def test_exif_orientation_is_applied():
    image = gradient_rgb(40, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    loaded = load_image(encode(image, "JPEG", exif=exif.tobytes()))
    check(loaded, (40, 30))
    plain = load_image(encode(image, "JPEG"))
    assert torch.allclose(loaded, plain.rot90(-1, dims=(2, 3)), atol=0.05)


def test_first_frame_of_an_animation():
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 0, 255)]]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    image = load_image(data)
    assert image[0, 0].mean() > 0.9 and image[0, 2].mean() < 0.1


def test_pil_arrays_and_tensors():
    pil = gradient_rgb()
    check(load_image(pil), (30, 40))
    array = np.asarray(pil)
    assert torch.allclose(load_image(array), load_image(pil))
    check(load_image(array[:, :, 0]), (30, 40))
    check(load_image(array[:, :, :1]), (30, 40))
    check(load_image(np.dstack([array, np.full((30, 40), 255, np.uint8)])), (30, 40))
    check(load_image(array.astype(np.float64) / 255), (30, 40))
    check(load_image(array.astype(np.uint16) * 257), (30, 40))
    check(load_image(array[:, :, 0] > 128), (30, 40))
    tensor = torch.rand(3, 20, 10)
    assert torch.equal(load_image(tensor)[0], tensor)
    as_bytes = (tensor * 255).round().to(torch.uint8)  # as torchvision.io.read_image gives it
    assert torch.allclose(load_image(as_bytes)[0], tensor, atol=0.5 / 255 + 1e-6)


def test_sizes():
    pil = gradient_rgb(40, 30)
    check(load_image(pil, size=15), (15, 20))
    check(load_image(pil, size=(7, 9)), (7, 9))
    check(load_image(pil, size=[12, 5]), (12, 5))
    check(load_image(Image.new("RGB", (3000, 1500))), (512, 1024))  # capped by MAX_SIDE
    check(center_square(load_image(pil)), (224, 224))


def test_center_crop_names_a_bad_size():
    with pytest.raises(ValueError, match=r"size must be an int >= 1 or a pair \(height, width\) of them; got 32.0"):
        center_crop(torch.rand(1, 3, 64, 64), 32.0)
    assert center_crop(torch.rand(1, 3, 64, 64), (32, 16)).shape[-2:] == (32, 16)


@pytest.mark.parametrize("size", [0, -3, 1.5, (0, 4), (4,) * 3, "224", True, 100_000])
def test_bad_sizes(size):
    with pytest.raises(ValueError, match="size must be"):
        load_image(gradient_rgb(), size=size)


def truncated(fmt):
    data = encode(gradient_rgb(200, 200), fmt)
    return data[: len(data) // 2]


BAD = {
    "empty": (b"", "empty"),
    "truncated_jpeg": (truncated("JPEG"), "damaged or truncated"),
    "truncated_png": (truncated("PNG"), "damaged or truncated"),
    "text": (b"hello, this is not an image\n" * 10, "not an image"),
    "svg": (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
    "bare_svg": (b'<svg width="10" height="10"></svg>', "SVG"),
    "html": (b"<!DOCTYPE html><html><body>hi</body></html>", "not an image"),
    "bomb": (png_with_size(100_000, 100_000), "megapixels"),
    "just_over_the_cap": (png_with_size(MAX_PIXELS // 1000 + 1, 1000), "megapixels"),
    "pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "not an image"),
    "zip": (b"PK\x03\x04" + b"\0" * 100, "not an image"),
}


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_raises_image_error(kind, tmp_path):
    data, words = BAD[kind]
    with pytest.raises(ImageError, match=words):
        load_image(data)
    path = tmp_path / f"{kind}.png"
    path.write_bytes(data)
    with pytest.raises(ImageError, match=words) as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_bad_sources(tmp_path):
    with pytest.raises(ImageError, match="no file at") as info:
        load_image(tmp_path / "missing.png")
    assert "cat" in str(info.value)  # names the bundled images
    with pytest.raises(ImageError, match="no file at"):
        load_image("no_such_bundled_photo")
    with pytest.raises(ImageError, match="is a directory"):
        load_image(tmp_path)
    with pytest.raises(ImageError, match="from a int"):
        load_image(42)
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ImageError, match=r"\[0, 1\]"):
        load_image(np.full((4, 4), 2.0))
    with pytest.raises(ImageError, match=r"\[0, 1\]"):
        load_image(np.full((4, 4), np.nan))
    with pytest.raises(ImageError, match="dtype"):
        load_image(np.zeros((4, 4), np.int64))
    with pytest.raises(ImageError, match="shape"):
        load_image(torch.rand(2, 3, 4, 4))
    assert issubclass(ImageError, ValueError)


def test_save_and_reload_round_trip(tmp_path):
    image = load_image("cat", size=64)
    save_image(image, tmp_path / "cat.png")
    again = load_image(tmp_path / "cat.png")
    assert (again - image).abs().max() <= 0.5 / 255 + 1e-6
    assert to_pil(image).size == (image.shape[3], image.shape[2])


def test_colour_profiles_are_converted_or_ignored_when_unreadable(monkeypatch):
    from PIL import ImageCms

    converted = []
    real = ImageCms.profileToProfile
    monkeypatch.setattr(ImageCms, "profileToProfile", lambda *a, **k: converted.append(1) or real(*a, **k))
    image = gradient_rgb()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    plain = load_image(encode(image, "PNG"))
    tagged = load_image(encode(image, "PNG", icc_profile=srgb))
    assert (tagged - plain).abs().max() <= 2 / 255  # sRGB to sRGB changes (almost) nothing
    assert converted == [1]
    load_image(encode(image.convert("RGBA"), "PNG", icc_profile=srgb))  # transparency keeps the profile
    assert converted == [1, 1]
    broken = load_image(encode(image, "PNG", icc_profile=b"not a profile"))
    assert torch.equal(broken, plain)


def test_unreadable_files_and_absurd_resizes(tmp_path):
    import os

    path = tmp_path / "secret.png"
    path.write_bytes(encode(gradient_rgb(), "PNG"))
    if os.geteuid() != 0:  # root reads everything
        path.chmod(0)
        with pytest.raises(ImageError, match="cannot read"):
            load_image(path)
        path.chmod(0o644)
    sliver = Image.new("RGB", (4000, 1))
    with pytest.raises(ValueError, match="megapixels"):
        load_image(sliver, size=4000)  # 4000 x 16,000,000 pixels
    with pytest.raises(ImageError, match="channels first"):
        load_image(np.zeros((3, 8, 9), np.uint8))
    check(load_image(np.full((4, 4, 3), 1.00001)), (4, 4))  # float rounding at the ends is clipped


def test_a_progressive_jpeg_with_thousands_of_scans_is_refused_at_once():
    data = encode(Image.new("L", (300, 300)), "JPEG", progressive=True, quality=10)
    last, end = data.rfind(b"\xff\xda"), data.rfind(b"\xff\xd9")
    with pytest.raises(ImageError, match="scans"):
        load_image(data[:end] + data[last:end] * 5000 + b"\xff\xd9")


def test_arrays_pil_images_and_tensors_respect_the_pixel_cap():
    side = int(MAX_PIXELS ** 0.5) + 10
    with pytest.raises(ImageError, match="megapixels"):
        load_image(np.zeros((side, side), np.uint8))
    with pytest.raises(ImageError, match="megapixels"):
        load_image(Image.new("L", (side, side)))
    with pytest.raises(ImageError, match="megapixels"):
        load_image(torch.zeros(1, 3, side, side).expand(1, 3, side, side))


def test_damaged_metadata_loads_silently(capfd):
    base = encode(Image.new("RGB", (8, 8), "red"), "JPEG")
    exif = b"Exif\0\0II*\0\xff\xff\xff\x7f"
    broken = base[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + base[2:]
    check(load_image(broken), (8, 8))
    assert capfd.readouterr().err == ""


def test_odd_inputs_raise_image_error_not_something_else(tmp_path):
    cases = [
        b"\x01\0\0\0" + b"\0" * 36 + b" EMF" + b"\0" * 100,  # Pillow's WMF reader divides by zero
        torch.zeros(1, 3, 0, 7),
        torch.zeros(1, 3, 5, 7, dtype=torch.complex64),
        torch.zeros(1, 3, 5, 7).to_sparse(),
        np.zeros((0, 5), np.uint8),
        "x" * 300 + ".png",
        "~no_such_user_here/cat.png",
    ]
    for case in cases:
        with pytest.raises(ImageError):
            load_image(case)
    lazy = Image.open(io.BytesIO(encode(Image.effect_noise((64, 64), 50), "PNG")[:3000]))
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_image(lazy)
    with pytest.raises(ImageError, match="NaN or infinite"):
        load_image(Image.fromarray(np.full((4, 4), np.inf, np.float32)))
    with pytest.raises(ValueError, match="size must be"):
        load_image("cat", size=(224,))


def test_more_unusual_arrays_and_modes_load():
    check(load_image(np.zeros((5, 7, 3), ">u2")), (5, 7))
    masked = load_image(np.ma.masked_array(np.zeros((5, 7, 3), np.uint8)))
    assert masked.dtype == torch.float32
    check(load_image(Image.new("La", (7, 5))), (5, 7))


def test_random_crops_are_reproducible_and_check_their_input():
    photos = [load_image("cat", 128), load_image("rocket", 96)]
    crops = random_crops(photos, 5, size=64, seed=0)
    again = random_crops(photos, 5, size=64, seed=0)
    assert crops.shape == (5, 3, 64, 64) and torch.equal(crops, again)
    assert 0 <= crops.min() and crops.max() <= 1
    with pytest.raises(ValueError, match=r"each image must be a tensor \(1, 3, H, W\)"):
        random_crops([torch.rand(3, 32, 32)], 2)
    with pytest.raises(ValueError, match=r"each image must hold values in \[0, 1\] \(pixel space, not normalised\)"):
        random_crops([2 * photos[0]], 2)
    with pytest.raises(TypeError, match="each image must be a float tensor"):
        random_crops([(photos[0] * 255).byte()], 2)
    with pytest.raises(ValueError, match="n must be an int >= 1; got 0"):
        random_crops(photos, 0)
    with pytest.raises(ValueError, match="needs at least one image"):
        random_crops([], 2)


def test_resize_longer_side_keeps_the_aspect_ratio():
    image = torch.rand(1, 3, 30, 60)
    assert resize_longer_side(image, 20).shape == (1, 3, 10, 20)
    assert resize_longer_side(image.transpose(2, 3), 20).shape == (1, 3, 20, 10)
    assert resize_longer_side(image, 60) is image
    with pytest.raises(ValueError, match="side must be an int >= 1; got 0"):
        resize_longer_side(image, 0)


def test_a_non_finite_tensor_is_refused_naming_the_count():
    image = torch.rand(1, 3, 4, 4)
    image[0, 1, 2, :2] = float("nan")
    with pytest.raises(ImageError, match="the image tensor holds 2 NaN/inf values"):
        load_image(image)
