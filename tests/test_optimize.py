"""The image-optimisation loop: exact steps on a tiny network, properties on the real model."""

import math

import pytest
import torch

from lecture_utils import load_image
from lecture_utils.activations import get_activations
from lecture_utils.images import center_square
from lecture_utils.models import folded
from lecture_utils.optimize import (
    IMAGE, LOGITS, Objective, channel, channel_image, class_image, class_logit, class_probability,
    feature_match, finish, invert, iterate, iterate_deepdream, jitter, l2, layer_l2, neuron, random_rotation,
    random_scale, relative_error, total_variation, view_probability, view_score,
)
from lecture_utils.parameterize import high_frequency_share
from tests.conftest import hook_count
from tests.helpers import tiny_model


# --- objectives ---------------------------------------------------------------------------------


def test_objectives_compose_with_weights():
    a = Objective("a", lambda acts: acts["x"].sum(), ["x"])
    b = Objective("b", lambda acts: acts["y"].sum(), ["y", "x"])
    combined = 2 * a - 0.5 * b + (-a)
    total, values = combined({"x": torch.tensor(3.0), "y": torch.tensor(10.0)})
    assert float(total) == pytest.approx(2 * 3 - 0.5 * 10 - 3)
    assert values == {"a": 3.0, "b": 10.0}
    assert combined.layers == ("x", "y")
    assert repr(combined) == "2*a -0.5*b -1*a"


@pytest.mark.parametrize("bad", [1, "x", float("nan"), True])
def test_objectives_refuse_non_objectives_and_odd_weights(bad):
    a = Objective("a", lambda acts: acts["x"], ["x"])
    with pytest.raises(TypeError):
        a + bad
    if not isinstance(bad, (int, float)) or isinstance(bad, bool) or math.isnan(bad):
        with pytest.raises(TypeError):
            a * bad


def test_terms_with_one_name_are_kept_apart():
    """Two inversions at one layer: each term keeps its own target (a dict keyed by name kept
    only the second, and counted it with both weights)."""
    first, second = torch.ones(1, 2, 3, 3), torch.full((1, 2, 3, 3), 3.0)
    both = 2 * feature_match("x", first) + 0.5 * feature_match("x", second)
    features = torch.full((1, 2, 3, 3), 2.0)
    total, values = both({"x": features})
    assert values == {"match[x]": pytest.approx(-1.0), "match[x]#2": pytest.approx(-1 / 9)}
    assert float(total) == pytest.approx(2 * -1.0 + 0.5 * -1 / 9)
    assert repr(both) == "2*match[x] +0.5*match[x]"


def test_steps_report_terms_with_one_name_apart():
    model = tiny_model()
    image = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        features = get_activations(model, image, ["conv"])["conv"]
    objective = feature_match("conv", features) + feature_match("conv", 2 * features)
    step = next(iterate(model, objective, size=6, steps=1))
    assert set(step.losses) == {"objective", "match[conv]", "match[conv]#2"}
    assert step.losses["objective"] == pytest.approx(step.losses["match[conv]"] + step.losses["match[conv]#2"])


def test_class_objectives_read_the_logits():
    model = tiny_model()
    image = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        logits = model(image)
    acts = {LOGITS: logits, IMAGE: image}
    assert float(class_logit(model, 2)(acts)[0]) == pytest.approx(float(logits[0, 2]))
    assert float(class_probability(model, "class1")(acts)[0]) == pytest.approx(float(logits.softmax(1)[0, 1]))


def test_class_errors_name_what_is_accepted(model):
    assert class_logit(model, "Lemon").terms[0][1] == "logit[lemon]"
    with pytest.raises(ValueError, match="unknown class 'husky'; similar: Siberian husky"):
        class_logit(model, "husky")
    with pytest.raises(ValueError, match="index 0..999"):
        class_logit(model, 1000)
    with pytest.raises(TypeError, match=r"objective must be an Objective .* view_probability"):
        view_score(model, torch.rand(1, 3, 64, 64), "lemon")
    far = neuron(model, "stage4", 3, y=1000)
    with pytest.raises(ValueError, match=r"neuron position \(y=1000, x=None\) is outside the 4x4 map of layer 'stage4'"):
        far(get_activations(model, torch.rand(1, 3, 64, 64), ["stage4"]))
    with pytest.raises(ValueError, match="y must be an int >= 0"):
        neuron(model, "stage4", 3, y=-1)
    with pytest.raises(ValueError, match=r"channel must be an int from 0 to 79; got 80 \(layer 'stage4' has 80 channels\)"):
        channel(model, "stage4", 80)
    with pytest.raises(ValueError, match="valid layers: stem, stage1"):
        layer_l2(model, "conv5")


