import re
from pathlib import Path

import numpy as np
import pytest
import torch
from captum.attr import Deconvolution, GuidedBackprop, IntegratedGradients, Saliency

from lecture_utils import attribution as A
from lecture_utils import embedding as E
from lecture_utils import load_image, load_model, predict
from lecture_utils.models import folded
from tests.conftest import hook_count
from tests.helpers import tiny_model
from tests.test_models import plant_checkpoint


def corr(a, b):
    return float(np.corrcoef(a.detach().flatten().numpy(), b.detach().flatten().numpy())[0, 1])


@pytest.fixture(scope="module")
def alexnet(tmp_path_factory):
    """AlexNet with random weights (a network of plain ReLUs), loaded through a planted cache."""
    cache = tmp_path_factory.mktemp("torch")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(cache))
        torch.manual_seed(0)
        plant_checkpoint("alexnet", cache / "hub" / "checkpoints")
        return load_model("alexnet", device="cpu")


@pytest.fixture(scope="module")
def cat():
    return load_image("cat", size=(128, 160))


def test_saliency_equals_captum(model, cat):
    ours = A.saliency(model, cat, 285)
    theirs = Saliency(model).attribute(cat, target=285, abs=True).amax(dim=1)
    assert ours.shape == (1, 128, 160)
    assert corr(ours, theirs) > 0.999


@pytest.mark.parametrize("ours, theirs", [(A.guided_backprop, GuidedBackprop), (A.deconvnet, Deconvolution)])
def test_relu_rules_equal_captum_on_alexnet(alexnet, ours, theirs):
    image = torch.rand(1, 3, 224, 224)
    mine = ours(alexnet, image, 3)
    reference = theirs(alexnet).attribute(image, target=3)
    assert mine.shape == (1, 3, 224, 224)
    assert corr(mine, reference) > 0.99
    assert hook_count(alexnet) == 0


def test_integrated_gradients_equal_captum(model, cat):
    ours = A.integrated_gradients(model, cat, 967, steps=16)
    theirs = IntegratedGradients(model).attribute(cat, target=967, n_steps=16, method="riemann_middle")
    assert corr(ours, theirs) > 0.99


NOTEBOOK_03 = Path(__file__).resolve().parent.parent / "notebooks" / "03_what_the_network_looks_at.py"


def test_integrated_gradients_complete_at_the_notebooks_steps(model):
    """Notebook 03's claim: on its cat (224 px high, its top class), at its number of steps
    (the `STEPS = ...` line of its source), the attributions sum to within 15% of
    score(photo) - score(black). This network's path integral converges slowly: at 32 steps
    the sum is 1.3 against a gap of 7.8."""
    source = NOTEBOOK_03.read_text()
    steps = re.findall(r"^STEPS = (\d+)$", source, flags=re.M)
    assert len(steps) == 1 and "A.integrated_gradients(model, cat, target, steps=STEPS)" in source
    cat = load_image("cat", size=224)
    target = predict(model, cat, k=1)[0][0]
    attributions = A.integrated_gradients(model, cat, target, steps=int(steps[0]), batch_size=8)
    with torch.no_grad():
        gap = float(model(cat)[0, target] - model(torch.zeros_like(cat))[0, target])
    assert abs(float(attributions.sum()) - gap) < 0.15 * abs(gap), (float(attributions.sum()), gap)


def test_path_scores_run_from_the_baseline_to_the_image(model, cat):
    scores = A.path_scores(model, cat, 285, [0.0, 0.5, 1.0], batch_size=2)
    with torch.no_grad():
        expected = model(torch.cat([torch.zeros_like(cat), 0.5 * cat, cat]))[:, 285]
    assert scores.shape == (1, 3)
    assert torch.allclose(scores[0], expected, rtol=1e-3, atol=1e-3)
    grey = A.path_scores(model, cat, 285, [0.0], baseline=0.5)
    with torch.no_grad():
        assert torch.allclose(grey[0, 0], model(torch.full_like(cat, 0.5))[0, 285], rtol=1e-3, atol=1e-3)
    for alphas in ([], [1.5], [-0.1]):
        with pytest.raises(ValueError, match="alphas must be"):
            A.path_scores(model, cat, 285, alphas)


