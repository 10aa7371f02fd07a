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
    return w.Image(format="png", layout=w.Layout(height=f"{height}px", width="auto"))


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
