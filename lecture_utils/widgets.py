"""ipywidgets panels for the notebooks, built from a few shared pieces.

Pieces: `ImagePicker` (bundled photos plus upload), `layer_picker`, `Status` (shows errors in
the panel instead of killing it). Panels: `PredictionPanel` (notebook 00),
`ActivationExplorer` (notebook 01) and `AttributionPanel` (notebook 03). Each panel keeps its
controls as attributes, so a test or a script can set `panel.channel.value = 3` and read
`panel.map_view.value`.

Callbacks only assign widget values and never print: output printed from a callback lands in
the browser, not in the notebook file (see ../shared/NOTES-tools.md).
"""

import html
import threading

import ipywidgets as w
import numpy as np
import torch

from .activations import get_activations, predict
from .images import bundled_images, center_square, load_image, to_pil
from .plotting import colorize, figure_png, gradient_image, heatmap_image, overlay, png_bytes, prediction_bars

VIEW_HEIGHT = 224  # pixels of every picture a panel shows


class Status:
    """One line under a panel: empty when all is well, the error's message when not."""

    def __init__(self):
        self.widget = w.HTML(value="")

    def clear(self):
        self.widget.value = ""

    def info(self, text):
        self.widget.value = html.escape(text)

    def error(self, error):
        self.widget.value = f'<span style="color:#b00020">{html.escape(str(error))}</span>'

    @property
    def text(self):
        return self.widget.value


class ImagePicker:
    """A dropdown of the bundled photos and an upload button; `.image` is the current tensor.

    Uploads are added to the dropdown as "upload: NAME". A file that is not a usable image
    leaves the current image in place and shows why in `.status`. `on_change(callback)`
    registers `callback(image)`, called after every change of image.
    """

    def __init__(self, initial="cat", size=VIEW_HEIGHT):
        self.size = size
        self._uploads = {}
        self._callbacks = []
        self._quiet = False
        self.status = Status()
        self.dropdown = w.Dropdown(options=bundled_images(), value=initial, description="image")
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="upload")
        self.widget = w.VBox([w.HBox([self.dropdown, self.upload]), self.status.widget])
        self.image = load_image(initial, size)
        self.dropdown.observe(self._on_select, "value")
        self.upload.observe(self._on_upload, "value")

    def on_change(self, callback):
        self._callbacks.append(callback)

    def add_upload(self, name, content):
        """Add an uploaded file (its bytes) and select it; bad files only set the status."""
        try:
            image = load_image(bytes(content), self.size)
        except ValueError as error:  # ImageError, or a shape that cannot be resized sensibly
            self.status.error(f"{name}: {error}")
            return
        key = f"upload: {name}"
        self._uploads[key] = image
        self._quiet = True  # changing options may select another entry on the way
        try:
            self.dropdown.options = [*bundled_images(), *self._uploads]
        finally:
            self._quiet = False
        if self.dropdown.value == key:
            self._select(key)
        else:
            self.dropdown.value = key

    def _on_upload(self, change):
        for item in change["new"]:
            self.add_upload(item["name"], item["content"])

    def _on_select(self, change):
        if not self._quiet and change["new"] is not None:
            self._select(change["new"])

    def _select(self, key):
        self.image = self._uploads[key] if key in self._uploads else load_image(key, self.size)
        self.status.clear()
        for callback in self._callbacks:
            try:
                callback(self.image)
            except Exception as error:  # keep the panel alive and say what went wrong
                self.status.error(f"{type(error).__name__}: {error}")


def layer_picker(model, value=None, description="layer"):
    """A slider over the model's layers, shallow to deep, by their short names."""
    names = list(model.layers)
    return w.SelectionSlider(options=names, value=value or names[0], description=description,
                             continuous_update=False, layout=w.Layout(width="420px"))


def image_view(height=VIEW_HEIGHT):
    # align_self: a VBox stretches its children to its width, which would distort the picture.
    return w.Image(format="png", layout=w.Layout(height=f"{height}px", width="auto", align_self="flex-start",
                                                 object_fit="contain"))


def _rgb_uint8(image):
    return np.asarray(to_pil(image))