def test_grad_cam_equals_pytorch_grad_cam(model, cat):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    ours = A.grad_cam(model, cat, 285, layer="head")[0]
    with GradCAM(model=model, target_layers=[model.get_submodule(model.layers["head"])]) as reference:
        # our model's weights are frozen: the input must ask for gradients to build the graph
        theirs = reference(input_tensor=cat.clone().requires_grad_(True), targets=[ClassifierOutputTarget(285)])[0]
    assert ours.shape == theirs.shape == (128, 160)
    assert corr(ours, torch.from_numpy(theirs)) > 0.97
    assert hook_count(model) == hook_count(folded(model)) == 0


def test_cam_equals_grad_cam_for_pooling_classifiers(model, cat):
    """With global average pooling and one linear layer, Grad-CAM's weights are CAM's / (h w)."""
    assert corr(A.cam(model, cat, 285), A.grad_cam(model, cat, 285)) > 0.999


def test_cam_falls_back_to_grad_cam_with_a_warning(alexnet):
    image = torch.rand(1, 3, 224, 224)
    with pytest.warns(UserWarning, match="Grad-CAM at 'conv5'"):
        result = A.cam(alexnet, image, 1)
    assert torch.allclose(result, A.grad_cam(alexnet, image, 1))


def test_grad_cam_puts_each_class_on_its_own_object(model):
    """cat_and_espresso: the cat fills the left part, the espresso the right."""
    image = load_image("cat_and_espresso", size=224)
    split = round(image.shape[3] * 451 / (451 + 450))  # where the two photos meet
    for method in (A.grad_cam, A.cam):
        for target, side in [(285, "left"), (281, "left"), (967, "right"), (968, "right")]:
            heat = method(model, image, target)[0]
            left = float(heat[:, :split].sum() / heat.sum())
            share = left if side == "left" else 1 - left
            assert share > 0.8, (method.__name__, model.categories[target], share)


def test_occlusion_finds_the_object(model):
    image = load_image("cat_and_espresso", size=(112, 224))
    heat = A.occlusion(model, image, 967, window=28, stride=14)
    assert heat.shape == (1, 112, 224)
    assert float(heat[0, :, 112:].mean()) > float(heat[0, :, :112].mean())


def test_occlusion_exact_on_a_tiny_network():
    """Covering the only bright pixel with black removes all evidence; elsewhere nothing changes."""
    model = tiny_model()
    image = torch.zeros(1, 3, 4, 4)
    image[0, 0, 0, 0] = 1.0
    heat = A.occlusion(model, image, 3, window=2, stride=2, baseline=0.0, batch_size=3)
    with torch.no_grad():
        p = model(image).softmax(1)[0, 3]
        p0 = model(torch.zeros_like(image)).softmax(1)[0, 3]
    expected = torch.zeros(4, 4)
    expected[:2, :2] = p - p0
    assert torch.allclose(heat[0], expected, atol=1e-6)


def test_smoothgrad_is_reproducible_and_smoother_than_saliency(model, cat):
    a = A.smoothgrad(model, cat, 285, samples=6, seed=1)
    b = A.smoothgrad(model, cat, 285, samples=6, seed=1)
    assert torch.equal(a, b)
    plain = A.saliency(model, cat, 285)

    def roughness(m):
        m = m / m.mean()
        return float((m[:, 1:] - m[:, :-1]).abs().mean())

    assert roughness(a) < roughness(plain)


def test_batches_give_the_same_result(model, cat):
    two = torch.cat([cat, cat.flip(3)])
    both = A.integrated_gradients(model, two, [285, 281], steps=4, batch_size=3)
    one = A.integrated_gradients(model, cat.flip(3), 281, steps=4, batch_size=4)
    assert torch.allclose(both[1:], one, atol=1e-5)


@pytest.mark.parametrize("name", list(A.METHODS))
def test_bad_targets_raise_and_leave_no_hooks(model, cat, name):
    method = A.METHODS[name]
    for target in (1000, -1, 2.5, [1, 2, 3]):
        with pytest.raises(ValueError, match="target"):
            method(model, cat, target)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        method(model, cat[0], 1)
    assert hook_count(model) == hook_count(folded(model)) == 0  # the methods run the folded copy