def test_neuron_defaults_to_the_centre():
    model = tiny_model()
    acts = {"conv": torch.arange(2 * 5 * 7, dtype=torch.float32).view(1, 2, 5, 7)}
    assert float(neuron(model, "conv", 1)(acts)[0]) == float(acts["conv"][0, 1, 2, 3])
    assert float(neuron(model, "conv", 0, y=0, x=6)(acts)[0]) == float(acts["conv"][0, 0, 0, 6])


def test_total_variation_and_l2_by_hand():
    x = torch.zeros(1, 3, 4, 4)
    x[..., :, 2:] = 1.0  # one vertical edge
    tv = total_variation(beta=1.0)({IMAGE: x})[0]
    # of the 3x3 positions, those at column 1 see a step of 1 to the right
    assert float(tv) == pytest.approx(3 / 9, rel=1e-3)
    assert float(l2()({IMAGE: x})[0]) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="beta"):
        total_variation(beta=0)


# --- the loop -----------------------------------------------------------------------------------


def test_one_ascent_step_is_the_l1_normalised_gradient():
    model = tiny_model()
    start = torch.rand(1, 3, 6, 6)
    objective = class_logit(model, 3) - 0.5 * l2()
    step = next(iter(iterate(model, objective, start, steps=1, lr=0.01)))

    x = start.clone().requires_grad_(True)
    (model(x)[0, 3] - 0.5 * (x - 0.5).pow(2).mean()).backward()
    expected = (start + 0.01 * x.grad / x.grad.abs().mean()).clamp(0, 1)
    torch.testing.assert_close(step.image, expected)
    with torch.no_grad():
        assert step.losses["logit[class3]"] == pytest.approx(float(model(start)[0, 3]))


def test_momentum_moves_along_the_running_sum_of_normalised_gradients():
    model = tiny_model()
    start = torch.rand(1, 3, 6, 6) * 0.2 + 0.4  # mid-range: two small steps never reach a clip
    objective = class_logit(model, 3)
    taken = list(iterate(model, objective, start, steps=2, lr=0.01, momentum=0.9))

    def normalised_gradient(image):
        x = image.clone().requires_grad_(True)
        model(x)[0, 3].backward()
        return x.grad / x.grad.abs().mean()

    g1 = normalised_gradient(start)
    first = start + 0.01 * g1
    second = first + 0.01 * (0.9 * g1 + normalised_gradient(first))
    torch.testing.assert_close(taken[0].image, first)
    torch.testing.assert_close(taken[1].image, second)


def test_adam_and_lbfgs_raise_the_objective():
    model = tiny_model()
    start = torch.full((1, 3, 6, 6), 0.3)
    for optimizer, lr in (("adam", 0.05), ("lbfgs", 0.5)):
        final = finish(iterate(model, class_logit(model, 3) - l2(), start, steps=20, lr=lr, optimizer=optimizer))
        before = float(model(start)[0, 3] - (start - 0.5).pow(2).mean())
        after = float(model(final.image)[0, 3] - (final.image - 0.5).pow(2).mean())
        assert after > before + 0.1, optimizer


def test_runs_are_reproducible_and_the_seed_matters():
    model = tiny_model()
    run = lambda seed: finish(iterate(model, class_logit(model, 1), size=12, steps=5, transforms=[jitter(3)],
                                      seed=seed)).image
    assert torch.equal(run(7), run(7))
    assert not torch.equal(run(7), run(8))


def test_images_stay_in_range_and_the_model_is_untouched():
    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    steps = list(iterate(model, class_logit(model, 0), size=10, steps=8, lr=0.5, blur=1.0, blur_every=2,
                         transforms=[jitter(2), random_scale(), random_rotation(10)]))
    assert [s.step for s in steps] == list(range(1, 9)) and steps[-1].total == 8
    for s in steps:
        assert 0 <= float(s.image.min()) and float(s.image.max()) <= 1
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert hook_count(model) == 0


def test_octaves_grow_to_the_start_size():
    model = tiny_model()
    start = torch.rand(1, 3, 40, 30)
    shapes = [tuple(s.image.shape[-2:]) for s in iterate(model, layer_l2(model, "conv"), start, steps=2,
                                                          octaves=3, octave_scale=2.0)]
    assert shapes == [(10, 8)] * 2 + [(20, 15)] * 2 + [(40, 30)] * 2


def test_stopping_early_keeps_the_last_image_and_leaves_no_hooks(model):
    steps = iterate(model, channel(model, "stage2", 3), size=64, steps=50)
    taken = [next(steps) for _ in range(3)]
    steps.close()
    assert taken[-1].step == 3 and taken[-1].image.shape == (1, 3, 64, 64)
    assert hook_count(model) == hook_count(folded(model)) == 0  # the loop runs the folded copy