class _Panel:
    """Displays as its `widget`."""

    widget = None

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class PredictionPanel(_Panel):
    """Pick or upload an image and see the model's top-k classes (notebook 00)."""

    def __init__(self, model, image="cat", k=5):
        self.model, self.k = model, k
        self.picker = ImagePicker(image)
        self.input_view = image_view()
        self.bars_view = image_view(180)
        self.widget = w.VBox([self.picker.widget, w.HBox([self.input_view, self.bars_view])])
        self.picker.on_change(self.show)
        self.show(self.picker.image)

    def show(self, image):
        square = center_square(image)
        self.predictions = predict(self.model, square, k=self.k)
        self.input_view.value = png_bytes(_rgb_uint8(square), VIEW_HEIGHT)
        self.bars_view.value = figure_png(prediction_bars(self.predictions, title=f"{self.model.name}"))


class ActivationExplorer(_Panel):
    """Activation maps of any layer and channel for a picked or uploaded image (notebook 01).

    One forward pass per image fills a cache of every layer's activation; moving the layer or
    channel slider only re-colours a cached map, with no forward pass.
    """

    def __init__(self, model, image="cat", layer=None, cmap="viridis"):
        self.model, self.cmap = model, cmap
        self.picker = ImagePicker(image)
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
        self.layer.observe(self._on_layer, "value")
        self.channel.observe(self.render, "value")
        self.set_image(self.picker.image)

    def set_image(self, image):
        with torch.no_grad():
            acts = get_activations(self.model, image, list(self.model.layers))
        # maps need a spatial layer: fully connected ones (fc6, fc8, ...) have none
        self.activations = {name: a[0].cpu() for name, a in acts.items() if a.ndim == 4}
        if list(self.layer.options) != list(self.activations):
            self.layer.options = list(self.activations)
        self.input_view.value = png_bytes(_rgb_uint8(image), VIEW_HEIGHT)
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


class AttributionPanel(_Panel):
    """Where the network looks (notebook 03): method, target class, Grad-CAM layer, occlusion
    window and stride, overlay opacity.

    Results are cached per setting, so the opacity slider (and going back to an earlier
    setting) answers without recomputing. The image is used whole, its shorter side 224 px.
    """

    def __init__(self, model, image="cat", method="grad_cam"):
        from . import attribution

        self.model, self.methods = model, attribution.METHODS
        self.picker = ImagePicker(image)
        self.method = w.Dropdown(options=list(self.methods), value=method, description="method")
        self.target = w.Dropdown(description="target")
        self.other = w.Combobox(options=model.categories, placeholder="or type any class name",
                                ensure_option=True, description="any class")
        self.layer = layer_picker(model, attribution.LAST_CONV.get(model.name), "CAM layer")
        self.window = w.IntSlider(value=48, min=8, max=112, step=8, description="window",
                                  continuous_update=False)
        self.stride = w.IntSlider(value=24, min=4, max=56, step=4, description="stride",
                                  continuous_update=False)
        self.opacity = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="opacity")
        self.view = image_view()
        self.status = Status()
        self.widget = w.VBox([
            self.picker.widget, w.HBox([self.method, self.target, self.other]),
            w.HBox([self.layer, self.window, self.stride]), self.opacity, self.view, self.status.widget,
        ])
        self._cache = {}
        self.picker.on_change(self.set_image)
        self.other.observe(self._on_other, "value")
        for control in (self.method, self.target, self.layer, self.window, self.stride, self.opacity):
            control.observe(self.render, "value")
        self.set_image(self.picker.image)

    def set_image(self, image):
        self.image = image
        self._cache.clear()
        top = predict(self.model, self.image, k=5)
        self.target.unobserve(self.render, "value")
        self.target.options = [(f"{name} ({p:.0%})", index) for index, name, p in top]
        self.target.value = top[0][0]
        self.target.observe(self.render, "value")
        self.render()

    def _on_other(self, change):
        if change["new"] in self.model.categories:
            index = self.model.categories.index(change["new"])
            if index not in [value for _, value in self.target.options]:
                self.target.options = [*self.target.options, (change["new"], index)]
            self.target.value = index  # renders through the target observer

    def result(self):
        """The current method's result for the current settings (cached)."""
        name = self.method.value
        kwargs = {}
        if name in ("grad_cam", "guided_grad_cam"):
            kwargs["layer"] = self.layer.value
        if name == "occlusion":
            kwargs.update(window=self.window.value, stride=self.stride.value)
        key = (name, self.target.value, tuple(sorted(kwargs.items())))
        if key not in self._cache:
            self._cache[key] = self.methods[name](self.model, self.image, self.target.value, **kwargs).cpu()
        return self._cache[key]

    def render(self, change=None):
        try:
            result = self.result()
        except Exception as error:  # show it in the panel and keep the last picture
            self.status.error(f"{type(error).__name__}: {error}")
            return
        self.status.clear()
        if result.ndim == 4:  # per channel: a signed gradient image
            picture = gradient_image(result)
        else:
            picture = overlay(self.image, heatmap_image(result[0], "gray")[..., 0], self.opacity.value)
        self.view.value = png_bytes((picture * 255).round().astype("uint8"), VIEW_HEIGHT)


