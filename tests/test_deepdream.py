"""The slide's make_step against the library's DeepDream, on the bundled model."""

import pytest
import torch

from lecture_utils import load_image
from lecture_utils import optimize as opt
from lecture_utils.activations import get_activations
from lecture_utils.deepdream import make_step, pattern_wavelength
from lecture_utils.models import folded


@pytest.fixture(scope="module")
def photo():
    return load_image("palace", size=96)


def test_one_step_without_jitter_equals_the_librarys_step(model, photo):
    # the library's loop runs the folded network; on it the two steps are the same computation
    ours = make_step(folded(model), photo, "stage4", lr=0.01, jitter_px=0)
    library = opt.deepdream(model, photo, "stage4", steps=1, lr=0.01, jitter_px=0, octaves=1)
    torch.testing.assert_close(ours, library, atol=1e-5, rtol=0)
    assert (ours - photo).abs().mean() == pytest.approx(0.01, rel=0.05)  # the mean pixel moved by the step


def test_jitter_is_a_shift_before_and_after_the_step(model, photo):
    dx, dy = (int(v) for v in torch.randint(-8, 9, (2,), generator=torch.Generator().manual_seed(3)))
    jittered = make_step(model, photo, "stage3", jitter_px=8, seed=3)
    shifted = torch.roll(photo, (dy, dx), (-2, -1))
    by_hand = torch.roll(make_step(model, shifted, "stage3", jitter_px=0), (-dy, -dx), (-2, -1))
    torch.testing.assert_close(jittered, by_hand, atol=1e-6, rtol=0)
    given = make_step(model, photo, "stage3", shift=(dx, dy))  # the same shift, named
    torch.testing.assert_close(given, jittered, atol=1e-6, rtol=0)


def test_steps_raise_the_layer_norm_and_clipping_keeps_pixels_valid(model, photo):
    def norm(x):
        with torch.no_grad():
            return float(get_activations(model, x, ["stage4"])["stage4"].pow(2).mean())

    clipped, free = photo, photo
    for i in range(4):
        clipped = make_step(model, clipped, "stage4", lr=0.03, jitter_px=4, seed=i)
        free = make_step(model, free, "stage4", lr=0.03, jitter_px=4, clip=False,
                         seed=i)
    assert norm(clipped) > 1.5 * norm(photo)
    assert clipped.min() >= 0 and clipped.max() <= 1
    assert free.min() < 0 or free.max() > 1  # without the clip, values leave the pixel range


def test_bad_arguments_say_what_is_accepted(model, photo):
    with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
        make_step(model, photo[0], "stage4")
    with pytest.raises(ValueError, match="lr must be"):
        make_step(model, photo, "stage4", lr=0)
    with pytest.raises(ValueError, match="stage4"):
        make_step(model, photo, "no_such_layer")
    with pytest.raises(ValueError, match=r"shift must be a pair \(ox, oy\)"):
        make_step(model, photo, "stage4", shift=3)
    with pytest.raises(ValueError, match="shift must be an int"):
        make_step(model, photo, "stage4", shift=(1.5, 0))


def test_pattern_wavelength_is_the_period_of_stripes_and_shorter_for_finer_patterns():
    photo = torch.full((1, 3, 64, 96), 0.5)
    columns = torch.arange(96, dtype=torch.float32)
    for period in (4, 8, 16):
        stripes = photo + 0.1 * torch.sin(2 * torch.pi * columns / period)
        assert pattern_wavelength(stripes, photo) == pytest.approx(period, rel=1e-6)
    rows = torch.arange(64, dtype=torch.float32)[:, None]
    diagonal = photo + 0.1 * torch.sin(2 * torch.pi * (rows / 8 + columns / 8))  # period 8 / sqrt(2)
    assert pattern_wavelength(diagonal, photo) == pytest.approx(8 / 2 ** 0.5, rel=1e-6)
    assert pattern_wavelength(photo, photo) == float("inf")
    with pytest.raises(ValueError, match="same shape"):
        pattern_wavelength(photo, photo[..., :32])
    with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
        pattern_wavelength(photo[0], photo[0])