@pytest.mark.parametrize("name", list(A.METHODS))
def test_non_finite_images_raise_naming_them(model, cat, name):
    image = cat.clone()
    image[0, 0, :3, 0] = torch.tensor([float("nan"), float("inf"), float("-inf")])
    with pytest.raises(ValueError, match="image holds 3 NaN/inf values"):
        A.METHODS[name](model, image, 1)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        A.METHODS[name](model, cat * 2, 1)
    assert hook_count(model) == hook_count(folded(model)) == 0


def test_a_class_can_be_named(model, cat):
    by_index = A.grad_cam(model, cat, 281)
    assert model.categories[281] == "tabby"  # torchvision's name of ImageNet's "tabby, tabby cat"
    assert torch.equal(A.grad_cam(model, cat, "tabby"), by_index)
    assert torch.equal(A.grad_cam(model, cat, "Tabby"), by_index)  # case does not matter when unambiguous
    assert torch.equal(A.grad_cam(model, cat, torch.tensor(281)), by_index)
    two = torch.cat([cat, cat])
    assert torch.equal(A.saliency(model, two, ["Egyptian cat", 281]), A.saliency(model, two, [285, 281]))
    with pytest.raises(ValueError, match="unknown class 'tabby cat'; similar: tabby, tiger cat"):
        A.grad_cam(model, cat, "tabby cat")


def test_attribute_passes_each_method_only_its_settings(model, cat):
    settings = dict(layer="stage4", window=112, stride=112)
    assert torch.equal(A.attribute(model, "grad_cam", cat, 281, **settings),
                       A.grad_cam(model, cat, 281, layer="stage4"))
    assert torch.equal(A.attribute(model, "occlusion", cat, 281, **settings),
                       A.occlusion(model, cat, 281, window=112, stride=112))
    assert torch.equal(A.attribute(model, "saliency", cat, "tabby", **settings), A.saliency(model, cat, 281))
    with pytest.raises(ValueError, match="unknown attribution method 'gradcam'; accepted: gradient, saliency"):
        A.attribute(model, "gradcam", cat, 281)
    with pytest.raises(ValueError, match="no attribution method takes windw"):
        A.attribute(model, "occlusion", cat, 281, windw=48)
    # what a cache of results keys on: the settings the method takes, no more
    assert A.settings_of("grad_cam", settings) == {"layer": "stage4"}
    assert A.settings_of("occlusion", settings) == {"window": 112, "stride": 112}
    assert A.settings_of("saliency", settings) == {}
    with pytest.raises(ValueError, match="no attribution method takes windw"):
        A.settings_of("saliency", {"windw": 48})


