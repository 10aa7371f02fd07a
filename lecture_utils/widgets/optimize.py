"""Images made by gradient ascent or descent: class and channel images (notebook 04),
DeepDream (notebook 06) and feature inversion (notebook 07). Each runs with a `Runner`."""

import ipywidgets as w

from .. import optimize as opt, parameterize
from ..images import center_square
from .common import ImagePicker, Panel, defaults, image_png, image_view, layer_picker, slider
from .runner import Runner


class ClassImagePanel(Panel):
    """Images that a class or a channel likes (notebook 04): what to maximise, the
    parameterisation, random views on or off, step size, size and iterations; Run, Stop,
    progress and live preview."""

    def __init__(self, model, target="dumbbell", layer=None):
        self.model = model
        self.mode = w.ToggleButtons(options=["class", "channel"], value="class")
        self.target = w.Combobox(value=target, options=model.categories, ensure_option=True,
                                 description="class")
        self.layer = layer_picker(model, layer)
        self.channel = w.BoundedIntText(value=0, min=0, max=10_000, description="channel")
        self.parameterization = w.ToggleButtons(options=list(parameterize.PARAMETERIZATIONS),
                                                value="fourier_decorrelated", description="optimise")
        self.views = w.Checkbox(value=True, description="random views (pad, jitter, zoom, rotate)")
        self.lr = slider(w.FloatLogSlider, 0.05, -3, -0.5, 0.1, "step size", base=10)
        self.size = slider(w.IntSlider, 160, 64, 320, 16, "size (px)")
        self.steps = slider(w.IntSlider, 64, 8, 512, 8, "iterations")
        self.runner = Runner(self.make_run)
        self.status = self.runner.status
        self.widget = w.VBox([
            self.mode, w.HBox([self.target, self.layer, self.channel]), self.parameterization,
            w.HBox([self.views, self.lr]), w.HBox([self.size, self.steps]), self.runner.widget,
        ])

    def make_run(self):
        settings = dict(steps=self.steps.value, size=self.size.value, lr=self.lr.value,
                        parameterization=self.parameterization.value,
                        transforms=None if self.views.value else ())
        if self.mode.value == "class":
            if self.target.value not in self.model.categories:
                raise ValueError(f"pick a class from the list; {self.target.value!r} is not one of the 1000")
            return opt.iterate_class_image(self.model, self.target.value, **settings)
        return opt.iterate_channel_image(self.model, self.layer.value, self.channel.value, **settings)


class DeepDreamPanel(Panel):
    """DeepDream on a bundled or uploaded photo (notebook 06): layer, step size, jitter,
    octaves, octave scale, iterations per octave; the preview starts as the photo."""

    def __init__(self, model, image="palace", layer=None, size=256):
        self.model = model
        self.picker = ImagePicker(image, size=size)
        self.layer = layer_picker(model, layer)
        start = defaults(opt.iterate_deepdream)  # the sliders start where the recipe does
        self.lr = slider(w.FloatLogSlider, start["lr"], -3, -1, 0.1, "step size", base=10)
        self.jitter = slider(w.IntSlider, start["jitter_px"], 0, 64, 1, "jitter (px)")
        self.octaves = slider(w.IntSlider, start["octaves"], 1, 6, 1, "octaves")
        self.octave_scale = slider(w.FloatSlider, start["octave_scale"], 1.1, 2.0, 0.05, "octave scale")
        self.steps = slider(w.IntSlider, start["steps"], 1, 50, 1, "iterations per octave")
        self.runner = Runner(self.make_run, preview_every=2)
        self.status = self.runner.status
        self.widget = w.VBox([
            self.picker.widget, self.layer, w.HBox([self.lr, self.jitter]),
            w.HBox([self.octaves, self.octave_scale, self.steps]), self.runner.widget,
        ])
        self.picker.on_change(self.runner.show)
        self.runner.show(self.picker.image)

    def make_run(self):
        return opt.iterate_deepdream(self.model, self.picker.image, self.layer.value, steps=self.steps.value,
                                     lr=self.lr.value, jitter_px=self.jitter.value, octaves=self.octaves.value,
                                     octave_scale=self.octave_scale.value)


class InversionPanel(Panel):
    """Feature inversion (notebook 07): the photo beside its reconstruction from one layer's
    features, with the total-variation weight as a slider."""

    def __init__(self, model, image="espresso", layer=None, size=160):
        self.model, self.size = model, size
        self.picker = ImagePicker(image, size=size)
        self.layer = layer_picker(model, layer)
        self.tv_weight = slider(w.FloatLogSlider, 0.5, -4, 0, 0.25, "TV weight", base=10)
        self.steps = slider(w.IntSlider, 300, 10, 2000, 10, "iterations")
        self.original = image_view()
        self.runner = Runner(self.make_run, preview_every=5)
        self.status = self.runner.status
        self.widget = w.VBox([
            self.picker.widget, w.HBox([self.layer, self.tv_weight, self.steps]),
            w.HBox([self.original, self.runner.widget]),
        ])
        self.picker.on_change(self._show_original)
        self._show_original(self.picker.image)

    def _show_original(self, image):
        self.image = center_square(image, self.size)
        self.original.value = image_png(self.image)

    def make_run(self):
        return opt.iterate_inversion(self.model, self.image, self.layer.value, tv_weight=self.tv_weight.value,
                                     steps=self.steps.value)