# ---------------------------------------------------------------- feature space (notebook 02)


class FeatureSpacePanel(_Panel):
    """Nearest neighbours of a query in pixel space and in feature space (notebook 02).

    The query is an image of the collection (slider) or an uploaded photo; the layer picks
    among the layers whose codes were computed (so changing it needs no forward pass); k is
    the number of neighbours. An upload costs one forward pass, then every view is instant.

    Args:
        model: the model the codes came from.
        collection: a `datasets.Collection`.
        codes: `embedding.collection_codes(model, collection, layers)`.
        layer: the layer shown first (default: the deepest in `codes`); k: neighbours.
    """

    def __init__(self, model, collection, codes, layer=None, k=6, query=0):
        from . import embedding

        self.model, self.collection, self.codes, self.embedding = model, collection, codes, embedding
        self.pixels = embedding.pixels(collection)
        self.size = next(iter(codes.values())).size
        self.query = w.IntSlider(value=query, min=0, max=len(collection) - 1, description="query",
                                 continuous_update=False, layout=w.Layout(width="420px"))
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="upload")
        self.layer = w.Dropdown(options=list(codes), value=layer or list(codes)[-1], description="layer")
        self.k = w.IntSlider(value=k, min=1, max=12, description="k", continuous_update=False)
        self.view = image_view(260)
        self.status = Status()
        self.widget = w.VBox([w.HBox([self.query, self.upload]), w.HBox([self.layer, self.k]),
                              self.view, self.status.widget])
        self.uploaded = None  # (name, image (1, 3, S, S), {layer: code}, pixel vector)
        self.query.observe(self._on_query, "value")
        self.upload.observe(self._on_upload, "value")
        for control in (self.layer, self.k):
            control.observe(self.render, "value")
        self.render()

    def _on_query(self, change=None):
        self.uploaded = None  # moving the slider goes back to the collection
        self.render()

    def _on_upload(self, change):
        for item in change["new"]:
            self.add_upload(item["name"], item["content"])

    def add_upload(self, name, content):
        """Use an uploaded photo (its bytes) as the query; a bad file only sets the status."""
        try:
            image = center_square(load_image(bytes(content)), self.size)
        except ValueError as error:
            self.status.error(f"{name}: {error}")
            return
        codes = self.embedding.compute_codes(self.model, image, list(self.codes))
        side = self.collection.images.shape[-1]
        small = torch.nn.functional.interpolate(image, size=(side, side), mode="bilinear", antialias=True,
                                                align_corners=False)
        self.uploaded = (name, image, {n: c.mean[0] for n, c in codes.items()}, small.flatten())
        self.render()

    def neighbours(self):
        """{"pixels": (indices, distances), "features": (indices, distances)} for the current query."""
        e, k = self.embedding, self.k.value
        means = self.codes[self.layer.value].mean
        mu = means.mean(0)
        if self.uploaded is None:
            q = self.query.value
            # k + 1 and drop the query itself: it is always its own nearest neighbour
            pix = e.nearest_neighbors(self.pixels, q, k + 1, "euclidean")
            feat = e.nearest_neighbors(means - mu, q, k + 1, "cosine")
            return {"pixels": _without(pix, q, k), "features": _without(feat, q, k)}
        _, _, code, pixel = self.uploaded
        return {"pixels": e.nearest_neighbors(self.pixels, pixel, k, "euclidean"),
                "features": e.nearest_neighbors(means - mu, code[self.layer.value] - mu, k, "cosine")}

    def render(self, change=None):
        from .plotting import neighbor_rows

        try:
            found = self.neighbours()
            names = self.collection.classes
            rows = []
            for space, metric in (("pixels", "Euclidean"), ("features", "cosine")):
                indices, dist = found[space]
                captions = [f"{names[int(self.collection.labels[i])]}\n{d:.2f}" for i, d in zip(indices.tolist(), dist.tolist())]
                label = "pixels" if space == "pixels" else f"{self.layer.value} codes"
                rows.append((f"{label}\n({metric})", self.collection.images[indices], captions))
            if self.uploaded is None:
                query = self.collection.images[self.query.value]
                what = names[int(self.collection.labels[self.query.value])]
            else:
                query, what = self.uploaded[1][0], f"upload: {self.uploaded[0]}"
            self.view.value = figure_png(neighbor_rows(query, rows, title=f"query: {what}"), dpi=72)
        except Exception as error:  # show it in the panel and keep the last picture
            self.status.error(f"{type(error).__name__}: {error}")
            return
        self.status.clear()


