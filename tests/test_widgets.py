"""Headless widget tests: set controls as a user would and check what the panel shows."""

import datetime
import io
import math

import numpy as np
import pytest
from PIL import Image

from lecture_utils.widgets import ActivationExplorer, PredictionPanel
from tests.conftest import hook_count
from tests.helpers import ForwardCounter


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def png_of(color, size=(50, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def explorer(model):
    return ActivationExplorer(model, image="cat", layer="stage3")


def test_channel_and_layer_change_the_picture_without_a_forward_pass(model, explorer):
    first = explorer.map_view.value
    assert pixels(first).std() > 0
    with ForwardCounter(model) as counter:
        explorer.channel.value = 7
        after_channel = explorer.map_view.value
        explorer.layer.value = "head"
        after_layer = explorer.map_view.value
    assert counter.calls == 0
    assert not np.array_equal(pixels(first), pixels(after_channel))
    assert not np.array_equal(pixels(after_channel), pixels(after_layer))
    assert explorer.channel.max == 1279 and "head" in explorer.info.value


def test_channel_is_clamped_when_the_layer_has_fewer_channels(explorer):
    explorer.layer.value = "head"
    explorer.channel.value = 1000
    explorer.layer.value = "stage1"
    assert explorer.channel.max == 15 and explorer.channel.value == 15
    assert "channel 15" in explorer.info.value


def test_the_map_shows_the_cached_activation(explorer):
    explorer.layer.value = "stage2"
    explorer.channel.value = 3
    amap = explorer.activations["stage2"][3]
    shown = pixels(explorer.map_view.value)
    # the brightest activation is drawn in the colormap's brightest colour (viridis: yellow)
    h, w = amap.shape
    r, c = divmod(int(amap.argmax()), w)
    scale = shown.shape[0] / h
    y, x = int((r + 0.5) * scale), int((c + 0.5) * scale)
    assert shown[y, x, 0] > 200 and shown[y, x, 1] > 200 and shown[y, x, 2] < 80


def test_picking_and_uploading_images_recomputes_once(model, explorer):
    before = explorer.map_view.value
    with ForwardCounter(model) as counter:
        explorer.picker.dropdown.value = "espresso"
    assert counter.calls == 1 and explorer.map_view.value != before
    with ForwardCounter(model) as counter:
        explorer.picker.add_upload("red square.png", png_of((255, 0, 0)))
    assert counter.calls == 1
    assert explorer.picker.dropdown.value == "upload: red square.png"
    assert explorer.picker.image.shape[2:] == (224, 280)
    assert explorer.picker.status.text == ""


def test_a_bad_upload_shows_a_message_and_keeps_the_image(explorer):
    image, shown = explorer.picker.image, explorer.map_view.value
    explorer.picker.add_upload("notes.txt", b"not an image at all")
    assert "notes.txt" in explorer.picker.status.text and "not an image" in explorer.picker.status.text
    assert explorer.picker.image is image and explorer.map_view.value == shown
    explorer.picker.add_upload("empty.png", b"")
    assert "empty" in explorer.picker.status.text


def test_the_upload_widget_feeds_the_picker(explorer):
    explorer.picker.upload.value = ({"name": "blue.png", "type": "image/png", "size": 10,
                                     "content": memoryview(png_of((0, 0, 255))),
                                     "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)
    assert explorer.picker.dropdown.value == "upload: blue.png"
    assert float(explorer.picker.image[0, 2].mean()) > 0.99


def test_an_error_in_a_panel_callback_is_shown_not_raised(model):
    panel = PredictionPanel(model, image="cat")

    def broken(image):
        raise RuntimeError("model exploded")

    panel.picker.on_change(broken)
    panel.picker.dropdown.value = "espresso"
    assert "model exploded" in panel.picker.status.text
    assert panel.predictions[0][1] == "espresso"  # the panel's own callback still ran


def test_prediction_panel_and_no_hooks_left(model):
    panel = PredictionPanel(model, image="espresso", k=3)
    assert [p[1] for p in panel.predictions][0] == "espresso" and len(panel.predictions) == 3
    assert pixels(panel.bars_view.value).std() > 0
    panel.picker.dropdown.value = "grace_hopper"
    assert panel.predictions[0][1] == "military uniform"
    assert hook_count(model) == 0


def test_attribution_panel_answers_controls_and_caches(model):
    from lecture_utils import attribution, faithfulness
    from lecture_utils.widgets import AttributionPanel

    panel = AttributionPanel(model, image="cat_and_espresso", method="grad_cam")
    first = bytes(panel.view.value)
    deleted = faithfulness.deletion(model, panel.image, panel.target.value, attribution.grad_cam(
        model, panel.image, panel.target.value, panel.layer.value)).area
    assert panel.faithful.value == ""  # measured only when asked: a click costs what the method costs
    panel.measure.value = True
    assert panel.faithful.value.startswith(f"Deletion area {float(deleted):.2f}, a random order's 0.")
    panel.measure.value = False
    assert panel.target.value == panel.target.options[0][1]
    assert 504 not in [index for _, index in panel.target.options]
    panel.other.value = "coffee mug"  # any class by name, also outside the top 5
    assert panel.target.value == 504 and bytes(panel.view.value) != first
    on_espresso = pixels(panel.view.value)
    with ForwardCounter(model) as counter:
        panel.opacity.value = 0.9  # a view change: no recomputation
    assert counter.calls == 0 and not np.array_equal(pixels(panel.view.value), on_espresso)
    panel.method.value = "guided_backprop"
    assert pixels(panel.view.value).shape == on_espresso.shape
    panel.window.value = 112
    panel.stride.value = 56
    with ForwardCounter(model) as counter:
        panel.method.value = "occlusion"
    h, w = panel.image.shape[2:]
    windows = len(range(0, h - 112 + 1, 56)) * len(range(0, w - 112 + 1, 56))
    # once: the image, then the windows in batches of 8 (occlusion's batch on a CPU)
    assert counter.calls == 1 + math.ceil(windows / 8)
    assert panel.status.text == ""
    panel.other.value = "coffe mug"  # the box takes only class names; set from code, it is named
    assert panel.target.value == 504
    assert "unknown class &#x27;coffe mug&#x27;; similar: coffee mug" in panel.status.text
    assert hook_count(model) == 0


def test_a_method_added_to_the_registry_reaches_the_attribution_panel(model, monkeypatch):
    """One entry in attribution.METHODS, nothing in the panel: it is offered, and chosen it draws."""
    from lecture_utils import attribution
    from lecture_utils.widgets import AttributionPanel

    def brightness(model, image, target):  # a throwaway method: the image's mean over colours
        return image.mean(1)

    monkeypatch.setitem(attribution.METHODS, "brightness", brightness)
    panel = AttributionPanel(model, image="cat", method="brightness")
    assert "brightness" in panel.method.options and panel.status.text == ""
    assert pixels(panel.view.value).shape[:2] == tuple(panel.image.shape[2:])


def test_the_occlusion_sliders_start_at_the_methods_defaults(model, monkeypatch):
    from lecture_utils import attribution
    from lecture_utils.widgets import AttributionPanel

    monkeypatch.setattr(attribution.occlusion, "__defaults__", (40, 20, 0.5, None))  # window, stride, ...
    panel = AttributionPanel(model, image="cat")
    assert (panel.window.value, panel.stride.value) == (40, 20)


def test_explorer_offers_only_layers_with_maps(tmp_path, monkeypatch):
    from lecture_utils import load_model
    from tests.test_models import plant_checkpoint

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    plant_checkpoint("resnet18", tmp_path / "hub" / "checkpoints")
    explorer = ActivationExplorer(load_model("resnet18", device="cpu"), image="cat")
    assert list(explorer.layer.options) == ["conv1", "layer1", "layer2", "layer3", "layer4"]
    explorer.layer.value = "layer4"
    assert explorer.channel.max == 511 and "layer4" in explorer.info.value


def test_an_upload_too_thin_to_resize_shows_a_message(explorer):
    image = explorer.picker.image
    explorer.picker.add_upload("sliver.png", png_of((0, 255, 0), size=(20000, 20)))
    assert "sliver.png" in explorer.picker.status.text and "megapixels" in explorer.picker.status.text
    assert explorer.picker.image is image


def test_a_panels_layer_is_one_the_model_has(model):
    from lecture_utils.widgets import layer_picker
    from tests.helpers import tiny_model

    assert layer_picker(model).value == "stage4"  # the middle of stem ... head
    tiny = tiny_model()
    assert layer_picker(tiny).value == list(tiny.layers)[len(tiny.layers) // 2]
    with pytest.raises(ValueError, match="unknown layer of tiny 'stage4'; accepted: conv, relu, boom, fc"):
        layer_picker(tiny, "stage4")  # a panel's default on another network: the layers it has, not a TraitError
    from lecture_utils.widgets import DeepDreamPanel, InversionPanel

    assert DeepDreamPanel(tiny).layer.value == InversionPanel(tiny).layer.value == "boom"  # no layer given
