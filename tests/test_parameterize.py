"""Image parameterisations: exact round trips, valid images, and their use in the one loop."""

import math

import numpy as np
import pytest
import torch

from lecture_utils import images
from lecture_utils.__main__ import main
from lecture_utils.activations import get_activations
from lecture_utils.optimize import (
    Objective, channel, class_image, class_logit, finish, gram_similarity, iterate, jitter, l2, pad,
    random_resolution, robust_views, view_score,
)
from lecture_utils.parameterize import (
    COLOR_SQRT, PARAMETERIZATIONS, SPECTRUM_FILE, Maco, high_frequency_share, maco_spectrum, parameterization,
    photo_spectrum, saturated_share,
)
from tests.conftest import hook_count
from tests.helpers import tiny_model


@pytest.mark.parametrize("name", [n for n in PARAMETERIZATIONS if n != "maco"])  # MACO keeps only the phase
@pytest.mark.parametrize("size", [(16, 16), (15, 22)])  # odd widths keep their last column
def test_encode_then_decode_gives_the_image_back(name, size):
    image = torch.rand(2, 3, *size).clamp(0.01, 0.99)
    p = parameterization(name, *size)
    assert torch.allclose(p.decode(p.encode(image)), image, atol=1e-4)


@pytest.mark.parametrize("name", ["fourier", "fourier_decorrelated"])
def test_fourier_images_are_valid_for_any_parameters(name):
    p = parameterization(name, 12, 12)
    wild = 1e3 * torch.randn(*p.encode(torch.full((1, 3, 12, 12), 0.5)).shape)
    image = p.decode(wild)
    assert image.shape == (1, 3, 12, 12) and image.min() >= 0 and image.max() <= 1


def test_the_fourier_scale_falls_with_frequency_as_a_power():
    p = parameterization("fourier", 32, 32)
    # frequency 1/32 (the lowest) and the cap at DC share a scale; 4/32 has (1/4)**1.3 of it
    assert p.scale[0, 0] == p.scale[0, 1] == p.scale[1, 0]
    assert float(p.scale[0, 4] / p.scale[0, 1]) == pytest.approx(0.25 ** 1.3)


def test_decorrelated_colour_is_the_normalised_square_root_of_the_covariance():
    assert float(COLOR_SQRT.norm(dim=0).max()) == pytest.approx(1.0)
    # the first column is the brightness direction: all three channels move together
    assert (COLOR_SQRT[:, 0] > 0).all()


def test_unknown_parameterizations_are_named():
    with pytest.raises(ValueError, match="pixels, fourier, fourier_decorrelated, maco; got 'fft'"):
        parameterization("fft", 8, 8)
    with pytest.raises(ValueError, match="parameterization"):
        iterate(tiny_model(), channel(tiny_model(), "relu", 0), size=8, parameterization="fft")


# MACO has its own test below, on the bundled model: this network's channel is a colour, which a
# fixed magnitude spectrum bounds (it rises by 0.03 here)
@pytest.mark.parametrize("name", [n for n in PARAMETERIZATIONS if n != "maco"])
def test_every_parameterization_raises_the_objective_within_the_valid_range(name):
    model = tiny_model()
    steps = list(iterate(model, channel(model, "relu", 1), size=16, steps=30, optimizer="adam",
                         transforms=[jitter(2)], parameterization=name, blur=0.5, octaves=2))
    assert all(0 <= s.image.min() and s.image.max() <= 1 for s in steps)
    assert steps[-1].image.shape == (1, 3, 16, 16)
    assert steps[-1].losses["relu[1]"] > steps[0].losses["relu[1]"] + 0.1
    assert hook_count(model) == 0


@pytest.mark.parametrize("name", PARAMETERIZATIONS)
def test_runs_are_deterministic_for_a_seed(name):
    model = tiny_model()
    objective = channel(model, "relu", 1)

    def run(seed):
        return finish(iterate(model, objective, size=16, steps=5, optimizer="adam", seed=seed,
                              transforms=robust_views(), parameterization=name)).image

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))


def test_a_start_image_is_kept_by_a_fourier_run_with_no_steps_taken():
    model = tiny_model()
    photo = torch.rand(1, 3, 16, 16).clamp(0.05, 0.95)
    zero = Objective("zero", lambda a: a["image"].sum() * 0, ["image"])
    step = finish(iterate(model, zero, photo, steps=1, optimizer="adam", parameterization="fourier_decorrelated"))
    assert torch.allclose(step.image, photo, atol=1e-4)  # a zero gradient leaves the photo as it was