def _without(found, index, k):
    """Neighbours without the query itself, k of them."""
    indices, dist = found
    keep = indices != index
    return indices[keep][:k], dist[keep][:k]


# ---------------------------------------------------------------- adversarial examples (notebook 05)


class AdversarialPanel(_Panel):
    """Attack a picked or uploaded image (notebook 05): attack, eps, steps, target class.

    Shows the image, the change magnified and the adversarial image, with the top-5 before and
    after. eps is in grey levels (of 255) per pixel; for "PGD (L2)" the budget is the L2 norm
    of a change of eps grey levels on every pixel. An empty target class means untargeted
    (move away from the model's own prediction); the fooling image needs a target. Results
    are cached per setting, so going back to an earlier setting answers at once.
    """

    ATTACKS = {"FGSM": "fgsm", "PGD (L-inf)": "pgd", "PGD (L2)": "pgd_l2", "fooling image": "fooling"}

    def __init__(self, model, image="cat", attack="fgsm", eps=2, steps=10, target=""):
        self.model = model
        self.picker = ImagePicker(image)
        self.attack = w.Dropdown(options=list(self.ATTACKS.items()), value=attack, description="attack")
        self.eps = w.IntSlider(value=eps, min=1, max=32, description="eps (/255)", continuous_update=False)
        self.steps = w.IntSlider(value=steps, min=1, max=50, description="steps", continuous_update=False)
        self.target = w.Combobox(options=model.categories, value=target, placeholder="untargeted",
                                 ensure_option=True, description="target class")
        self.views = [image_view(), image_view(), image_view()]
        self.before_view, self.after_view = image_view(150), image_view(150)
        self.info = w.HTML()
        self.status = Status()
        self.widget = w.VBox([
            self.picker.widget, w.HBox([self.attack, self.target]), w.HBox([self.eps, self.steps]),
            w.HBox(self.views), w.HBox([self.before_view, self.after_view]), self.info, self.status.widget,
        ])
        self._cache = {}
        self.picker.on_change(self.set_image)
        for control in (self.attack, self.eps, self.steps, self.target):
            control.observe(self.render, "value")
        self.set_image(self.picker.image)

    def set_image(self, image):
        self.image = center_square(image, 224)
        self._cache.clear()
        self.before = predict(self.model, self.image, k=5)
        self.render()

    def _target_index(self):
        name = self.target.value
        return self.model.categories.index(name) if name in self.model.categories else None

    def result(self):
        """The adversarial image for the current settings (cached)."""
        from . import adversarial

        kind, eps, steps, target = self.attack.value, self.eps.value / 255, self.steps.value, self._target_index()
        key = (kind, eps, steps, target)
        if key not in self._cache:
            label = self.before[0][0]
            if kind == "fgsm":
                out = adversarial.fgsm(self.model, self.image, label, eps=eps, target=target)
            elif kind == "pgd":
                out = adversarial.pgd(self.model, self.image, label, eps=eps, steps=steps, target=target,
                                      random_start=False)
            elif kind == "pgd_l2":
                l2 = eps * self.image[0].numel() ** 0.5  # eps grey levels on every pixel
                out = adversarial.pgd(self.model, self.image, label, eps=l2, steps=steps, norm="l2",
                                      target=target, random_start=False)
            else:
                if target is None:
                    raise ValueError("the fooling image needs a target class: type one in 'target class'")
                out = adversarial.fooling_image(self.model, self.image, target, max_steps=steps * 10)
            self._cache[key] = out.detach().cpu()
        return self._cache[key]

    def render(self, change=None):
        try:
            adv = self.result()
        except Exception as error:  # show it in the panel and keep the last pictures
            self.status.error(f"{type(error).__name__}: {error}")
            return
        self.status.clear()
        from .plotting import perturbation_image

        self.after = predict(self.model, adv, k=5)
        change, scale = perturbation_image(adv - self.image)
        pictures = [_rgb_uint8(self.image), (change * 255).round().astype("uint8"), _rgb_uint8(adv)]
        for view, picture in zip(self.views, pictures):
            view.value = png_bytes(picture, VIEW_HEIGHT)
        self.before_view.value = figure_png(prediction_bars(self.before, title="before"))
        self.after_view.value = figure_png(prediction_bars(self.after, title="after"))
        delta = adv - self.image
        self.info.value = (
            f"<b>{html.escape(self.before[0][1])}</b> ({self.before[0][2]:.0%}) &rarr; "
            f"<b>{html.escape(self.after[0][1])}</b> ({self.after[0][2]:.0%}); change: max "
            f"{float(delta.abs().max()) * 255:.1f}/255, L2 {float(delta.norm()):.2f}; "
            f"shown magnified x {scale:.0f}"
        )


