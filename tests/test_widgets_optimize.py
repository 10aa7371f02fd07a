"""Headless tests of the Run/Stop runner and the panels of notebooks 04, 06 and 07."""

import threading

import numpy as np
import pytest
import torch

from lecture_utils.optimize import Step
from lecture_utils.widgets import ClassImagePanel, DeepDreamPanel, InversionPanel, Runner
from tests.conftest import hook_count
from tests.test_widgets import pixels


def counting_steps(total, image, gate=None, fail_at=None, message_at=None):
    """Steps 1..total of a grey image that darkens; waits on `gate` after each if given."""
    for i in range(1, total + 1):
        if i == fail_at:
            raise RuntimeError("the model fell over")
        shade = image * (1 - i / (total + 1))
        yield Step(i, total, {"objective": float(i)}, shade,
                   message="stopped: NaN" if i == message_at else None)
        if i == message_at:
            return
        if gate is not None:
            gate.wait(5)


@pytest.fixture
def grey():
    return torch.full((1, 3, 32, 32), 0.8)


def test_a_run_goes_to_the_end_and_shows_the_last_image(grey):
    runner = Runner(lambda: counting_steps(7, grey), preview_every=3)
    runner.run_button.click()
    runner.join(10)
    assert not runner.running and runner.last.step == 7
    assert (runner.progress.value, runner.progress.max) == (7, 7)
    assert pixels(runner.preview.value).mean() == pytest.approx(255 * 0.8 / 8, abs=1.5)
    assert runner.status.text.startswith("done, 7 steps")
    assert not runner.run_button.disabled and runner.stop_button.disabled


def test_stop_keeps_the_last_image_and_run_never_overlaps(grey):
    gate = threading.Event()
    made = []

    def make():
        made.append(1)
        return counting_steps(1000, grey, gate)

    runner = Runner(make, preview_every=1)
    runner.run_button.click()
    runner.run_button.click()  # ignored: a run is going
    assert runner.running and runner.run_button.disabled and len(made) == 1
    runner.stop_button.click()
    gate.set()
    runner.join(10)
    assert not runner.running and runner.last.step < 1000
    assert "stopped at step" in runner.status.text
    shade = float(grey[0, 0, 0, 0]) * (1 - runner.last.step / 1001)
    assert pixels(runner.preview.value).mean() == pytest.approx(255 * shade, abs=1.5)
    runner.run_button.click()  # a new run may start now
    runner.stop()
    runner.join(10)
    assert len(made) == 2


def test_errors_show_in_the_status_line(grey):
    runner = Runner(lambda: (_ for _ in ()).throw(ValueError("steps must be an int >= 1")))
    runner.run_button.click()
    assert not runner.running and "steps must be an int" in runner.status.text

    runner.make_run = lambda: counting_steps(10, grey, fail_at=4)
    runner.run_button.click()
    runner.join(10)
    assert "RuntimeError: the model fell over" in runner.status.text
    assert runner.last.step == 3 and not runner.run_button.disabled

    runner.make_run = lambda: counting_steps(10, grey, message_at=2)
    runner.run_button.click()
    runner.join(10)
    assert "stopped: NaN" in runner.status.text and runner.last.step == 2


def test_class_image_panel_runs_the_chosen_class(model):
    panel = ClassImagePanel(model)
    panel.steps.value, panel.size.value = 8, 96
    panel.runner.run_button.click()
    panel.runner.join(120)
    assert panel.runner.last.step == 8 and "logit[dumbbell]" in panel.runner.last.losses
    assert panel.runner.last.image.shape[-2:] == (96, 96)  # the run's size; the preview is scaled to its height
    assert hook_count(model) == 0
    fourier = panel.runner.last.image

    panel.parameterization.value, panel.views.value = "pixels", False
    panel.runner.run_button.click()
    panel.runner.join(120)
    assert panel.runner.last.step == 8 and not torch.equal(panel.runner.last.image, fourier)

    panel.mode.value, panel.layer.value, panel.channel.value = "channel", "stage4", 500
    panel.runner.run_button.click()
    assert "channel must be an int from 0 to 79" in panel.runner.status.text

    panel.mode.value, panel.target.value = "class", "no such class"
    panel.runner.run_button.click()
    assert "pick a class from the list" in panel.runner.status.text


def test_deepdream_panel_changes_the_photo(model):
    panel = DeepDreamPanel(model, size=96)
    before = pixels(panel.runner.preview.value).astype(float)
    panel.steps.value, panel.octaves.value, panel.layer.value = 3, 2, "stage3"
    panel.runner.run_button.click()
    panel.runner.join(120)
    after = pixels(panel.runner.preview.value).astype(float)
    assert panel.runner.last.step == 6 and "l2[stage3]" in panel.runner.last.losses
    assert after.shape == before.shape and np.abs(after - before).mean() > 1.0


def test_deepdream_panel_starts_at_the_recipes_defaults(model, monkeypatch):
    from lecture_utils.optimize import iterate_deepdream

    sliders = dict(steps="steps", lr="lr", jitter_px="jitter", octaves="octaves", octave_scale="octave_scale")
    panel = DeepDreamPanel(model, size=64)
    assert {k: getattr(panel, v).value for k, v in sliders.items()} == \
        {k: iterate_deepdream.__kwdefaults__[k] for k in sliders}
    changed = dict(steps=7, lr=0.02, jitter_px=16, octaves=5, octave_scale=1.6)
    monkeypatch.setattr(iterate_deepdream, "__kwdefaults__", {**iterate_deepdream.__kwdefaults__, **changed})
    panel = DeepDreamPanel(model, size=64)
    assert {k: getattr(panel, v).value for k, v in sliders.items()} == changed


def test_inversion_panel_uses_the_tv_slider(model):
    panel = InversionPanel(model, size=64)
    panel.steps.value, panel.layer.value, panel.tv_weight.value = 10, "stage2", 1.0
    panel.runner.run_button.click()
    panel.runner.join(120)
    assert panel.runner.last.step == 10
    assert panel.runner.last.image.shape == (1, 3, 64, 64)
    strong_tv = panel.runner.last.losses["tv2"]
    panel.tv_weight.value = 1e-4
    panel.runner.run_button.click()
    panel.runner.join(120)
    assert panel.runner.last.losses["tv2"] > strong_tv  # a weaker prior leaves a rougher image
