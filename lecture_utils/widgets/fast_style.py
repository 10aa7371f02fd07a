"""Feed-forward style transfer with the shipped style networks (notebook 10)."""

import time

import ipywidgets as w

from .. import fast_style as fs
from .common import ImagePicker, Panel, Status, image_png, image_view, slider


class FastStylePanel(Panel):
    """Feed-forward style transfer (notebook 10): a picture (bundled or uploaded) beside its
    stylised version, a style network and the strength; the status line gives the size and
    the time of the forward pass. One forward pass per picture and style, cached: moving the
    strength slider only blends the cached result with the picture."""

    def __init__(self, image="palace", style=None, size=384):
        names = fs.shipped_styles()
        if not names:
            raise ValueError(f"no style networks in {fs.SHIPPED_DIR}: train one with python -m lecture_utils train-style")
        if style is not None and style not in names:
            raise ValueError(f"unknown style {style!r}; shipped: {', '.join(names)}")
        self.picker = ImagePicker(image, size=size)
        self.style = w.Dropdown(options=names, value=style or names[0], description="style")
        self.strength = slider(w.FloatSlider, 1.0, 0.0, 1.0, 0.05, "strength")
        self.input_view, self.output_view = image_view(), image_view()
        self.status = Status()
        self.widget = w.VBox([self.picker.widget, w.HBox([self.style, self.strength]),
                              w.HBox([self.input_view, self.output_view]), self.status.widget])
        self._networks, self._stylised = {}, None  # style -> network; (image, style, result, seconds)
        render = self.status.callback(lambda *_: self.render())  # from the picker and the sliders
        self.picker.on_change(render)
        self.style.observe(render, "value")
        self.strength.observe(render, "value")
        self.render()

    def stylised(self):
        """(the picture stylised at full strength, seconds its forward pass took), cached."""
        image, style = self.picker.image, self.style.value
        cached = self._stylised
        if cached is None or cached[0] is not image or cached[1] != style:
            if style not in self._networks:
                self._networks[style] = fs.load_style_network(style, device="cpu")
            start = time.perf_counter()
            result = fs.stylize(self._networks[style], image)
            self._stylised = cached = (image, style, result, time.perf_counter() - start)  # one: memory
        return cached[2], cached[3]

    def render(self):
        image = self.picker.image
        full, seconds = self.stylised()
        blended = self.strength.value * full + (1 - self.strength.value) * image
        self.input_view.value = image_png(image)
        self.output_view.value = image_png(blended)
        h, w_ = image.shape[-2:]
        self.status.info(f"{w_} x {h} px: one forward pass, {seconds:.2f} s")