# --- image optimisation (notebooks 04, 06, 07) -------------------------------------------------

class Runner:
    """Run and Stop buttons, a progress bar, a live preview and a status line for a method that
    yields `optimize.Step`s.

    `make_steps()` (set by the panel) builds the iterator when Run is pressed; its errors (bad
    settings) show in the status line at once. The run goes on in a background thread, so the
    Stop button is heard while it runs; Stop keeps the last image, and Run does nothing while
    a run is going. `last` is the last `Step` received; `join()` waits for the run to end.
    """

    def __init__(self, make_steps=None, preview_every=5, height=VIEW_HEIGHT):
        self.make_steps, self.preview_every, self.height = make_steps, preview_every, height
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="step 0")
        self.preview = image_view(height)
        self.status = Status()
        self.last = None
        self._thread, self._stop = None, threading.Event()
        self.run_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.widget = w.VBox([w.HBox([self.run_button, self.stop_button, self.progress]),
                              self.preview, self.status.widget])

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def show(self, image):
        """Put an image (1, 3, h, w) in the preview."""
        self.preview.value = png_bytes(_rgb_uint8(image), self.height)

    def start(self):
        if self.running:
            return
        try:
            steps = self.make_steps()
        except Exception as error:  # bad settings: say so, keep the last picture
            self.status.error(f"{type(error).__name__}: {error}")
            return
        self._stop.clear()
        self.status.info("running…")
        self.run_button.disabled, self.stop_button.disabled = True, False
        self._thread = threading.Thread(target=self._loop, args=(steps,), daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()

    def join(self, timeout=None):
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self, steps):
        # Only assigns widget values: printing from a thread would go nowhere useful.
        step = None
        try:
            for step in steps:
                self.last = step
                self.progress.max, self.progress.value = step.total, step.step
                self.progress.description = f"step {step.step}"
                if step.message or step.step % self.preview_every == 0 or step.step == step.total:
                    self.show(step.image)
                if step.message:
                    self.status.error(step.message)
                    return
                if self._stop.is_set():
                    self.status.info(f"stopped at step {step.step}; the preview is its image")
                    return
            self.status.info(_losses_text(step) if step else "nothing to do")
        except Exception as error:  # keep the panel alive and say what went wrong
            self.status.error(f"{type(error).__name__}: {error}")
        finally:
            steps.close()
            self.run_button.disabled, self.stop_button.disabled = False, True


def _losses_text(step):
    return f"done, {step.step} steps: " + ", ".join(f"{k} {v:.4g}" for k, v in step.losses.items())


def _slider(kind, value, low, high, step, description, **kwargs):
    return kind(value=value, min=low, max=high, step=step, description=description,
                continuous_update=False, style={"description_width": "initial"}, **kwargs)