def test_errors_in_the_forward_pass_leave_no_hooks():
    model = tiny_model()
    model.net.boom.armed = True
    try:
        with pytest.raises(RuntimeError, match="boom"):
            finish(iterate(model, layer_l2(model, "fc") + layer_l2(model, "conv"), size=8, steps=2))
    finally:
        model.net.boom.armed = False
    assert hook_count(model) == 0


def test_nan_stops_the_run_and_keeps_the_last_good_image():
    model = tiny_model()
    calls = []

    def poisoned(acts):
        calls.append(1)
        value = acts[LOGITS][:, 0].mean()
        return value * float("nan") if len(calls) == 4 else value

    steps = list(iterate(model, Objective("poisoned", poisoned, [LOGITS]), size=8, steps=10))
    assert len(steps) == 4
    assert "NaN or inf" in steps[-1].message and "image of step 3" in steps[-1].message
    assert torch.equal(steps[-1].image, steps[-2].image)
    assert torch.isfinite(steps[-1].image).all()
    with pytest.warns(RuntimeWarning, match="NaN or inf"):
        calls.clear()
        finish(iterate(model, Objective("poisoned", poisoned, [LOGITS]), size=8, steps=10))


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), "steps must be an int >= 1"),
    (dict(lr=-1), "lr must be a positive number"),
    (dict(optimizer="sgd"), "unknown optimizer 'sgd'; accepted: ascent, adam, lbfgs"),
    (dict(optimizer="lbfgs", transforms=[jitter(2)]), "L-BFGS needs the same function"),
    (dict(schedule="step"), "unknown schedule 'step'; accepted: constant, cosine"),
    (dict(momentum=1.0), r"momentum must be a number in \[0, 1\)"),
    (dict(momentum=0.9, optimizer="adam"), "momentum is for optimizer='ascent'"),
    (dict(octaves=1.5), "octaves must be an int"),
    (dict(blur=-1), r"blur \(a sigma in pixels\) must be a number >= 0; got -1"),
    (dict(image=torch.full((1, 3, 8, 8), float("nan"))), "image holds 192 NaN/inf values"),
    (dict(image=torch.full((1, 3, 8, 8), 1.5)), r"image must hold values in \[0, 1\]"),
    (dict(steps=True), "steps must be an int >= 1; got True"),
    (dict(image=torch.rand(3, 8, 8)), r"image must be a tensor \(1, 3, H, W\)"),
    (dict(size=0), "size must be an int >= 1"),
    (dict(size="big"), r"size must be an int or \(height, width\)"),
])
def test_bad_settings_fail_at_the_call_with_a_clear_message(kwargs, message):
    model = tiny_model()
    with pytest.raises(ValueError, match=message):
        iterate(model, class_logit(model, 0), **kwargs)  # not only when the first step is asked


@pytest.mark.parametrize("bad", [True, "1", -1, 1.0])
def test_the_loop_and_view_score_check_the_seed_as_every_seeded_function_does(bad):
    model = tiny_model()
    message = r"seed must be an int >= 0 \(the same random numbers on every run\) or None"
    with pytest.raises(TypeError, match=message):
        iterate(model, class_logit(model, 0), size=8, seed=bad)
    with pytest.raises(TypeError, match=message):
        view_score(model, torch.rand(1, 3, 16, 16), class_logit(model, 0), views=1, seed=bad)


def test_seed_none_draws_from_torchs_global_random_numbers():
    model = tiny_model()

    def first_image(seed):  # the start is noise: it is what the seed decides
        return next(iter(iterate(model, class_logit(model, 0), size=8, steps=1, seed=seed))).image

    torch.manual_seed(5)
    a, b = first_image(None), first_image(None)
    torch.manual_seed(5)
    assert torch.equal(first_image(None), a) and not torch.equal(a, b)
    assert torch.equal(first_image(0), first_image(0)) and not torch.equal(first_image(0), first_image(1))


def test_objective_type_and_layers_are_checked_at_the_call():
    model = tiny_model()
    with pytest.raises(TypeError, match="objective must be an Objective"):
        iterate(model, lambda acts: 0)
    with pytest.raises(ValueError, match="valid layers: conv, relu"):
        iterate(model, Objective("x", lambda a: a["nope"].mean(), ["nope"]))
    with pytest.raises(ValueError, match="jitter pixels"):
        jitter(-1)


# --- the lecture's claims on the bundled model ------------------------------------------------------

LECTURE_CLASSES = ["dumbbell", "cup", "dalmatian", "bell pepper", "lemon", "Siberian husky",
                   "washer", "computer keyboard", "kit fox", "goose", "ostrich", "limousine"]


