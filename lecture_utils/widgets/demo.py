"""The demo page: every notebook's panel in a tab of its own, for a live demo with no code in
sight (notebooks/demo.ipynb, served by Voilà: `make demo`).

A tab's panel is built the first time the tab is opened, with the settings its notebook uses,
so the page shows its first tab at once and holds in memory only what was opened. The networks
are loaded once and shared by every tab.
"""

import functools
import html

import ipywidgets as widgets

from .activations import ActivationExplorer, PredictionPanel
from .adversarial import AdversarialPanel
from .atlas import AtlasBrowser
from .attribution import AttributionPanel
from .common import Panel
from .explorer import LiveExplorer
from .fast_style import FastStylePanel
from .feature_space import FeatureSpacePanel
from .optimize import ClassImagePanel, DeepDreamPanel, InversionPanel
from .style import StyleTransferPanel, TexturePanel


# Lumino's tab bar gives every tab the same share of one row and cuts the titles that do not fit
# ("04 Class ima" on a 1280 px projector): each tab as wide as its title, the bar wrapping to
# as many rows as it needs.
TAB_BAR_STYLE = """<style>
.widget-tab > .lm-TabBar .lm-TabBar-content { flex-wrap: wrap; }
.widget-tab > .lm-TabBar .lm-TabBar-tab { flex: 0 0 auto; min-width: 0; max-width: none; }
.widget-tab > .lm-TabBar .lm-TabBar-tabLabel { overflow: visible; text-overflow: clip; }
</style>"""

# The panels draw their pictures 224 px high for a notebook page, which leaves most of a 1280 px
# projector empty: on the demo page each tab's pictures (ipywidgets Images) are drawn this many
# times larger, so that they span at least 60% of the page's width at 1280x720 without reaching
# past it (the browser test measures both). CSS zoom keeps each picture's aspect ratio and lets
# the panel's rows grow around it; the controls keep their size, and a picture taller than what
# is left of the screen is scrolled to with its Run button above it. The PNGs are 224 px high,
# so a grown picture is interpolated smoothly (photos, maps and plots). Tabs not named keep their
# size: 01 Live and 04 Atlas fill the width already, and their clickable tile grids (anywidgets,
# not Images) place their marks and read their clicks in their own pixels. The rules name only
# the demo page's tab boxes: a panel in a notebook looks as before.
PICTURE_ZOOM = {
    "00 Predict": 1.5,
    "01 Activations": 1.4,
    "02 Features": 1.3,
    "03 Attribution": 1.5,
    "04 Class images": 3.6,
    "05 Adversarial": 1.4,
    "06 DeepDream": 2.6,
    "07 Inversion": 2.0,
    "08 Texture": 2.0,
    "09 Style": 2.6,
    "10 Fast style": 1.5,
}


def picture_style(zooms):
    """The demo page's CSS that draws the pictures of tab i (class `lu-demo-tab-i`) zooms[i] times
    larger, smoothly interpolated (photos, maps and plots, not pixel art)."""
    rules = [f".lu-demo-tab-{i} .widget-image {{ zoom: {zoom}; image-rendering: auto; }}"
             for i, zoom in enumerate(zooms) if zoom != 1]
    return "<style>\n" + "\n".join(rules) + "\n</style>"


class DemoPage(Panel):
    """One tab per notebook, each holding that notebook's panel (`TOPICS`: tab title and the
    method that builds the panel; `PICTURE_ZOOM`: how much larger the tab draws its pictures).
    `tabs.selected_index` picks a tab, as a click does; `panels` holds the panels built so far,
    by tab index."""

    TOPICS = [  # short titles; the tab bar wraps to a second row rather than cut one
        ("00 Predict", "_predictions"),
        ("01 Activations", "_activations"),
        ("01 Live", "_live"),
        ("02 Features", "_feature_space"),
        ("03 Attribution", "_attribution"),
        ("04 Class images", "_class_images"),
        ("04 Atlas", "_atlas"),
        ("05 Adversarial", "_adversarial"),
        ("06 DeepDream", "_deepdream"),
        ("07 Inversion", "_inversion"),
        ("08 Texture", "_texture"),
        ("09 Style", "_style_transfer"),
        ("10 Fast style", "_fast_style"),
    ]

    def __init__(self, model=None):
        self._given_model = model
        self.panels = {}
        children = [widgets.VBox([widgets.Label("Opening ...")]) for _ in self.TOPICS]
        for index, child in enumerate(children):
            child.add_class(f"lu-demo-tab-{index}")
        self.tabs = widgets.Tab(children=children, titles=[title for title, _ in self.TOPICS])
        zooms = [PICTURE_ZOOM.get(title, 1) for title, _ in self.TOPICS]
        self.widget = widgets.VBox([widgets.HTML(TAB_BAR_STYLE + picture_style(zooms)), self.tabs])
        self.tabs.observe(lambda change: self._open(change["new"]), "selected_index")
        self._open(self.tabs.selected_index or 0)

    def _open(self, index):
        if index is None or index in self.panels:
            return
        title, build = self.TOPICS[index]
        try:
            panel = getattr(self, build)()
        except Exception as error:  # the tab says what failed; the other tabs keep working
            message = html.escape(f"{type(error).__name__}: {error}")
            self.tabs.children[index].children = [widgets.HTML(f"<b>{title}</b> could not be opened: {message}")]
            return
        self.panels[index] = panel
        self.tabs.children[index].children = [panel.widget]

    # The networks and data, loaded the first time a tab needs them.
    @functools.cached_property
    def model(self):
        from .. import load_model

        return self._given_model if self._given_model is not None else load_model(device="cpu")

    @functools.cached_property
    def vgg(self):
        from .. import style

        return style.vgg19(weights="random", device="cpu")

    # Each notebook's panel, as its notebook builds it.
    def _predictions(self):
        return PredictionPanel(self.model, image="cat")

    def _activations(self):
        return ActivationExplorer(self.model, image="cat", layer="stage3")

    def _live(self):
        return LiveExplorer(self.model, image="cat", layer="stage5", channel=20)

    def _atlas(self):
        return AtlasBrowser(self.model, layer="stage5", channel=20)

    def _feature_space(self):
        from .. import embedding
        from ..datasets import load_collection

        collection = load_collection()
        codes = embedding.collection_codes(self.model, collection, ["stage2", "stage3", "stage4", "head"], size=160)
        return FeatureSpacePanel(self.model, collection, codes)

    def _attribution(self):
        return AttributionPanel(self.model, image="cat_and_espresso", method="grad_cam")

    def _class_images(self):
        return ClassImagePanel(self.model)

    def _adversarial(self):
        return AdversarialPanel(self.model, image="cat", attack="pgd", eps=2, steps=10)

    def _deepdream(self):
        return DeepDreamPanel(self.model)

    def _inversion(self):
        return InversionPanel(self.model)

    def _networks(self):
        return {"bundled EfficientNet-Lite0": self.model, "VGG-19, random weights": self.vgg}

    def _texture(self):
        return TexturePanel(self._networks(), image="bricks", size=96)

    def _style_transfer(self):
        return StyleTransferPanel(self._networks(), content="palace", style="cafe_terrace", size=128, steps=60)

    def _fast_style(self):
        return FastStylePanel(image="palace")
