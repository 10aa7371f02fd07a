"""Headless tests of the feed-forward style panel (notebook 10)."""

import numpy as np
import pytest

from lecture_utils import fast_style as fs
from lecture_utils.widgets import FastStylePanel
from tests.test_widgets import pixels


def test_strength_only_blends_and_a_new_style_runs_one_pass(monkeypatch):
    panel = FastStylePanel(image="cat", size=96)
    assert list(panel.style.options) == fs.shipped_styles()
    calls, stylize = [], fs.stylize
    monkeypatch.setattr(fs, "stylize", lambda net, image: calls.append(1) or stylize(net, image))
    full = pixels(panel.output_view.value)
    assert not np.array_equal(full, pixels(panel.input_view.value))
    panel.strength.value = 0.0
    assert np.array_equal(pixels(panel.output_view.value), pixels(panel.input_view.value))
    panel.strength.value = 0.5
    assert not calls  # the slider reused the cached result
    panel.style.value = fs.shipped_styles()[1]
    assert len(calls) == 1
    assert not np.array_equal(pixels(panel.output_view.value), full)
    assert "one forward pass" in panel.status.text


def test_a_new_picture_is_stylised_and_a_bad_upload_is_reported():
    panel = FastStylePanel(image="cat", size=96)
    panel.picker.dropdown.value = "rocket"
    assert not np.array_equal(pixels(panel.output_view.value), pixels(panel.input_view.value))
    before = pixels(panel.output_view.value)
    panel.picker.add_upload("notes.txt", b"not an image")
    assert "notes.txt" in panel.picker.status.text and panel.picker.dropdown.value == "rocket"
    assert np.array_equal(pixels(panel.output_view.value), before)


def test_an_unknown_style_names_the_shipped_ones():
    with pytest.raises(ValueError, match="shipped: " + fs.shipped_styles()[0]):
        FastStylePanel(style="no_such_style")
