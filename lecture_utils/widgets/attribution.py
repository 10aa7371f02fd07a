"""Where the network looks (notebook 03): every attribution method on one picture."""

import ipywidgets as w

import torch

from .. import _checks, attribution, faithfulness
from ..activations import predict
from ..plotting import gradient_image, heatmap_image, overlay
from .common import ImagePicker, Panel, Status, array_png, defaults, image_view, layer_picker


class AttributionPanel(Panel):
    """Where the network looks (notebook 03): method, target class (one of the top 5, or any
    class by name), Grad-CAM layer, occlusion window and stride, overlay opacity.

    Per-pixel maps are drawn over the picture, per-channel results as a signed gradient image;
    with "deletion area" ticked, below it the map's deletion area (`faithfulness.deletion`)
    beside a random order's (33 more forward passes a map: off by default, so that a click
    costs what the method costs). Results are cached per setting, so the opacity slider (and going back to an earlier
    setting) answers without recomputing. The image is used whole, its shorter side 224 px.
    """

    def __init__(self, model, image="cat", method="grad_cam"):
        self.model = model
        self.picker = ImagePicker(image)
        self.method = w.Dropdown(options=list(attribution.METHODS), value=method, description="method")
        self.target = w.Dropdown(description="target")
        self.other = w.Combobox(options=model.categories, placeholder="or type any class name",
                                ensure_option=True, description="any class")
        self.layer = layer_picker(model, attribution.LAST_CONV.get(model.name), "CAM layer")
        start = defaults(attribution.occlusion)  # the sliders start where the method does
        self.window = w.IntSlider(value=start["window"], min=8, max=112, step=8, description="window",
                                  continuous_update=False)
        self.stride = w.IntSlider(value=start["stride"], min=4, max=56, step=4, description="stride",
                                  continuous_update=False)
        self.opacity = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="opacity")
        self.view = image_view()
        self.measure = w.Checkbox(value=False, description="deletion area (how faithful the map is)", indent=False)
        self.faithful = w.HTML()
        self.status = Status()
        self.widget = w.VBox([
            self.picker.widget, w.HBox([self.method, self.target, self.other]),
            w.HBox([self.layer, self.window, self.stride]), w.HBox([self.opacity, self.measure]), self.view, self.faithful, self.status.widget,
        ])
        self._cache = {}
        self._render = self.status.callback(self.render)  # kept: set_image unhooks it for a moment
        self.picker.on_change(self.status.callback(self.set_image))
        self.other.observe(self.status.callback(self._on_other), "value")
        for control in (self.method, self.target, self.layer, self.window, self.stride, self.opacity, self.measure):
            control.observe(self._render, "value")
        self.set_image(self.picker.image)

    def set_image(self, image):
        self.image = image
        self._cache.clear()
        top = predict(self.model, self.image, k=5)
        self.target.unobserve(self._render, "value")  # one render below, not one per option change
        self.target.options = [(f"{name} ({p:.0%})", index) for index, name, p in top]
        self.target.value = top[0][0]
        self.target.observe(self._render, "value")
        self.render()

    def _on_other(self, change):
        if change["new"]:  # the box holds only class names (ensure_option); empty: nothing typed
            index = _checks.class_index(self.model, change["new"], "class")
            if index not in [value for _, value in self.target.options]:
                self.target.options = [*self.target.options, (change["new"], index)]
            self.target.value = index  # renders through the target observer

    def settings(self):
        """Every setting a method may take; `attribution.attribute` gives each only its own."""
        return {"layer": self.layer.value, "window": self.window.value, "stride": self.stride.value}

    def _key(self):
        # only the settings this method takes: moving the occlusion window while Grad-CAM is
        # shown recomputes nothing
        name = self.method.value
        return name, self.target.value, tuple(attribution.settings_of(name, self.settings()).items())

    def result(self):
        """The current method's result for the current settings (cached)."""
        key = self._key()
        if key not in self._cache:
            self._cache[key] = attribution.attribute(self.model, self.method.value, self.image, self.target.value,
                                                     **self.settings()).cpu()
        return self._cache[key]

    def deletion_areas(self):
        """The deletion areas of the current map and of a random order, for the current target (cached)."""
        areas = []
        for key, map in ((("deletion", *self._key()), self.result),
                         (("deletion at random", self.target.value), self._random_order)):
            if key not in self._cache:
                self._cache[key] = float(faithfulness.deletion(self.model, self.image, self.target.value, map()).area[0])
            areas.append(self._cache[key])
        return areas

    def _random_order(self):
        return torch.rand(1, *self.image.shape[-2:], generator=torch.Generator().manual_seed(0))

    def render(self, change=None):
        result = self.result()  # before any drawing: if it fails, the last picture stays
        areas = self.deletion_areas() if self.measure.value else None
        self.status.clear()
        if result.ndim == 4:  # per channel: a signed gradient image
            picture = gradient_image(result)
        else:
            picture = overlay(self.image, heatmap_image(result[0], "gray")[..., 0], self.opacity.value)
        self.view.value = array_png(picture)
        self.faithful.value = "" if areas is None else (
            f"Deletion area {areas[0]:.2f}, a random order's {areas[1]:.2f}: the probability left, on average, as "
            f"the pixels the map ranks first are blurred (lower is better)")