def test_gram_similarity_is_one_for_copies_and_lower_for_different_images():
    torch.manual_seed(0)
    same = gram_similarity("x")({"x": torch.rand(1, 4, 5, 5).repeat(3, 1, 1, 1)})[0]
    different = gram_similarity("x")({"x": torch.randn(3, 4, 5, 5)})[0]
    assert float(same) == pytest.approx(1.0, abs=1e-5)
    assert float(different) < 0.9
    with pytest.raises(ValueError, match="batch of at least 2"):
        gram_similarity("x")({"x": torch.rand(1, 4, 5, 5)})


def test_a_diversity_penalty_pushes_a_batch_apart():
    model = tiny_model()
    objective = channel(model, "relu", 1)

    def similarity(weight):
        run = iterate(model, objective - weight * gram_similarity("relu"), size=12, steps=40, batch_size=3,
                      optimizer="adam", parameterization="fourier_decorrelated")
        images = finish(run).image
        assert images.shape == (3, 3, 12, 12)
        with torch.no_grad():
            return float(gram_similarity("relu")(get_activations(model, images, ["relu"]))[0])

    assert similarity(5.0) < similarity(0.0) - 0.05


def test_pad_surrounds_with_grey_and_robust_views_is_lucids_set():
    image = torch.zeros(1, 3, 4, 4)
    padded = pad(2)(image, torch.Generator())
    assert padded.shape == (1, 3, 8, 8) and float(padded[0, 0, 0, 0]) == 0.5
    assert len(robust_views()) == 5 and len(robust_views(pad_px=0, fine_px=0)) == 3


def test_random_resolution_keeps_the_size_and_removes_only_fine_detail():
    coarse = torch.linspace(0, 1, 32).expand(1, 3, 32, 32).contiguous()  # a smooth ramp
    fine = torch.zeros(1, 3, 32, 32)
    fine[..., ::2, :] = 1.0  # stripes one pixel wide: the finest detail there is
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        assert random_resolution(0.5)(coarse, generator).shape == coarse.shape
        inside = (..., slice(4, -4), slice(4, -4))  # off the edges; the rounded size shifts it < 2 px
        assert torch.allclose(random_resolution(0.5)(coarse, generator)[inside], coarse[inside], atol=0.06)
        assert float(random_resolution(0.5)(fine, generator).std()) < 0.5 * float(fine.std())
    assert torch.allclose(random_resolution(1.0)(fine, generator), fine)  # factor 1: the image itself
    with pytest.raises(ValueError, match="low"):
        random_resolution(0)


def test_the_class_recipe_is_the_logit_less_an_l2_penalty_through_lucids_views_and_random_resolution():
    model = tiny_model()
    recipe = class_image(model, 1, steps=9, size=16)  # past the blur of step 8
    spelled_out = finish(iterate(model, class_logit(model, 1) - 20.0 * l2(), size=16, steps=9, lr=0.05,
                                 optimizer="adam", transforms=robust_views() + [random_resolution(0.5)],
                                 parameterization="fourier_decorrelated", blur=0.5, blur_every=8)).image
    assert torch.equal(recipe, spelled_out)
    plain = class_image(model, 1, steps=9, size=16, l2_weight=0, blur=0)
    assert not torch.equal(recipe, plain)
    with pytest.raises(ValueError, match="l2_weight"):
        class_image(model, 1, steps=1, size=16, l2_weight=-1)


def test_view_score_averages_the_objective_over_views():
    model = tiny_model()
    grey = torch.full((1, 3, 16, 16), 0.5)
    objective = channel(model, "relu", 1)  # constant over a uniform image, whatever the view
    with torch.no_grad():
        expected = float(objective(get_activations(model, grey, ["relu"]))[0])
    assert view_score(model, grey, objective, views=4) == pytest.approx(expected, rel=1e-5)


def test_high_frequency_share_tells_noise_from_smooth_images():
    generator = torch.Generator().manual_seed(0)
    noise = torch.rand(1, 3, 64, 64, generator=generator)
    wave = 0.5 + 0.4 * torch.cos(2 * math.pi * 3 * torch.arange(64) / 64).view(1, 1, 1, 64).expand(1, 3, 64, 64)
    # white noise spreads its power evenly: the share is the area outside radius 0.25
    assert float(high_frequency_share(noise)[0]) == pytest.approx(1 - math.pi / 16, abs=0.03)
    assert float(high_frequency_share(wave)[0]) < 1e-6  # 3 cycles in 64 px: 0.05 cycles per pixel