class ClassImagePanel(_Panel):
    """Images that a class or a channel likes (notebook 04): what to maximise, step size,
    jitter, L2 weight, blur and iterations; Run, Stop, progress and live preview."""

    def __init__(self, model, target="dumbbell", layer="stage4"):
        self.model = model
        self.mode = w.ToggleButtons(options=["class", "channel"], value="class")
        self.target = w.Combobox(value=target, options=model.categories, ensure_option=True,
                                 description="class")
        self.layer = layer_picker(model, layer)
        self.channel = w.BoundedIntText(value=0, min=0, max=10_000, description="channel")
        self.lr = _slider(w.FloatLogSlider, 0.02, -3, -0.5, 0.1, "step size", base=10)
        self.jitter = _slider(w.IntSlider, 8, 0, 32, 1, "jitter (px)")
        self.l2_weight = _slider(w.FloatSlider, 0.1, 0.0, 2.0, 0.05, "L2 weight")
        self.blur = _slider(w.FloatSlider, 0.5, 0.0, 2.0, 0.1, "blur sigma")
        self.steps = _slider(w.IntSlider, 100, 10, 400, 10, "iterations")
        self.runner = Runner(self.make_steps)
        self.widget = w.VBox([
            self.mode, w.HBox([self.target, self.layer, self.channel]),
            w.HBox([self.lr, self.jitter, self.l2_weight]), w.HBox([self.blur, self.steps]),
            self.runner.widget,
        ])

    def make_steps(self):
        from . import optimize as opt

        settings = dict(steps=self.steps.value, lr=self.lr.value, l2_weight=self.l2_weight.value,
                        jitter_px=self.jitter.value, blur=self.blur.value)
        if self.mode.value == "class":
            if self.target.value not in self.model.categories:
                raise ValueError(f"pick a class from the list; {self.target.value!r} is not one of the 1000")
            return opt.class_image(self.model, self.target.value, **settings)
        return opt.channel_image(self.model, self.layer.value, self.channel.value, **settings)


class DeepDreamPanel(_Panel):
    """DeepDream on a bundled or uploaded photo (notebook 06): layer, step size, jitter,
    octaves, octave scale, iterations per octave."""

    def __init__(self, model, image="palace", layer="stage4", size=256):
        self.model = model
        self.picker = ImagePicker(image, size=size)
        self.layer = layer_picker(model, layer)
        self.lr = _slider(w.FloatLogSlider, 0.01, -3, -1, 0.1, "step size", base=10)
        self.jitter = _slider(w.IntSlider, 32, 0, 64, 1, "jitter (px)")
        self.octaves = _slider(w.IntSlider, 3, 1, 6, 1, "octaves")
        self.octave_scale = _slider(w.FloatSlider, 1.4, 1.1, 2.0, 0.05, "octave scale")
        self.steps = _slider(w.IntSlider, 10, 1, 50, 1, "iterations per octave")
        self.runner = Runner(self.make_steps, preview_every=2)
        self.widget = w.VBox([
            self.picker.widget, self.layer, w.HBox([self.lr, self.jitter]),
            w.HBox([self.octaves, self.octave_scale, self.steps]), self.runner.widget,
        ])
        self.picker.on_change(self.runner.show)
        self.runner.show(self.picker.image)

    def make_steps(self):
        from . import optimize as opt

        return opt.deepdream(self.model, self.picker.image, self.layer.value, steps=self.steps.value,
                             lr=self.lr.value, jitter_px=self.jitter.value, octaves=self.octaves.value,
                             octave_scale=self.octave_scale.value)


class InversionPanel(_Panel):
    """Feature inversion (notebook 07): reconstruct the photo from one layer's features, with
    the total-variation weight as a slider; the status line gives the relative feature error."""

    def __init__(self, model, image="espresso", layer="stage4", size=160):
        self.model, self.size = model, size
        self.picker = ImagePicker(image, size=size)
        self.layer = layer_picker(model, layer)
        self.tv_weight = _slider(w.FloatLogSlider, 0.5, -4, 0, 0.25, "TV weight", base=10)
        self.steps = _slider(w.IntSlider, 300, 10, 2000, 10, "iterations")
        self.original = image_view()
        self.runner = Runner(self.make_steps, preview_every=5)
        self.widget = w.VBox([
            self.picker.widget, w.HBox([self.layer, self.tv_weight, self.steps]),
            w.HBox([self.original, self.runner.widget]),
        ])
        self.picker.on_change(self._show_original)
        self._show_original(self.picker.image)

    def _show_original(self, image):
        self.image = center_square(image, self.size)
        self.original.value = png_bytes(_rgb_uint8(self.image), VIEW_HEIGHT)

    def make_steps(self):
        from . import optimize as opt

        steps, _ = opt.invert(self.model, self.image, self.layer.value, tv_weight=self.tv_weight.value,
                              steps=self.steps.value)
        return steps


