"""Texture synthesis (notebook 08) and Gatys style transfer (notebook 09), each run with a
`Runner`; both can switch between several networks."""

import ipywidgets as w

from .. import style as st
from .common import ImagePicker, Panel, image_png, image_view, slider
from .runner import Runner


def _networks(models):
    """{label: model} from a model or a dict of them."""
    if isinstance(models, dict):
        if not models:
            raise ValueError("give at least one model")
        return dict(models)
    return {models.name: models}


class TexturePanel(Panel):
    """Texture synthesis (notebook 08): a texture to copy (bundled or uploaded) beside the
    synthesised one; the network, the deepest style layer (all default style layers up to it
    are used), SWAG smoothing, output size and iterations."""

    def __init__(self, models, image="bricks", size=96, steps=40):
        self.models = _networks(models)
        self.picker = ImagePicker(image, size=256)
        self.network = w.Dropdown(options=list(self.models), description="network")
        self.deepest = w.SelectionSlider(options=["-"], description="deepest layer", continuous_update=False,
                                         style={"description_width": "initial"})
        self.size = slider(w.IntSlider, size, 32, 256, 16, "size (px)")
        self.steps = slider(w.IntSlider, steps, 5, 300, 5, "iterations")
        self.swag = w.Checkbox(value=False, description="SWAG smoothing")
        self.original = image_view()
        self.runner = Runner(self.make_run, preview_every=5)
        self.status = self.runner.status
        self.widget = w.VBox([
            self.picker.widget, w.HBox([self.network, self.deepest, self.swag]), w.HBox([self.size, self.steps]),
            w.HBox([self.original, self.runner.widget]),
        ])
        self.network.observe(self.status.callback(self._on_network), "value")
        self.picker.on_change(self._show_original)
        self._on_network()
        self._show_original(self.picker.image)

    def _on_network(self, change=None):
        sets = st.texture_layer_sets(self.models[self.network.value])
        self.deepest.options = [s[-1] for s in sets]
        self.deepest.value = sets[-1][-1]

    def _show_original(self, image):
        self.original.value = image_png(image)

    def make_run(self):
        model = self.models[self.network.value]
        layers = next(s for s in st.texture_layer_sets(model) if s[-1] == self.deepest.value)
        return st.iterate_texture(model, self.picker.image, layers=layers, size=self.size.value,
                          steps=self.steps.value, swag=self.swag.value,
                          optimizer="adam" if self.swag.value else "lbfgs")


class StyleTransferPanel(Panel):
    """Neural style transfer (notebook 09): content and style pictures (bundled or uploaded), the
    network, style / content / TV weights, content layer, style layers, size, iterations, start,
    optimiser, colour preservation and SWAG; Run, Stop, progress and live preview (which starts
    as the content picture)."""

    def __init__(self, models, content="palace", style="cafe_terrace", size=128, steps=60):
        self.models = _networks(models)
        self.content = ImagePicker(content, size=256)
        self.content.dropdown.description = "content"
        self.style = ImagePicker(style, size=256)
        self.style.dropdown.description = "style"
        self.network = w.Dropdown(options=list(self.models), description="network")
        self.style_weight = slider(w.FloatLogSlider, 20.0, -1, 4, 0.25, "style weight", base=10)
        self.content_weight = slider(w.FloatLogSlider, 1.0, -2, 2, 0.25, "content weight", base=10)
        self.tv_weight = slider(w.FloatLogSlider, 1.0, -3, 2, 0.25, "TV weight", base=10)
        self.content_layer = w.Dropdown(description="content layer", style={"description_width": "initial"})
        self.style_layers = w.SelectMultiple(description="style layers", rows=6, style={"description_width": "initial"})
        self.size = slider(w.IntSlider, size, 32, 512, 16, "size (px)")
        self.steps = slider(w.IntSlider, steps, 5, 500, 5, "iterations")
        self.init = w.ToggleButtons(options=list(st.INITS), value="content", description="start from")
        self.optimizer = w.ToggleButtons(options=list(st.OPTIMIZERS), value="lbfgs", description="optimiser")
        self.preserve_colors = w.Checkbox(value=False, description="keep the content's colours")
        self.swag = w.Checkbox(value=False, description="SWAG smoothing")
        self.runner = Runner(self.make_run, preview_every=5)
        self.status = self.runner.status
        self.widget = w.VBox([
            w.HBox([self.content.widget, self.style.widget]),
            w.HBox([self.network, self.preserve_colors, self.swag]),
            w.HBox([self.style_weight, self.content_weight, self.tv_weight]),
            w.HBox([self.content_layer, self.style_layers]), w.HBox([self.size, self.steps]),
            w.HBox([self.init, self.optimizer]), self.runner.widget,
        ])
        self.network.observe(self.status.callback(self._on_network), "value")
        self._on_network()
        self.runner.show(self.content.image)

    def _on_network(self, change=None):
        model = self.models[self.network.value]
        content_layer, style_layers = st.default_layers(model)
        self.content_layer.options = self.style_layers.options = list(model.layers)
        self.content_layer.value, self.style_layers.value = content_layer, tuple(style_layers)

    def make_run(self):
        if not self.style_layers.value:
            raise ValueError("select at least one style layer")
        return st.iterate_style_transfer(
            self.models[self.network.value], self.content.image, self.style.image, size=self.size.value,
            content_weight=self.content_weight.value, style_weight=self.style_weight.value,
            tv_weight=self.tv_weight.value, content_layer=self.content_layer.value,
            style_layers=list(self.style_layers.value), init=self.init.value, optimizer=self.optimizer.value,
            steps=self.steps.value, preserve_colors=self.preserve_colors.value, swag=self.swag.value)
