"""What each panel action costs in lecture time (the README's section for instructors); run.py
calls `rows()`.

Every action is the panel's own, at the settings its notebook (and the demo page) builds it
with, timed as a click or a slider move would run it: a Run button's whole run to the last
step, a control's change to the new picture. Then the demo page (notebooks/demo.ipynb): the
first tab at the start (the network loaded), and each other tab the first time it is opened.

Targets: a click that redraws within 5 s (a pause the room accepts); a Run button within 60 s
(the length of a question to the room while it runs); the first tab within 20 s and any
other within 5 s.
"""

import time

from lecture_utils import load_model
from lecture_utils.widgets import (AdversarialPanel, AttributionPanel, ClassImagePanel, DeepDreamPanel, DemoPage,
                                   FastStylePanel, InversionPanel, StyleTransferPanel, TexturePanel)
from lecture_utils.style import vgg19

CLICK_S, RUN_S, FIRST_TAB_S, TAB_S = 5, 60, 20, 5


def seconds(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run_to_the_end(panel):
    """A Run button's whole run: start it and wait for its last step."""
    def action():
        panel.runner.start()
        panel.runner.join()
        assert panel.runner.last is not None and panel.runner.last.step == panel.runner.last.total, panel.runner.last
    return action


def panel_rows(model):
    attribution = AttributionPanel(model, image="cat_and_espresso", method="saliency")  # 224 x 673 px
    square = AttributionPanel(model, image="cat", method="saliency")  # 224 x 224 px
    adversarial = AdversarialPanel(model, image="cat", attack="pgd", eps=2, steps=10)
    fast = FastStylePanel(image="palace")
    networks = {"bundled EfficientNet-Lite0": model, "VGG-19, random weights": vgg19(weights="random", device="cpu")}
    clicks = [
        ("Grad-CAM (03)", lambda: setattr(attribution.method, "value", "grad_cam")),
        ("SmoothGrad (03)", lambda: setattr(attribution.method, "value", "smoothgrad")),
        ("occlusion, window 48, stride 24, on the 224 x 673 photo (03)",
         lambda: setattr(attribution.method, "value", "occlusion")),
        ("occlusion, window 48, stride 24, on a 224 x 224 photo (03)", lambda: setattr(square.method, "value", "occlusion")),
        ("PGD-10 at a new eps (05)", lambda: setattr(adversarial.eps, "value", 4)),
        ("one fast-style image, 384 px (10)", lambda: setattr(fast.style, "value", fast.style.options[-1])),
    ]
    runs = [
        ("class image, Run at the defaults (04)", ClassImagePanel(model)),
        ("DeepDream, Run at the defaults (06)", DeepDreamPanel(model)),
        ("feature inversion, Run at the defaults (07)", InversionPanel(model)),
        ("texture, Run at the defaults (08)", TexturePanel(networks, image="bricks", size=96)),
        ("style transfer, Run at the defaults (09)",
         StyleTransferPanel(networks, content="palace", style="cafe_terrace", size=128, steps=60)),
    ]
    rows = []
    for name, action in clicks:
        s = seconds(action)
        rows.append((f"lecture: {name}, one click (s)", s, None, f"<= {CLICK_S}", s <= CLICK_S))
    for name, panel in runs:
        s = seconds(run_to_the_end(panel))
        rows.append((f"lecture: {name} (s)", s, None, f"<= {RUN_S}", s <= RUN_S))
    return rows


def demo_rows():
    """The demo page in this process: the first tab (the network loaded with it), then each
    other tab's first opening (notebook 02's codes from the cache its notebook filled)."""
    start = time.perf_counter()
    page = DemoPage()
    first = time.perf_counter() - start
    rows = [("demo page: first tab, the network loaded (s)", first, None, f"<= {FIRST_TAB_S}", first <= FIRST_TAB_S)]
    for index, (title, _) in enumerate(page.TOPICS[1:], start=1):
        s = seconds(lambda: setattr(page.tabs, "selected_index", index))
        assert index in page.panels, f"{title} did not open"
        rows.append((f"demo page: open the tab {title} (s)", s, None, f"<= {TAB_S}", s <= TAB_S))
    return rows


def rows():
    return demo_rows() + panel_rows(load_model(device="cpu"))
