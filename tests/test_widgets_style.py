"""Headless tests of the texture and style-transfer panels (notebooks 08 and 09)."""

import numpy as np

from lecture_utils import style as st
from lecture_utils.widgets import StyleTransferPanel, TexturePanel
from tests.conftest import hook_count
from tests.test_widgets import pixels


def test_texture_panel_runs_to_the_end_with_the_chosen_layers(model):
    panel = TexturePanel(model, size=32, steps=5)
    assert list(panel.deepest.options) == [s[-1] for s in st.texture_layer_sets(model)]
    panel.deepest.value = "stage1"
    panel.runner.run_button.click()
    panel.runner.join(60)
    last = panel.runner.last
    assert last.step == 5 and set(last.losses) == {"objective", "style[stem]", "style[stage1]"}
    assert pixels(panel.runner.preview.value).shape[0] > 0
    assert panel.runner.status.text.startswith("done, 5 steps") and hook_count(model) == 0


def test_style_panel_runs_and_switches_networks(model):
    vgg = st.vgg19(weights="random", device="cpu")
    panel = StyleTransferPanel({"bundled": model, "random VGG-19": vgg}, size=32, steps=5)
    assert panel.content_layer.value == "stage4" and "stage2" in panel.style_layers.value
    before = pixels(panel.runner.preview.value)
    panel.optimizer.value = "adam"
    panel.runner.run_button.click()
    panel.runner.join(60)
    assert panel.runner.last.step == 5 and panel.runner.status.text.startswith("done")
    after = pixels(panel.runner.preview.value)
    assert before.shape != after.shape or not np.array_equal(before, after)
    panel.network.value = "random VGG-19"
    assert panel.content_layer.value == "conv4_2" and panel.style_layers.value[0] == "conv1_1"
    assert hook_count(model) == 0 and hook_count(vgg) == 0


def test_style_panel_shows_bad_settings_in_its_status(model):
    panel = StyleTransferPanel(model, size=32, steps=5)
    panel.style_weight.value = panel.style_weight.min
    panel.content_weight.value = panel.content_weight.min
    panel.style_layers.value = ()
    panel.runner.run_button.click()
    assert "at least one style layer" in panel.runner.status.text and not panel.runner.running