def test_a_list_of_targets_gives_each_image_of_a_batch_its_own():
    model = tiny_model()
    logits = torch.tensor([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])
    total, _ = class_logit(model, ["class3", 0])({"logits": logits})
    assert float(total) == pytest.approx((4.0 + 10.0) / 2)
    acts = torch.arange(2 * 2 * 3 * 3, dtype=torch.float32).view(2, 2, 3, 3)
    total, _ = channel(model, "relu", [1, 0])({"relu": acts})
    assert float(total) == pytest.approx((float(acts[0, 1].mean()) + float(acts[1, 0].mean())) / 2)
    with pytest.raises(ValueError, match="2 classes need a batch of 2 images; got 1"):
        class_logit(model, ["class3", 0])({"logits": logits[:1]})
    images = class_image(model, ["class1", "class2", "class3"], steps=2, size=8)
    assert images.shape == (3, 3, 8, 8)
    with pytest.raises(ValueError, match="channel must be an int from 0 to 1"):
        channel(model, "relu", [0, 5])


def test_saturated_share_counts_values_at_either_end():
    image = torch.full((2, 3, 4, 5), 0.5)
    image[0, 0, 0, :] = 0.0        # 5 of 60 values black in one channel
    image[0, 1, 1, :2] = 1.0       # 2 white
    image[0, 2, 2, 0] = 0.97       # near white: only counted with a margin of 0.05
    assert saturated_share(image).tolist() == pytest.approx([7 / 60, 0.0])
    assert saturated_share(image, margin=0.05).tolist() == pytest.approx([8 / 60, 0.0])
    with pytest.raises(ValueError, match="margin"):
        saturated_share(image, margin=0.5)


# ---------------------------------------------------------------- MACO


def _decorrelated_spectrum(image):
    """|rfft2| of the decoder's input recovered from its output: logit, then colours decorrelated."""
    x = torch.einsum("ij,njhw->nihw", torch.linalg.inv(COLOR_SQRT.double()), torch.logit(image.double()))
    return torch.fft.rfft2(x, norm="ortho").abs()


def test_maco_optimises_only_the_phase_and_keeps_the_photos_magnitude():
    model = tiny_model()
    maco = Maco(24, 32)
    magnitude = maco.magnitude.clone()
    phase = maco.noise(2, torch.Generator().manual_seed(0), "cpu").requires_grad_(True)
    assert phase.shape == (2, 3, 24, 17) and not phase.is_complex()
    optimizer = torch.optim.Adam([phase], lr=0.3)
    objective = channel(model, "relu", 1)
    for _ in range(5):
        optimizer.zero_grad()
        (-objective(get_activations(model, maco.decode(phase), ["relu"]))[0]).backward()
        optimizer.step()
    assert torch.equal(maco.magnitude, magnitude)
    # Each decoded image's spectrum is the template times one number (1 / the standardisation's std),
    # except in the first and last columns: there a real image ties frequency (k, 0) to (-k, 0).
    with torch.no_grad():
        measured = _decorrelated_spectrum(maco.decode(phase))[..., 1:-1]
    ratio = measured / magnitude[..., 1:-1].double()
    for one in ratio:
        assert torch.allclose(one, one.median().expand_as(one), rtol=1e-3)