def test_hooks_are_removed_when_the_backward_pass_fails(model, cat, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("backward failed")

    monkeypatch.setattr(torch.autograd, "grad", broken)
    for method in (A.guided_backprop, A.deconvnet, A.grad_cam):
        with pytest.raises(RuntimeError, match="backward failed"):
            method(model, cat, 1)
        assert hook_count(model) == hook_count(folded(model)) == 0


def test_occlusion_validates_window_and_stride(model, cat):
    for kwargs in ({"window": 0}, {"window": 500}, {"stride": 0}, {"window": 8.5}):
        with pytest.raises(ValueError, match="must be an int"):
            A.occlusion(model, cat, 1, **kwargs)


def test_baselines_outside_pixel_space_or_of_the_wrong_shape_are_named(model, cat):
    with pytest.raises(ValueError, match=r"baseline must be a number in \[0, 1\]; got 2.0"):
        A.occlusion(model, cat, 1, baseline=2.0)
    with pytest.raises(ValueError, match=r"baseline must be a number or a tensor that broadcasts to the image's "
                                         r"shape \(1, 3, 128, 160\); got shape \(3, 5, 5\)"):
        A.integrated_gradients(model, cat, 1, baseline=torch.zeros(3, 5, 5))
    with pytest.raises(ValueError, match=r"baseline must hold values in \[0, 1\]"):
        A.path_scores(model, cat, 1, [0.5], baseline=-1.0)
    with pytest.raises(TypeError, match=r"seed must be an int >= 0 .* got 0.5"):
        A.randomized_copies(model, 0.5)  # at the call, before any copy is asked for


def test_randomisation_changes_gradients_but_not_the_model(model, cat):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    steps = A.randomized_copies(model, seed=0)
    names = []
    for name, randomized in steps:
        names.append(name)
        if name == "stage4":
            changed = A.saliency(randomized, cat, 285)
    assert names == ["classifier", *list(model.layers)[::-1]]
    assert corr(changed, A.saliency(model, cat, 285)) < 0.5
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_randomisation_re_draws_exactly_the_layers_above_each_cut():
    """On a network whose named layers include parameter-free ones (ReLU, like AlexNet's)."""
    model = tiny_model()  # conv (params) -> relu -> boom -> pool -> fc (params)
    original = {k: v.clone() for k, v in model.named_parameters()}
    changed = {}
    for name, randomized in A.randomized_copies(model, seed=0):
        changed[name] = sorted(k for k, v in randomized.named_parameters() if not torch.equal(v, original[k]))
    assert changed["classifier"] == []  # nothing comes after fc, the deepest named layer
    assert changed["fc"] == ["net.fc.bias", "net.fc.weight"]
    assert changed["boom"] == changed["relu"] == changed["fc"]  # parameter-free layers add nothing
    assert changed["conv"] == ["net.conv.bias", "net.conv.weight", "net.fc.bias", "net.fc.weight"]


def test_randomisation_steps_on_alexnet_each_add_something(alexnet):
    counts = []
    for name, randomized in A.randomized_copies(alexnet, seed=0):
        counts.append((name, sum(not torch.equal(a, b) for a, b in zip(randomized.parameters(), alexnet.parameters()))))
    assert dict(counts)["fc8"] == 2 and dict(counts)["fc7"] == 4 and dict(counts)["conv1"] == 16


def test_relu6_rule_by_hand():
    """Guided backprop through ReLU6 on a two-layer net, against the rule written out."""
    from collections import OrderedDict

    from torch import nn

    from lecture_utils.models import ImageNetModel

    lin1, lin2 = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 2, 1)
    net = nn.Sequential(OrderedDict(a=lin1, act=nn.ReLU6(), b=lin2, pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten()))
    model = ImageNetModel("relu6", net, {"a": "a"}, ["x", "y"], (0, 0, 0), (1, 1, 1)).eval()
    with torch.no_grad():
        lin1.weight.mul_(4)  # activations beyond the cap at 6, from pixels in [0, 1]
    image = torch.rand(1, 3, 2, 2)
    pre = lin1(image)
    grad_out = lin2.weight[1, :, 0, 0].view(1, 4, 1, 1).expand_as(pre) / 4  # d score / d act
    for guided, method in [(True, A.guided_backprop), (False, A.deconvnet)]:
        g = grad_out.clamp(min=0) * ((pre > 0) if guided else 1)  # the cap at 6 is ignored
        expected = torch.einsum("nkhw,kc->nchw", g, lin1.weight[:, :, 0, 0])
        assert torch.allclose(method(model, image, 1), expected, atol=1e-6)


def test_hooks_are_removed_when_the_forward_pass_fails():
    model = tiny_model()
    model.net.boom.armed = True
    for method in (A.guided_backprop, A.deconvnet, A.grad_cam, A.smoothgrad, A.integrated_gradients):
        with pytest.raises(RuntimeError, match="boom"):
            method(model, torch.rand(1, 3, 4, 4), 1, **({"layer": "conv"} if method is A.grad_cam else {}))
        assert hook_count(model) == 0


def test_occlusion_covers_the_edges(model):
    heat = A.occlusion(model, load_image("cat", size=(100, 100)), 285, window=32, stride=16)
    assert (heat[0, -3:, :] != 0).any() and (heat[0, :, -3:] != 0).any()


def test_counts_must_be_positive_ints(model, cat):
    for kwargs in ({"steps": 0}, {"steps": True}, {"batch_size": 0}, {"batch_size": 2.0}):
        with pytest.raises(ValueError, match="must be an int"):
            A.integrated_gradients(model, cat, 1, **kwargs)
    for kwargs in ({"samples": True}, {"samples": -1}):
        with pytest.raises(ValueError, match="must be an int"):
            A.smoothgrad(model, cat, 1, **kwargs)
    with pytest.raises(ValueError, match="sigma"):
        A.smoothgrad(model, cat, 1, sigma=-0.1)


