"""The camera widget's messages, the live explorer and the atlas browser, headless: frames are
sent as the page sends them (a custom message with the JPEG bytes as a buffer)."""

import io

import numpy as np
import pytest
from PIL import Image

from lecture_utils import atlas, load_image, to_pil
from lecture_utils.images import center_square
from lecture_utils.widgets import AtlasBrowser, Camera, ImagePicker, LiveExplorer
from tests.conftest import hook_count
from tests.helpers import ForwardCounter


def jpeg(name, size=224):
    """A square frame as the page sends it: the photo's centre square, JPEG."""
    buffer = io.BytesIO()
    to_pil(center_square(load_image(name), size)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


class Answers:
    """Catches what a widget sends to the page."""

    def __init__(self, widget, monkeypatch):
        self.sent = []
        monkeypatch.setattr(widget, "send", lambda content, buffers=None: self.sent.append(content))


def frame(camera, data, kind="frame", number=1):
    camera._on_message(camera, {"type": kind, "view": "v1", "id": number}, [memoryview(data)] if data else [])


def test_each_frame_is_answered_once_after_the_callbacks_ran_even_when_one_fails(monkeypatch):
    camera, seen = Camera("stream"), []
    answers = Answers(camera, monkeypatch)

    def callback(image):
        seen.append(tuple(image.shape))
        assert answers.sent == []  # the answer comes after the pictures are set
        if len(seen) == 2:
            raise RuntimeError("boom")

    camera.on_image(callback)
    frame(camera, jpeg("cat"))
    done = {"type": "done", "kind": "frame", "view": "v1"}
    assert seen == [(1, 3, 224, 224)] and answers.sent == [{**done, "id": 1}] and camera.frames == 1
    answers.sent.clear()
    with pytest.raises(RuntimeError):
        frame(camera, jpeg("cat"), number=2)
    assert answers.sent == [{**done, "id": 2}] and camera.frames == 2  # the page then sends the next


def test_a_damaged_or_empty_frame_sets_the_error_and_is_answered(monkeypatch):
    camera = Camera("stream")
    answers = Answers(camera, monkeypatch)
    frame(camera, b"\xff\xd8 not a jpeg")
    assert camera.error.startswith("a camera image could not be read") and len(answers.sent) == 1
    frame(camera, b"", number=2)
    assert camera.error.endswith("the page sent no image data") and answers.sent[-1]["id"] == 2


def test_a_mode_other_than_snapshot_or_stream_is_refused():
    with pytest.raises(ValueError, match="mode"):
        Camera("video")


def test_a_camera_photo_joins_the_pickers_list_and_is_selected(monkeypatch):
    picker, shown = ImagePicker("cat"), []
    picker.on_change(shown.append)
    Answers(picker.camera, monkeypatch)
    frame(picker.camera, jpeg("espresso", 480), kind="photo")
    frame(picker.camera, jpeg("rocket", 480), kind="photo")
    assert picker.dropdown.value == "camera: 2" and "camera: 1" in picker.dropdown.options
    assert picker.image.shape[-2] == picker.size and len(shown) == 2 and picker.status.text == ""


@pytest.fixture
def explorer(model):
    return LiveExplorer(model, image="cat", layer="stage4", channel=3)


def test_a_frame_gives_its_classes_the_layers_maps_and_the_units_map_in_one_forward_pass(model, explorer,
                                                                                         monkeypatch):
    Answers(explorer.camera, monkeypatch)
    before = (explorer.grid.value, explorer.unit_view.value)
    fast = []
    monkeypatch.setattr(explorer, "forward", lambda image, run=explorer.forward: fast.append(1) or run(image))
    with ForwardCounter(model) as counter:
        frame(explorer.camera, jpeg("espresso"))
    assert len(fast) == 1 and counter.calls == 0  # the frozen trace's pass, no eager one
    assert explorer.predictions[0][1] == "espresso" and "espresso" in explorer.bars.value
    assert explorer.grid.value != before[0] and explorer.unit_view.value != before[1]
    assert explorer.grid.count == 80 and explorer.grid.selected == 3
    assert explorer.status.text == "" and hook_count(model) == 0


def test_clicking_a_map_shows_that_unit_and_its_atlas_entry_without_a_forward_pass(model, explorer):
    before = (explorer.unit_view.value, explorer.atlas_view.value)
    with ForwardCounter(model) as counter:
        explorer.grid.selected = 17
    assert counter.calls == 0 and explorer.channel.value == 17
    assert explorer.unit_view.value != before[0] and explorer.atlas_view.value != before[1]
    assert "channel 17" in explorer.unit_info.value and "nine photo crops" in explorer.atlas_info.value
    assert pixels(explorer.atlas_view.value).shape[0] == 192


def test_a_unit_change_reads_only_that_units_channel_image(explorer, monkeypatch):
    def whole_layer(*args, **kwargs):
        raise AssertionError("converted a whole layer of channel images to show one")

    expected = atlas.channel_images("stage4")[21]
    monkeypatch.setattr(atlas, "channel_images", whole_layer)
    explorer.channel.value = 21
    assert "channel 21" in explorer.unit_info.value and "nine photo crops" in explorer.atlas_info.value
    assert explorer.status.text == ""
    assert atlas.unit_image("stage4", 21).shape == (3, 128, 128)
    assert atlas.unit_image("stage4", 21).equal(expected)
    with pytest.raises(ValueError, match="channel must be an int from 0 to 79; got 80"):
        atlas.unit_image("stage4", 80)


def test_a_layer_outside_the_atlas_says_which_layers_it_holds(explorer):
    explorer.layer.value = "stage2"
    assert explorer.atlas_view.value == b"" and "stage3, stage4, stage5, stage6" in explorer.atlas_info.value
    assert explorer.grid.count == 24 and explorer.channel.max == 23


def test_without_the_atlas_or_with_another_network_the_explorer_says_so_and_the_atlas_browser_refuses(
        model, monkeypatch, tmp_path):
    from lecture_utils import models

    monkeypatch.setattr(atlas, "folder", lambda: tmp_path / "no-atlas")
    explorer = LiveExplorer(model, image="cat", layer="stage4", channel=3)
    assert explorer.atlas_view.value == b"" and "python -m lecture_utils atlas" in explorer.atlas_info.value
    assert explorer.predictions and explorer.status.text == ""  # the rest works
    with pytest.raises(FileNotFoundError, match="python -m lecture_utils atlas"):
        AtlasBrowser(model)
    monkeypatch.undo()
    other = models.load_model("resnet18") if models.is_cached("resnet18") else None
    if other is None:
        monkeypatch.setattr(model, "name", "another_net")
        other = model
    explorer = LiveExplorer(other, image="cat", layer=list(other.layers)[3])
    assert explorer.atlas_view.value == b"" and "this network (" in explorer.atlas_info.value
    with pytest.raises(ValueError, match="the atlas is of efficientnet_lite0's units"):
        AtlasBrowser(other)


def test_grad_cam_colours_the_frame_and_leaves_no_hooks(model, explorer):
    plain = explorer.frame_view.value
    explorer.grad_cam.value = True
    assert explorer.frame_view.value != plain and explorer.status.text == "" and hook_count(model) == 0
    explorer.grad_cam.value = False
    assert explorer.frame_view.value == plain


def test_grad_cam_of_the_bundled_network_is_cam_from_the_same_pass_and_looks_as_the_backward_pass_does(
        model, explorer):
    eager = LiveExplorer(model, image="cat", layer="stage4", channel=3, fast=False)
    assert explorer.cam_layer == "head" and eager.forward is None and eager.cam_layer is None
    with ForwardCounter(model) as counter:
        explorer.grad_cam.value = True
    assert counter.calls == 0  # no backward pass, not even a forward one of the eager network
    eager.grad_cam.value = True
    assert [p[0] for p in explorer.predictions] == [p[0] for p in eager.predictions]
    # the same overlay up to JPEG's rounding (a mean difference of ~1 level of 255)
    difference = np.abs(pixels(explorer.frame_view.value).astype(int) - pixels(eager.frame_view.value))
    assert difference.mean() < 3 and bytes(explorer.frame_view.value[:2]) == b"\xff\xd8"
    assert explorer.frame_view.format == explorer.unit_view.format == "jpeg" and explorer.grid.format == "png"


def test_the_grid_is_sent_again_only_when_its_maps_changed_or_another_layer_is_picked(model, explorer, monkeypatch):
    Answers(explorer.camera, monkeypatch)
    sent = []
    monkeypatch.setattr(explorer.grid, "show", lambda *args: sent.append(args[1:]))
    frame(explorer.camera, jpeg("espresso"))
    frame(explorer.camera, jpeg("espresso"), number=2)
    assert [s[:2] for s in sent] == [(16, 80)]  # the second frame is the same scene: its grid is not sent again
    frame(explorer.camera, jpeg("daisy"), number=3)
    assert len(sent) == 2  # another scene
    explorer.layer.value = "stage2"
    assert len(sent) == 3 and sent[-1][1] == 24


def test_a_frame_that_fails_shows_in_the_status_until_a_frame_works(model, explorer, monkeypatch):
    Answers(explorer.camera, monkeypatch)
    monkeypatch.setattr(explorer, "k", 0)
    frame(explorer.camera, jpeg("cat"))
    assert "ValueError: k must be an int from 1 to 1000; got 0" in explorer.status.text
    explorer.k = 5
    frame(explorer.camera, jpeg("espresso"))
    assert explorer.status.text == "" and explorer.predictions[0][1] == "espresso"


def test_the_atlas_browser_shows_a_layers_units_and_a_clicked_units_patches_and_map(model):
    browser = AtlasBrowser(model, layer="stage4", channel=2)
    assert browser.grid.value == (atlas.folder() / "stage4.channels.jpg").read_bytes()
    assert browser.grid.count == 80 and browser.channel.max == 79
    before = (browser.patches_view.value, browser.map_view.value)
    browser.grid.selected = 40  # as a click does
    assert browser.channel.value == 40 and browser.patches_view.value != before[0]
    assert browser.map_view.value != before[1] and "channel 40" in browser.info.value
    browser.layer.value = "stage6"
    assert browser.grid.count == 192 and browser.channel.max == 191 and browser.channel.value == 0
    assert browser.grid.height == 480 and browser.grid.value == atlas.channel_sheet("stage6")
    shown = browser.map_view.value
    browser.picker.dropdown.value = "espresso"
    assert browser.map_view.value != shown and browser.status.text == ""
