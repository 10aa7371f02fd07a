"""The demo page: one tab per notebook, each panel built when its tab is first opened."""

from lecture_utils.widgets import ActivationExplorer, AttributionPanel, DemoPage, FastStylePanel, PredictionPanel
from tests.helpers import ForwardCounter


def test_a_tab_per_notebook_and_only_the_first_built_at_the_start(model):
    with ForwardCounter(model) as counter:
        page = DemoPage(model)
    assert len(page.tabs.children) == len(DemoPage.TOPICS) == 11
    assert [t[:2] for t in page.tabs.titles] == [f"{n:02d}" for n in range(11)]
    assert list(page.panels) == [0] and isinstance(page.panels[0], PredictionPanel)
    assert counter.calls == 1  # the first tab's prediction, nothing for the others
    assert page.tabs.children[0].children == (page.panels[0].widget,)


def test_opening_a_tab_builds_its_notebooks_panel_once(model):
    page = DemoPage(model)
    for index, kind in [(1, ActivationExplorer), (3, AttributionPanel), (10, FastStylePanel)]:
        page.tabs.selected_index = index
        assert isinstance(page.panels[index], kind)
        assert page.tabs.children[index].children == (page.panels[index].widget,)
    built = page.panels[3]
    page.tabs.selected_index = 0
    page.tabs.selected_index = 3
    assert page.panels[3] is built
    assert sorted(page.panels) == [0, 1, 3, 10]


def test_a_tab_that_fails_to_open_says_why_and_the_others_still_open(model, monkeypatch):
    def broken(self):
        raise FileNotFoundError("no Fashion-MNIST <here>")

    monkeypatch.setattr(DemoPage, "_feature_space", broken)
    page = DemoPage(model)
    page.tabs.selected_index = 2
    assert 2 not in page.panels
    [message] = page.tabs.children[2].children
    assert "02 Features</b> could not be opened: FileNotFoundError: no Fashion-MNIST &lt;here&gt;" in message.value
    page.tabs.selected_index = 1
    assert isinstance(page.panels[1], ActivationExplorer)


def test_runs_of_three_tabs_and_clicks_in_a_fourth_share_the_network_at_once(model):
    # The demo page's panels share one network: a run in the background must not break another.
    page = DemoPage(model)
    for index in (3, 4, 6, 7):
        page.tabs.selected_index = index
    page.panels[4].steps.value = 16
    page.panels[6].steps.value = 2
    page.panels[7].steps.value = 40
    runners = [page.panels[index].runner for index in (4, 6, 7)]
    for runner in runners:
        runner.run_button.click()
    attribution = page.panels[3]
    for method in ("saliency", "grad_cam", "occlusion"):
        attribution.method.value = method
        assert attribution.status.widget.value == "", attribution.status.widget.value
    for runner in runners:
        runner.join(120)
        assert not runner.running and runner.last.step == runner.last.total, runner.status.widget.value
        assert runner.status.widget.value.startswith("done"), runner.status.widget.value
