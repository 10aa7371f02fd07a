"""The widgets' shared pieces: errors in callbacks show in the panel, direct calls raise, the
runner drives any iterator of steps, and the package stays in small modules."""

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from lecture_utils import attribution, fast_style as fs, widgets
from lecture_utils.optimize import Step
from lecture_utils.widgets import AdversarialPanel, AttributionPanel, FastStylePanel, Runner, Status
from tests.test_widgets import pixels


def test_reporting_shows_the_error_keeps_it_and_lets_interrupts_through():
    status = Status()
    with status.reporting():
        raise ZeroDivisionError("no channels to average")
    assert status.text.endswith("ZeroDivisionError: no channels to average</span>")
    assert isinstance(status.exception, ZeroDivisionError) and status.exception.__traceback__ is not None
    with pytest.raises(KeyboardInterrupt), status.reporting():
        raise KeyboardInterrupt
    calls = []
    status.callback(lambda change: calls.append(change))("a change")
    assert calls == ["a change"]  # a wrapped callback gets its arguments


def test_an_error_in_render_shows_in_the_status_and_keeps_the_last_picture(model, monkeypatch):
    panel = AttributionPanel(model, image="cat", method="grad_cam")
    shown = bytes(panel.view.value)

    def broken(*args, **kwargs):
        raise RuntimeError("the backward pass fell over")

    monkeypatch.setattr(attribution, "attribute", broken)
    panel.method.value = "saliency"  # a control's callback: shown, not raised
    assert "RuntimeError: the backward pass fell over" in panel.status.text
    assert bytes(panel.view.value) == shown
    with pytest.raises(RuntimeError, match="fell over"):
        panel.render()  # called directly (a script, a test): it raises
    monkeypatch.undo()
    panel.opacity.value = 0.8  # the panel is alive: the next change draws and clears the line
    assert panel.status.text == "" and bytes(panel.view.value) != shown


def test_an_error_after_a_new_picture_shows_in_the_panels_own_line(monkeypatch):
    panel = FastStylePanel(image="cat", size=64)
    shown = panel.output_view.value
    monkeypatch.setattr(fs, "stylize", lambda net, image: 1 / 0)
    panel.picker.dropdown.value = "rocket"
    assert "ZeroDivisionError" in panel.status.text and panel.output_view.value == shown
    assert panel.picker.status.text == ""


def test_bad_settings_at_construction_raise(model):
    with pytest.raises(ValueError, match="needs a target class"):
        AdversarialPanel(model, image="cat", attack="fooling")


def test_a_bad_setting_at_run_shows_in_the_status_and_raises_when_called_directly():
    def make():
        raise ValueError("size must be at least 32")

    runner = Runner(make)
    runner.run_button.click()
    assert "ValueError: size must be at least 32" in runner.status.text and not runner.running
    assert not runner.run_button.disabled
    with pytest.raises(ValueError, match="at least 32"):
        runner.start()


class Steps:
    """A plain iterator of steps: no close(), only the attributes Runner may use."""

    def __init__(self, total):
        self.total, self.i = total, 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.i == self.total:
            raise StopIteration
        self.i += 1
        return SimpleNamespace(step=self.i, total=self.total, losses={"loss": 1.0 / self.i}, message=None,
                               image=torch.full((1, 3, 8, 8), self.i / self.total))  # not an optimize.Step


def test_runner_drives_a_plain_iterator_and_a_list():
    runner = Runner(lambda: Steps(4), preview_every=2)
    runner.run_button.click()
    runner.join(10)
    assert runner.last.step == 4 and runner.status.text == "done, 4 steps: loss 0.25"
    assert not runner.run_button.disabled and runner.stop_button.disabled
    assert pixels(runner.preview.value).mean() == pytest.approx(255, abs=1)
    runner.make_run = lambda: list(Steps(3))
    runner.run_button.click()
    runner.join(10)
    assert runner.last.step == 3 and runner.status.text.startswith("done, 3 steps")


def test_runner_closes_a_generator_it_stops():
    closed, gate = [], threading.Event()

    def steps():
        try:
            for i in range(1, 1001):
                yield Step(i, 1000, {"objective": 0.0}, torch.zeros(1, 3, 8, 8))
                gate.wait(5)
        finally:
            closed.append(True)  # what a run's own clean-up (removing its hooks) rests on

    runner = Runner(steps)
    runner.run_button.click()
    runner.stop_button.click()
    gate.set()
    runner.join(10)
    assert runner.last.step < 1000 and "stopped at step" in runner.status.text and closed == [True]


def test_every_module_of_the_package_is_under_300_lines():
    folder = Path(widgets.__file__).parent
    sizes = {path.name: len(path.read_text().splitlines()) for path in folder.glob("*.py")}
    assert len(sizes) >= 8
    assert {name: n for name, n in sizes.items() if n >= 300} == {}


def test_the_public_names_stay(model):
    names = ["ActivationExplorer", "AdversarialPanel", "AttributionPanel", "ClassImagePanel", "DeepDreamPanel",
             "FastStylePanel", "FeatureSpacePanel", "ImagePicker", "InversionPanel", "PredictionPanel", "Runner",
             "Status", "StyleTransferPanel", "TexturePanel", "image_view", "layer_picker"]
    assert [n for n in names if not hasattr(widgets, n)] == []
    # a panel displays as its widget tree, whose text nbval compares with the stored outputs
    text = widgets.PredictionPanel(model)._repr_mimebundle_()["text/plain"]
    assert text.startswith("VBox(children=(VBox(children=(HBox(children=(Dropdown(description='image'")