# --- texture synthesis and style transfer (notebooks 08 and 09) -------------------------------

def _networks(models):
    """{label: model} from a model or a dict of them."""
    if isinstance(models, dict):
        if not models:
            raise ValueError("give at least one model")
        return dict(models)
    return {models.name: models}


class TexturePanel(_Panel):
    """Texture synthesis (notebook 08): a texture to copy (bundled or uploaded), the network, the
    deepest style layer (all default style layers up to it are used), output size, iterations."""

    def __init__(self, models, image="bricks", size=96, steps=40):
        from . import style

        self.style, self.models = style, _networks(models)
        self.picker = ImagePicker(image, size=256)
        self.network = w.Dropdown(options=list(self.models), description="network")
        self.deepest = w.SelectionSlider(options=["-"], description="deepest layer", continuous_update=False,
                                         style={"description_width": "initial"})
        self.size = _slider(w.IntSlider, size, 32, 256, 16, "size (px)")
        self.steps = _slider(w.IntSlider, steps, 5, 300, 5, "iterations")
        self.swag = w.Checkbox(value=False, description="SWAG smoothing")
        self.original = image_view()
        self.runner = Runner(self.make_steps, preview_every=5)
        self.widget = w.VBox([
            self.picker.widget, w.HBox([self.network, self.deepest, self.swag]), w.HBox([self.size, self.steps]),
            w.HBox([self.original, self.runner.widget]),
        ])
        self.network.observe(self._on_network, "value")
        self.picker.on_change(self._show_original)
        self._on_network()
        self._show_original(self.picker.image)

    def _on_network(self, change=None):
        sets = self.style.texture_layer_sets(self.models[self.network.value])
        self.deepest.options = [s[-1] for s in sets]
        self.deepest.value = sets[-1][-1]

    def _show_original(self, image):
        self.original.value = png_bytes(_rgb_uint8(image), VIEW_HEIGHT)

    def make_steps(self):
        model = self.models[self.network.value]
        sets = self.style.texture_layer_sets(model)
        layers = next(s for s in sets if s[-1] == self.deepest.value)
        return self.style.texture(model, self.picker.image, layers=layers, size=self.size.value,
                                  steps=self.steps.value, swag=self.swag.value,
                                  optimizer="adam" if self.swag.value else "lbfgs")