# ---------------------------------------------------------------- deconvnet without switches


def test_deconvnet_ignores_the_image_on_a_network_without_max_pooling(model):
    """Notebook 03's claim: EfficientNet-Lite0 has no max-pooling, so deconvnet's backward pass
    (which looks at no activation) is the same for every photo of a size; guided backprop is not."""
    from lecture_utils.images import center_square

    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
    photos = torch.cat([center_square(load_image(name), 96) for name in ("cat", "espresso")])
    maps = A.deconvnet(model, photos, 285)
    assert torch.equal(maps[0], maps[1]) and float(maps.abs().max()) > 0
    guided = A.guided_backprop(model, photos, 285)
    assert corr(guided[0], guided[1]) < 0.5


def test_deconvnet_is_nearly_the_same_for_every_class_without_max_pooling(model):
    """Notebook 03's claim: on EfficientNet-Lite0 deconvnet's maps for different classes are
    nearly the same picture (correlation above 0.99; the notebook prints it at 224 px)."""
    from lecture_utils.images import center_square

    photo = center_square(load_image("cat"), 96)
    maps = A.deconvnet(model, photo.expand(3, -1, -1, -1), [285, 967, 0])
    assert float(torch.corrcoef(maps.flatten(1)).min()) > 0.99


def test_deconvnet_follows_the_max_pooling_switches_on_alexnet(alexnet):
    photos = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    maps = A.deconvnet(alexnet, photos, 3)
    assert not torch.allclose(maps[0], maps[1])


# ---------------------------------------------------------------- one unit of an inner layer


def test_unit_guided_backprop_lies_in_the_units_receptive_field(model):
    images = torch.stack([center_square_128(name) for name in ("cat", "daisy")])
    rf = E.receptive_field(model, "stage3", 128)
    positions = [(1, 2), (12, 9)]
    grads = A.unit_guided_backprop(model, images, "stage3", 5, positions=positions)
    assert grads.shape == images.shape
    for grad, position in zip(grads, positions):
        top, left, bottom, right = rf.box(*position)
        inside = torch.zeros_like(grad, dtype=torch.bool)
        inside[:, top:bottom, left:right] = True
        assert (~inside).any() and float(grad[~inside].abs().max()) == 0.0 and float(grad[inside].abs().max()) > 0
    assert hook_count(model) == hook_count(folded(model)) == 0


def center_square_128(name):
    from lecture_utils.images import center_square

    return center_square(load_image(name), 128)[0]


def test_unit_guided_backprop_equals_captum_on_alexnet(alexnet):
    """Captum's GuidedBackprop of a network cut at conv3 whose outputs are channel 7's positions."""
    from lecture_utils.activations import get_activations

    class Channel(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return get_activations(self.net, x, ["conv3"])["conv3"][:, 7].flatten(1)

    images = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        acts = get_activations(alexnet, images, ["conv3"])["conv3"][:, 7]
    width = acts.shape[2]
    strongest = acts.flatten(1).argmax(1)
    ours = A.unit_guided_backprop(alexnet, images, "conv3", 7)
    theirs = GuidedBackprop(Channel(alexnet)).attribute(images, target=strongest)
    assert corr(ours, theirs) > 0.999
    explicit = [divmod(int(i), width) for i in strongest]
    assert torch.equal(A.unit_guided_backprop(alexnet, images, "conv3", 7, positions=explicit), ours)
    assert hook_count(alexnet) == 0


def test_unit_guided_backprop_names_what_is_wrong(model, cat):
    with pytest.raises(ValueError, match="unknown layer 'stage9'"):
        A.unit_guided_backprop(model, cat, "stage9", 0)
    with pytest.raises(ValueError, match="channel must be an int from 0 to 39"):
        A.unit_guided_backprop(model, cat, "stage3", 40)
    with pytest.raises(ValueError, match="one \\(row, col\\) per image"):
        A.unit_guided_backprop(model, cat, "stage3", 0, positions=[(0, 0), (1, 1)])
    with pytest.raises(ValueError, match="row of a position must be an int from 0"):
        A.unit_guided_backprop(model, cat, "stage3", 0, positions=[(99, 0)])
    assert hook_count(model) == hook_count(folded(model)) == 0
