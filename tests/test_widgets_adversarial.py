"""Headless tests of the adversarial panel: set controls as a user would, check the pictures."""

import io

import numpy as np
import pytest
from PIL import Image

from lecture_utils.activations import predict
from lecture_utils.widgets import AdversarialPanel
from tests.conftest import hook_count


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


@pytest.fixture
def panel(model):
    return AdversarialPanel(model, image="cat", attack="fgsm", eps=2, steps=3)


def test_fgsm_changes_the_prediction_within_the_budget(panel):
    adv = panel.result()
    assert float((adv - panel.image).abs().max()) <= 2 / 255 + 1e-6
    assert panel.after[0][0] != panel.before[0][0]
    assert "&rarr;" in panel.info.value and "max 2.0/255" in panel.info.value
    original, change, adversarial = (pixels(v.value) for v in panel.views)
    assert np.abs(original - adversarial).max() <= 3  # invisible: at most 2 grey levels (+ rounding)
    assert change.std() > 20  # the magnified change is visible
    assert panel.status.text == ""


def test_controls_rerun_and_cache(model, panel):
    first = panel.views[2].value
    panel.eps.value = 16
    assert float((panel.result() - panel.image).abs().max()) == pytest.approx(16 / 255, abs=1e-6)
    assert pixels(panel.views[2].value).tolist() != pixels(first).tolist()
    panel.attack.value = "pgd"
    assert len(panel._cache) == 3
    panel.attack.value = "fgsm"  # back to an earlier setting: from the cache
    assert len(panel._cache) == 3
    assert float((panel.result() - panel.image).abs().max()) == pytest.approx(16 / 255, abs=1e-6)
    assert hook_count(model) == 0


def test_target_class_and_fooling_image(panel):
    panel.attack.value = "pgd"
    panel.eps.value = 8
    panel.steps.value = 10
    panel.target.value = "gibbon"
    assert panel.after[0][1] == "gibbon"
    panel.attack.value = "fooling"  # up to 100 steps: made by Run, not at the change
    assert "press Run" in panel.status.text and panel.fooling_box.children == (panel.runner.widget,)
    assert panel.runner.preview.value  # the picture it starts from
    panel.runner.run_button.click()
    panel.runner.join()
    assert panel.after[0][1] == "gibbon" and panel.after[0][2] >= 0.9
    assert panel.runner.last.losses["reached"] == 1.0 and panel.status.text == ""
    fooled = panel.views[2].value
    panel.attack.value = "pgd"
    assert panel.fooling_box.children == ()
    panel.attack.value = "fooling"  # back: from the cache, no run needed
    assert panel.views[2].value == fooled and panel.after[0][1] == "gibbon"


def test_fooling_without_target_shows_an_error_and_keeps_the_pictures(panel):
    shown = panel.views[2].value
    panel.attack.value = "fooling"
    assert "needs a target class" in panel.status.text
    assert panel.views[2].value == shown
    panel.target.value = "gibbon"  # the panel is alive: a fix replaces the message
    assert panel.status.text == "press Run to make the fooling image (up to 30 steps)"


def test_l2_budget_and_a_new_image(panel):
    panel.attack.value = "pgd_l2"
    delta = panel.result() - panel.image
    assert float(delta.norm()) <= 2 / 255 * delta.numel() ** 0.5 * (1 + 1e-5)
    panel.picker.dropdown.value = "espresso"
    assert panel.before[0][1] == "espresso"
    assert panel._cache and all(k[0] == "pgd_l2" for k in panel._cache)  # old image's results gone


def test_a_stopped_fooling_run_is_shown_not_kept_and_a_change_of_attack_stops_a_run(panel):
    panel.target.value = "gibbon"
    panel.steps.value = 50  # up to 500 steps
    panel.attack.value = "fooling"
    key = panel._key()
    panel.runner.run_button.click()
    panel.runner.stop()
    panel.runner.join()
    last = panel.runner.last
    ended_by_itself = last.losses["reached"] == 1.0 or last.step == last.total
    assert ("stopped at step" in panel.runner.status.text) != ended_by_itself
    assert (key in panel._cache) == ended_by_itself  # a stopped run is shown, not kept for the setting
    assert panel.after == predict(panel.model, last.result.cpu(), k=5)
    panel.runner.run_button.click()
    panel.attack.value = "fgsm"  # the run's pictures would no longer be shown: it stops
    assert not panel.runner.running and panel.fooling_box.children == ()
    assert panel.attack.value == "fgsm" and panel.status.text == ""


def test_a_new_picture_stops_a_fooling_run(panel):
    panel.target.value = "gibbon"
    panel.steps.value = 50
    panel.attack.value = "fooling"
    panel.runner.run_button.click()
    panel.picker.dropdown.value = "espresso"
    assert not panel.runner.running and panel.before[0][1] == "espresso"
    assert not any(key[0] == "fooling" for key in panel._cache)