class StyleTransferPanel(_Panel):
    """Neural style transfer (notebook 09): content and style pictures (bundled or uploaded), the
    network, style / content / TV weights, content layer, style layers, size, iterations, start,
    optimiser, colour preservation and SWAG; Run, Stop, progress and live preview."""

    def __init__(self, models, content="palace", style="cafe_terrace", size=128, steps=60):
        from . import style as st

        self.st, self.models = st, _networks(models)
        self.content = ImagePicker(content, size=256)
        self.content.dropdown.description = "content"
        self.style = ImagePicker(style, size=256)
        self.style.dropdown.description = "style"
        self.network = w.Dropdown(options=list(self.models), description="network")
        self.style_weight = _slider(w.FloatLogSlider, 20.0, -1, 4, 0.25, "style weight", base=10)
        self.content_weight = _slider(w.FloatLogSlider, 1.0, -2, 2, 0.25, "content weight", base=10)
        self.tv_weight = _slider(w.FloatLogSlider, 1.0, -3, 2, 0.25, "TV weight", base=10)
        self.content_layer = w.Dropdown(description="content layer", style={"description_width": "initial"})
        self.style_layers = w.SelectMultiple(description="style layers", rows=6, style={"description_width": "initial"})
        self.size = _slider(w.IntSlider, size, 32, 512, 16, "size (px)")
        self.steps = _slider(w.IntSlider, steps, 5, 500, 5, "iterations")
        self.init = w.ToggleButtons(options=list(st.INITS), value="content", description="start from")
        self.optimizer = w.ToggleButtons(options=list(st.OPTIMIZERS), value="lbfgs", description="optimiser")
        self.preserve_colors = w.Checkbox(value=False, description="keep the content's colours")
        self.swag = w.Checkbox(value=False, description="SWAG smoothing")
        self.runner = Runner(self.make_steps, preview_every=5)
        self.widget = w.VBox([
            w.HBox([self.content.widget, self.style.widget]),
            w.HBox([self.network, self.preserve_colors, self.swag]),
            w.HBox([self.style_weight, self.content_weight, self.tv_weight]),
            w.HBox([self.content_layer, self.style_layers]), w.HBox([self.size, self.steps]),
            w.HBox([self.init, self.optimizer]), self.runner.widget,
        ])
        self.network.observe(self._on_network, "value")
        self._on_network()
        self.runner.show(self.content.image)

    def _on_network(self, change=None):
        model = self.models[self.network.value]
        content_layer, style_layers = self.st.default_layers(model)
        self.content_layer.options = self.style_layers.options = list(model.layers)
        self.content_layer.value, self.style_layers.value = content_layer, tuple(style_layers)

    def make_steps(self):
        if not self.style_layers.value:
            raise ValueError("select at least one style layer")
        return self.st.style_transfer(
            self.models[self.network.value], self.content.image, self.style.image, size=self.size.value,
            content_weight=self.content_weight.value, style_weight=self.style_weight.value,
            tv_weight=self.tv_weight.value, content_layer=self.content_layer.value,
            style_layers=list(self.style_layers.value), init=self.init.value, optimizer=self.optimizer.value,
            steps=self.steps.value, preserve_colors=self.preserve_colors.value, swag=self.swag.value)


class FastStylePanel(_Panel):
    """Feed-forward style transfer (notebook 10): a picture (bundled or uploaded), a style
    network and the strength. One forward pass per picture and style, cached: moving the
    strength slider only blends the cached result with the picture."""

    def __init__(self, image="palace", style=None, size=384):
        from . import fast_style as fs

        self.fs = fs
        names = fs.shipped_styles()
        if not names:
            raise ValueError(f"no style networks in {fs.SHIPPED_DIR}: train one with python -m lecture_utils train-style")
        if style is not None and style not in names:
            raise ValueError(f"unknown style {style!r}; shipped: {', '.join(names)}")
        self.picker = ImagePicker(image, size=size)
        self.style = w.Dropdown(options=names, value=style or names[0], description="style")
        self.strength = _slider(w.FloatSlider, 1.0, 0.0, 1.0, 0.05, "strength")
        self.input_view, self.output_view = image_view(), image_view()
        self.status = Status()
        self.widget = w.VBox([self.picker.widget, w.HBox([self.style, self.strength]),
                              w.HBox([self.input_view, self.output_view]), self.status.widget])
        self._networks, self._stylised = {}, None  # style -> network; (image, style, result, seconds)
        self.picker.on_change(lambda image: self.render())
        self.style.observe(lambda change: self.render(), "value")
        self.strength.observe(lambda change: self.render(), "value")
        self.render()

    def stylised(self):
        """(the picture stylised at full strength, seconds its forward pass took), cached."""
        import time

        image, style = self.picker.image, self.style.value
        cached = self._stylised
        if cached is None or cached[0] is not image or cached[1] != style:
            if style not in self._networks:
                self._networks[style] = self.fs.load_style_network(style, device="cpu")
            start = time.perf_counter()
            result = self.fs.stylize(self._networks[style], image)
            self._stylised = cached = (image, style, result, time.perf_counter() - start)  # one: memory
        return cached[2], cached[3]

    def render(self):
        try:
            image = self.picker.image
            full, seconds = self.stylised()
            blended = self.strength.value * full + (1 - self.strength.value) * image
            self.input_view.value = png_bytes(_rgb_uint8(image), VIEW_HEIGHT)
            self.output_view.value = png_bytes(_rgb_uint8(blended), VIEW_HEIGHT)
            h, w_ = image.shape[-2:]
            self.status.info(f"{w_} x {h} px: one forward pass, {seconds:.2f} s")
        except Exception as error:  # keep the panel alive and say what went wrong
            self.status.error(f"{type(error).__name__}: {error}")