def test_the_magnitude_is_the_shipped_spectrum_read_at_the_same_frequencies():
    shipped = torch.from_numpy(np.load(images.DATA_DIR / SPECTRUM_FILE))
    side = shipped.shape[-2]
    assert shipped.dtype == torch.float32 and shipped.shape == (3, side, side // 2 + 1)
    assert torch.equal(Maco(side, side).magnitude, shipped)
    # smaller: the same frequencies in cycles per image, the lowest of the file's (rows: 0..31, -32..-1)
    small = maco_spectrum(64, 48)
    assert small.shape == (3, 64, 25)
    assert torch.allclose(small, torch.cat([shipped[:, :32, :25], shipped[:, -32:, :25]], dim=1), rtol=1e-4)
    # larger: the same cycles per pixel, so bin 2k of 448 px is bin k of the file; the mean colour doubles
    large = maco_spectrum(2 * side, 2 * side)
    assert torch.allclose(large[:, 2:side:2, :side:2], shipped[:, 1:side // 2, :side // 2], rtol=1e-4)
    assert torch.allclose(large[:, 0, 0], 2 * shipped[:, 0, 0])


def test_maco_images_are_valid_for_any_phase():
    maco = parameterization("maco", 40, 48)
    for phase in (maco.noise(2, torch.Generator().manual_seed(1), "cpu"), 1e3 * torch.randn(2, 3, 40, 25)):
        image = maco.decode(phase)
        assert image.shape == (2, 3, 40, 48) and image.min() > 0 and image.max() < 1


def test_maco_encode_gives_back_the_phase_and_a_mean_colour_the_optimiser_can_still_move():
    maco = Maco(16, 20)
    phase = maco.noise(2, torch.Generator().manual_seed(2), "cpu")
    again = maco.encode(maco.decode(phase))
    turn = torch.remainder(again - phase + math.pi, 2 * math.pi) - math.pi
    assert float(turn[..., 1:-1].abs().max()) < 1e-3  # the first and last columns: see the test above
    # frequency 0: magnitude * cos(phase), the same up to a shift common to the three channels (which
    # the decoder's standardisation removes), and never at 0 or pi, where its slope would vanish
    shift = maco.magnitude[:, 0, 0] * (torch.cos(again[..., 0, 0]) - torch.cos(phase[..., 0, 0]))
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-2 * float(maco.magnitude[:, 0, 0].max()))
    assert float(torch.sin(again[..., 0, 0]).abs().min()) > 1e-3


def test_the_maco_transparency_is_the_sum_of_the_objective_gradients_on_the_image():
    model = tiny_model()
    objective = class_logit(model, 1) - 0.5 * l2()
    photo = torch.rand(1, 3, 16, 16).clamp(0.05, 0.95)
    steps = list(iterate(model, objective, photo, steps=3, lr=0.3, optimizer="adam", parameterization="maco",
                         transforms=()))
    maco = Maco(16, 16)
    seen = [maco.decode(maco.encode(photo))] + [s.image for s in steps[:-1]]  # the image each step evaluated
    expected = torch.zeros(1, 3, 16, 16)
    for image, step in zip(seen, steps):
        image = image.clone().requires_grad_(True)
        total, _ = objective({"logits": model(image), "image": image})
        expected += torch.autograd.grad(total, image)[0].abs()
        assert step.transparency.shape == (1, 3, 16, 16)
        assert torch.allclose(step.transparency, expected, rtol=1e-4, atol=1e-7)
    assert float(steps[-1].transparency.sum()) > 0
    plain = finish(iterate(model, objective, photo, steps=1, parameterization="fourier_decorrelated"))
    assert plain.transparency is None


def test_a_few_maco_steps_raise_a_class_logit_of_the_bundled_model(model):
    steps = list(iterate(model, class_logit(model, "lemon"), size=64, steps=8, lr=0.2, optimizer="adam",
                         parameterization="maco", transforms=[jitter(2)]))
    logits = [s.losses["objective"] for s in steps]
    assert logits[-1] > logits[0] + 1.0
    assert steps[-1].transparency.shape == (1, 3, 64, 64)


def test_a_missing_spectrum_names_the_command_that_makes_it(monkeypatch, tmp_path):
    monkeypatch.setattr(images, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m lecture_utils spectrum"):
        parameterization("maco", 8, 8)
    with pytest.raises(FileNotFoundError, match="maco_spectrum.npy"):
        iterate(tiny_model(), channel(tiny_model(), "relu", 0), size=8, parameterization="maco")


def test_photo_spectrum_keeps_a_flat_images_colour_at_zero_frequency():
    grey_blue = torch.tensor([0.4, 0.5, 0.7]).view(1, 3, 1, 1).expand(1, 3, 8, 8)
    spectrum = photo_spectrum(grey_blue)
    colour = torch.linalg.inv(COLOR_SQRT) @ (torch.tensor([0.4, 0.5, 0.7]) - 0.5)
    assert spectrum.shape == (1, 3, 8, 5)
    assert torch.allclose(spectrum[0, :, 0, 0], 8 * colour.abs(), rtol=1e-5)  # mean * sqrt(64), "ortho"
    assert float(spectrum[0].flatten(1)[:, 1:].abs().max()) < 1e-5  # nothing at any other frequency


def test_the_spectrum_command_averages_the_photos_it_is_given(monkeypatch, tmp_path, capsys):
    from lecture_utils import atlas

    monkeypatch.setattr(atlas, "photos", lambda: ["data/cat.jpg", "data/rocket.jpg"])
    out = tmp_path / "spectrum.npy"
    assert main(["spectrum", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    photos = torch.cat([images.center_square(images.load_image(name, size=224), 224) for name in ("cat", "rocket")])
    saved = np.load(out)
    assert saved.dtype == np.float32 and saved.shape == (3, 224, 113)
    assert np.allclose(saved, photo_spectrum(photos).mean(dim=0).numpy(), rtol=1e-5, atol=1e-6)
