"""The explorer's fast path: a frozen trace that gives eager's logits and maps, and CAM from
those maps that equals Grad-CAM at the last layer of the bundled network."""

import pytest
import torch

from lecture_utils import load_image
from lecture_utils.activations import forward_with_activations
from lecture_utils.attribution import grad_cam
from lecture_utils.images import center_square
from lecture_utils.inference import cam_from_maps, cam_layer, frozen_forward
from tests.conftest import hook_count

# Float rounding only: a frozen trace folds batch norms into the convolutions, which reorders
# the arithmetic (measured: 6e-7 of the largest logit, 2e-6 of the largest map).
RELATIVE = 1e-4


@pytest.fixture(scope="module")
def batch():
    return torch.cat([center_square(load_image(name), 224) for name in ("cat", "espresso", "rocket")])


def close(got, expected):
    return torch.allclose(got, expected, rtol=0, atol=RELATIVE * float(expected.abs().max()))


def test_the_frozen_trace_gives_eagers_logits_and_maps_of_two_layers_on_a_batch(model, batch):
    forward = frozen_forward(model, ["stage4", "head"])
    logits, maps = forward(batch)
    with torch.no_grad():
        expected_logits, expected = forward_with_activations(model, batch, ["stage4", "head"])
    assert list(maps) == ["stage4", "head"] and maps["stage4"].shape == (3, 80, 14, 14)
    assert close(logits, expected_logits)
    assert close(maps["stage4"], expected["stage4"]) and close(maps["head"], expected["head"])
    assert logits.argmax(1).equal(expected_logits.argmax(1))


def test_making_it_leaves_the_callers_model_as_it_was(model):
    was = model.training
    model.train()
    try:
        before = {name: p.detach().clone() for name, p in model.named_parameters()}
        grads = {name: p.requires_grad for name, p in model.named_parameters()}
        frozen_forward(model, "stage2", size=96)
        assert model.training and all(m.training for m in model.modules()) and hook_count(model) == 0
        assert {name: p.requires_grad for name, p in model.named_parameters()} == grads
        assert all(p.equal(before[name]) for name, p in model.named_parameters())
    finally:
        model.train(was)


def test_another_size_or_an_unknown_layer_is_refused_with_the_fix(model):
    forward = frozen_forward(model, "stage2", size=96)
    with pytest.raises(ValueError, match=r"traced for images \(N, 3, 96, 96\); got shape \(1, 3, 64, 64\)"):
        forward(torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match="unknown layer 'stage9'.*valid layers: stem"):
        frozen_forward(model, ["stage9"])


def test_cam_from_the_last_layers_maps_equals_grad_cam_there(model, batch):
    layer = cam_layer(model)
    assert layer == "head"
    targets = [281, 967, 812]  # tabby, espresso, space shuttle: top classes and not
    with torch.no_grad():
        _, maps = forward_with_activations(model, batch, [layer])
    got = cam_from_maps(model, maps[layer], targets)
    up = torch.nn.functional.interpolate(got[:, None], size=batch.shape[2:], mode="bilinear", align_corners=False)[:, 0]
    expected = grad_cam(model, batch, targets, layer=layer)
    # Grad-CAM runs the folded copy of the network (folded batch norms): the same rounding as above
    assert close(up, expected) and float(expected.amax()) > 0


def test_cam_from_maps_refuses_a_network_without_that_head(model, monkeypatch):
    monkeypatch.setattr(model, "name", "another_net")
    assert cam_layer(model) is None
    with pytest.raises(ValueError, match="use attribution.grad_cam"):
        cam_from_maps(model, torch.rand(1, 4, 7, 7), [0])
