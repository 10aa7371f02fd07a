"""The demo page: one tab per notebook, each panel built when its tab is first opened."""

import ast
from pathlib import Path

from lecture_utils.widgets import (ActivationExplorer, AtlasBrowser, AttributionPanel, DemoPage, FastStylePanel,
                                   LiveExplorer, PredictionPanel)
from lecture_utils.widgets.demo import PICTURE_ZOOM
from tests.helpers import ForwardCounter


def tab(title):
    """The index of the demo page's tab with this title."""
    return [t for t, _ in DemoPage.TOPICS].index(title)


def test_a_tab_per_notebook_and_only_the_first_built_at_the_start(model):
    with ForwardCounter(model) as counter:
        page = DemoPage(model)
    assert len(page.tabs.children) == len(DemoPage.TOPICS)
    numbers = [int(t[:2]) for t in page.tabs.titles]  # every notebook, in order; 01 and 04 have two
    notebooks = {int(p.name[:2]) for p in (Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.py")}
    assert sorted(numbers) == numbers and set(numbers) == notebooks
    assert list(page.panels) == [0] and isinstance(page.panels[0], PredictionPanel)
    assert counter.calls == 1  # the first tab's prediction, nothing for the others
    assert page.tabs.children[0].children == (page.panels[0].widget,)


def test_opening_a_tab_builds_its_notebooks_panel_once(model):
    page = DemoPage(model)
    opened = [(tab("01 Activations"), ActivationExplorer), (tab("01 Live"), LiveExplorer),
              (tab("03 Attribution"), AttributionPanel), (tab("04 Atlas"), AtlasBrowser),
              (tab("10 Fast style"), FastStylePanel)]
    for index, kind in opened:
        page.tabs.selected_index = index
        assert isinstance(page.panels[index], kind)
        assert page.tabs.children[index].children == (page.panels[index].widget,)
    attribution = tab("03 Attribution")
    built = page.panels[attribution]
    page.tabs.selected_index = 0
    page.tabs.selected_index = attribution
    assert page.panels[attribution] is built
    assert sorted(page.panels) == sorted([0] + [index for index, _ in opened])


def test_a_tab_that_fails_to_open_says_why_and_the_others_still_open(model, monkeypatch):
    def broken(self):
        raise FileNotFoundError("no Fashion-MNIST <here>")

    monkeypatch.setattr(DemoPage, "_feature_space", broken)
    page = DemoPage(model)
    features = tab("02 Features")
    page.tabs.selected_index = features
    assert features not in page.panels
    [message] = page.tabs.children[features].children
    assert "02 Features</b> could not be opened: FileNotFoundError: no Fashion-MNIST &lt;here&gt;" in message.value
    page.tabs.selected_index = tab("01 Activations")
    assert isinstance(page.panels[tab("01 Activations")], ActivationExplorer)


def test_runs_of_three_tabs_and_clicks_in_a_fourth_share_the_network_at_once(model):
    # The demo page's panels share one network: a run in the background must not break another.
    page = DemoPage(model)
    runs = [tab("04 Class images"), tab("06 DeepDream"), tab("07 Inversion")]
    for index in [tab("03 Attribution")] + runs:
        page.tabs.selected_index = index
    for index, steps in zip(runs, (16, 2, 40)):
        page.panels[index].steps.value = steps
    runners = [page.panels[index].runner for index in runs]
    for runner in runners:
        runner.run_button.click()
    attribution = page.panels[tab("03 Attribution")]
    for method in ("saliency", "grad_cam", "occlusion"):
        attribution.method.value = method
        assert attribution.status.widget.value == "", attribution.status.widget.value
    for runner in runners:
        runner.join(120)
        assert not runner.running and runner.last.step == runner.last.total, runner.status.widget.value
        assert runner.status.widget.value.startswith("done"), runner.status.widget.value


def test_the_pictures_are_drawn_larger_on_the_demo_page_only(model):
    # Each tab's pictures grow by the tab's factor (the browser test measures them at 1280x720);
    # the rules name the demo page's own tab classes, so a notebook's panel keeps its size.
    titles = [t for t, _ in DemoPage.TOPICS]
    assert set(PICTURE_ZOOM) <= set(titles), set(PICTURE_ZOOM) - set(titles)  # renaming a tab renames its factor
    assert all(1 <= zoom <= 4 for zoom in PICTURE_ZOOM.values())
    page = DemoPage(model)
    style = page.widget.children[0].value
    for index, (title, _) in enumerate(DemoPage.TOPICS):
        assert f"lu-demo-tab-{index}" in page.tabs.children[index]._dom_classes
        rule = f".lu-demo-tab-{index} .widget-image {{ zoom: {PICTURE_ZOOM.get(title)};"
        assert (rule in style) == (title in PICTURE_ZOOM), (title, style)
    assert not page.panels[0].widget._dom_classes  # the panel itself is the notebook's, unchanged


def panel_calls(tree, statement):
    """{panel class: its keyword settings} of the panel calls (a name ending in Panel, Explorer
    or Browser) that are `statement`s (ast.Expr: a notebook cell's last line; ast.Return: a
    demo tab's builder) in the parsed source `tree`."""
    calls = {}
    for node in ast.walk(tree):
        call = getattr(node, "value", None) if isinstance(node, statement) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
                and call.func.id.endswith(("Panel", "Explorer", "Browser")):
            calls[call.func.id] = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    return calls


def test_each_demo_tab_builds_its_panel_with_its_notebooks_settings():
    # The notebooks' panel cells are what students read; the demo page repeats them, and the two
    # copies must not drift apart (they did: 01's live explorer and 04's atlas browser).
    root = Path(__file__).parent.parent
    demo = panel_calls(ast.parse((root / "lecture_utils" / "widgets" / "demo.py").read_text()), ast.Return)
    notebooks = {}
    for source in sorted((root / "notebooks").glob("[0-9][0-9]_*.py")):
        notebooks.update(panel_calls(ast.parse(source.read_text()), ast.Expr))
    assert set(demo) == set(notebooks), set(demo) ^ set(notebooks)
    for panel, settings in demo.items():
        assert settings == notebooks[panel], f"{panel}: the demo page's {settings}, the notebook's {notebooks[panel]}"
