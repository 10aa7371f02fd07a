"""What the network predicts (notebook 00) and what each layer's channels respond to (notebook 01)."""

import ipywidgets as w
import torch

from ..activations import get_activations, predict
from ..images import center_square
from ..plotting import colorize, figure_png, png_bytes, prediction_bars
from .common import VIEW_HEIGHT, ImagePicker, Panel, image_png, image_view, layer_picker


class PredictionPanel(Panel):
    """Pick or upload an image and see the model's top-k classes (notebook 00)."""

    def __init__(self, model, image="cat", k=5):
        self.model, self.k = model, k
        self.picker = ImagePicker(image)
        self.status = self.picker.status  # the panel's one line is the picker's
        self.input_view = image_view()
        self.bars_view = image_view(180)
        self.widget = w.VBox([self.picker.widget, w.HBox([self.input_view, self.bars_view])])
        self.picker.on_change(self.show)
        self.show(self.picker.image)

    def show(self, image):
        square = center_square(image)
        self.predictions = predict(self.model, square, k=self.k)
        self.input_view.value = image_png(square)
        self.bars_view.value = figure_png(prediction_bars(self.predictions, title=f"{self.model.name}"))


class ActivationExplorer(Panel):
    """Activation maps of any layer and channel for a picked or uploaded image (notebook 01).

    One forward pass per image fills a cache of every layer's activation; moving the layer or
    channel slider only re-colours a cached map, with no forward pass. Layers without a
    spatial map (fully connected ones) are not offered.
    """

    def __init__(self, model, image="cat", layer=None, cmap="viridis"):
        self.model, self.cmap = model, cmap
        self.picker = ImagePicker(image)
        self.status = self.picker.status
        self.layer = layer_picker(model, layer)
        self.channel = w.IntSlider(value=0, min=0, max=1, description="channel",
                                   continuous_update=True, layout=w.Layout(width="420px"))
        self.input_view = image_view()
        self.map_view = image_view()
        self.info = w.HTML()
        self.widget = w.VBox([
            self.picker.widget, self.layer, self.channel,
            w.HBox([self.input_view, self.map_view]), self.info,
        ])
        self.activations = {}
        self.picker.on_change(self.set_image)
        self.layer.observe(self.status.callback(self._on_layer), "value")
        self.channel.observe(self.status.callback(self.render), "value")
        self.set_image(self.picker.image)

    def set_image(self, image):
        with torch.no_grad():
            acts = get_activations(self.model, image, list(self.model.layers))
        # maps need a spatial layer: fully connected ones (fc6, fc8, ...) have none
        self.activations = {name: a[0].cpu() for name, a in acts.items() if a.ndim == 4}
        if list(self.layer.options) != list(self.activations):
            self.layer.options = list(self.activations)
        self.input_view.value = image_png(image)
        self._on_layer()

    def _on_layer(self, change=None):
        channels = self.activations[self.layer.value].shape[0]
        if self.channel.value > channels - 1:
            self.channel.value = channels - 1  # renders through the channel observer
        self.channel.max = channels - 1
        self.render()

    def render(self, change=None):
        amap = self.activations[self.layer.value][self.channel.value]
        self.map_view.value = png_bytes(colorize(amap, self.cmap), VIEW_HEIGHT)
        c, h, wd = self.activations[self.layer.value].shape
        self.info.value = (
            f"<b>{self.layer.value}</b>: {c} channels of {h}x{wd}; channel {self.channel.value}: "
            f"max {float(amap.max()):.2f}, mean {float(amap.mean()):.2f}, "
            f"{float((amap > 0).float().mean()):.0%} of positions active"
        )