def test_the_lecture_class_images_hold_up_from_any_view_and_at_half_resolution(model):
    # the recipe with only steps and size (128 steps, more than its default 96 that notebook 04
    # uses and prints its own numbers for), four classes per batch as there
    images = torch.cat([class_image(model, LECTURE_CLASSES[k:k + 4], steps=128, size=224)
                        for k in range(0, 12, 4)])
    half = torch.nn.functional.interpolate(images, scale_factor=0.5, mode="bilinear", antialias=True)
    blurred = torch.nn.functional.interpolate(half, size=(224, 224), mode="bilinear")
    with torch.no_grad():
        after_rescale = model(blurred).softmax(dim=1)
    scores = {target: (view_probability(model, images[k:k + 1], target),
                       float(after_rescale[k, model.categories.index(target)]))
              for k, target in enumerate(LECTURE_CLASSES)}
    # Measured here: the other 11 reach 0.99 over views and 0.999 at half resolution, except
    # 0.97-0.98 for "dalmatian" and "washer" in some runs. "Siberian husky" does not reach 0.9
    # over views: 0.68-0.88 for four images of it at these settings (0.92 at 192 steps, 0.71-0.83 with
    # lr 0.05), the rest going to its look-alikes "Eskimo dog" and "malamute" (notebook 04).
    assert sum(min(pair) >= 0.9 for pair in scores.values()) >= 11, scores
    assert all(min(pair) >= 0.6 for pair in scores.values()), scores


def test_view_probability_is_low_for_an_image_of_something_else(model):
    cat = center_square(load_image("cat"), 224)
    assert view_probability(model, cat, "dumbbell") < 0.01


PEER_CHANNELS = [("stage2", 5), ("stage2", 12), ("stage4", 20), ("stage4", 60), ("stage6", 77), ("stage6", 150)]


def test_channel_images_match_lucent_from_random_views_with_less_high_frequency_noise(model):
    # Lucent's render_vis with its defaults against our recipe with only steps and size, on the
    # same model, channels, steps and view size; scored on random views of the finished images.
    pytest.importorskip("lucent")
    from tests.lucent_peer import lucent_channel_image

    wins, ours_hf, peer_hf, scores = 0, [], [], []
    for layer, index in PEER_CHANNELS:
        ours = channel_image(model, layer, index, steps=128, size=224)
        peer = lucent_channel_image(model, layer, index, steps=128, size=224)
        objective = channel(model, layer, index)
        score = (view_score(model, ours, objective), view_score(model, peer, objective))
        scores.append((layer, index, *score))
        wins += score[0] >= score[1]
        if layer == "stage6":
            ours_hf.append(float(high_frequency_share(ours)[0]))
            peer_hf.append(float(high_frequency_share(peer)[0]))
    assert wins >= 5, scores
    # Measured here: ours higher on 5 of 6 (stage6 #77: 31.8 against 34.8), and 9.1% of our deep
    # images' power lies above half the Nyquist frequency against 9.7% of Lucent's (pixel space:
    # far more).
    assert sum(ours_hf) <= sum(peer_hf), (ours_hf, peer_hf)
    assert hook_count(model) == 0


def test_deepdream_raises_the_layer_norm_at_every_octave(model):
    photo = load_image("palace", 192)
    objective = layer_l2(model, "stage4")
    by_octave = {}
    for step in iterate_deepdream(model, photo, "stage4", steps=4, octaves=3, jitter_px=0):
        by_octave.setdefault(step.octave, []).append(step)
    assert sorted(by_octave) == [0, 1, 2]
    for octave, steps in by_octave.items():
        with torch.no_grad():
            end = float(objective({"stage4": get_activations(model, steps[-1].image, ["stage4"])["stage4"]})[0])
        assert end > 1.2 * steps[0].losses["l2[stage4]"], octave


def test_inversion_matches_the_features(model):
    # Three of notebook 07's four layers with its settings (160 px, TV weight 0.5, the default
    # 1300 steps), shallowest and the two hardest. Measured at 160 px on an AMD EPYC: from about 1
    # (noise) to 0.021 at stem, 0.087 at stage4 and 0.082 at head. At 128 px head ended at 0.09
    # on an Intel Xeon but 0.114 on the AMD EPYC: a long descent carries the CPUs' different float
    # rounding into the result, hence the margins.
    photo = center_square(load_image("espresso"), 160)
    for layer, bound in (("stem", 0.05), ("stage4", 0.12), ("head", 0.15)):
        end = relative_error(model, invert(model, photo, layer), layer, photo)
        assert end <= bound, (layer, end)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.3])
def test_the_blur_is_torchvisions_gaussian_blur(sigma):
    from torchvision.transforms.functional import gaussian_blur as torchvision_blur

    from lecture_utils.images import gaussian_blur

    image = torch.rand(2, 3, 40, 33, generator=torch.Generator().manual_seed(0))
    taps = 2 * math.ceil(2 * sigma) + 1
    torch.testing.assert_close(gaussian_blur(image, sigma), torchvision_blur(image, [taps, taps], [sigma, sigma]))
