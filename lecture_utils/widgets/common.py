"""What every panel is built from: the status line, the image picker with upload, the layer
picker, picture views, sliders and the `Panel` base.

Callbacks only assign widget values and never print: output printed from a callback lands in
the browser, not in the notebook file (nbval and the browser see them differently).
"""

import contextlib
import functools
import html
import inspect

import ipywidgets as w
import numpy as np

from .. import _checks
from ..images import bundled_images, center_square, load_image, to_pil
from ..plotting import overlay, png_bytes
from .camera import Camera

VIEW_HEIGHT = 224  # pixels of every picture a panel shows


class Status:
    """One line under a panel: empty when all is well, a message, or what went wrong.

    Widget callbacks run inside `reporting()` (or are wrapped by `callback`): an exception
    there shows here as "TypeName: message" and ends only that callback, so the panel keeps
    its last picture and answers the next change. The exception, traceback included, stays in
    `exception` for whoever wants more than the line. Calls made directly (a panel's
    constructor, a script, a test) are not wrapped and raise as usual: a notebook that builds
    a panel with bad settings fails under "Run all", instead of storing a panel whose only
    sign of trouble is this line (nbval compares a widget's text, not its status).
    """

    def __init__(self):
        self.widget = w.HTML(value="")
        self.exception = None  # the last exception shown

    def clear(self):
        self.widget.value = ""

    def info(self, text):
        self.widget.value = html.escape(text)

    def error(self, text):
        self.widget.value = f'<span style="color:#b00020">{html.escape(str(text))}</span>'

    @property
    def text(self):
        return self.widget.value

    @contextlib.contextmanager
    def reporting(self):
        """Run the body; an exception in it shows here instead of going on up."""
        try:
            yield
        except Exception as error:  # not KeyboardInterrupt: an interrupt still stops the kernel's work
            self.exception = error
            self.error(f"{type(error).__name__}: {error}")

    def callback(self, function):
        """`function` for a widget to call (observe, on_click, on_change): errors show here."""
        @functools.wraps(function)
        def reported(*args, **kwargs):
            with self.reporting():
                function(*args, **kwargs)
        return reported


def read_upload(status, name, content, size=None, square=False):
    """The image in an uploaded file (its bytes), its shorter side `size` (and centre-cropped
    to a square if `square`), or None with the reason in `status`: a bad file is expected
    input, so this never raises for one."""
    try:
        if square:
            return center_square(load_image(bytes(content)), size)
        return load_image(bytes(content), size)
    except ValueError as error:  # ImageError, or a shape that cannot be resized sensibly
        status.error(f"{name}: {error}")
        return None


def on_upload(upload, add, status):
    """Call `add(name, content)` for each file put into the FileUpload widget `upload`."""
    def added(change):
        for item in change["new"]:
            add(item["name"], item["content"])
    upload.observe(status.callback(added), "value")


class ImagePicker:
    """A dropdown of the bundled photos, an upload button and a camera button; `.image` is the
    current tensor.

    Uploads are added to the dropdown as "upload: NAME", camera photos as "camera: N". A file
    that is not a usable image leaves the current image in place and shows why in `.status`. `on_change(callback)`
    registers `callback(image)`, called after every change of image; its errors show in
    `.status` and do not stop the other callbacks.
    """

    def __init__(self, initial="cat", size=VIEW_HEIGHT):
        self.size = size
        self._uploads = {}
        self._callbacks = []
        self._quiet = False
        self.status = Status()
        self.dropdown = w.Dropdown(options=bundled_images(), value=initial, description="image")
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="upload")
        self.camera = Camera("snapshot")
        self.widget = w.VBox([w.HBox([self.dropdown, self.upload, self.camera]), self.status.widget])
        self.image = load_image(initial, size)
        self.dropdown.observe(self.status.callback(self._on_select), "value")
        on_upload(self.upload, self.add_upload, self.status)
        self.camera.on_image(self.status.callback(self._add_photo))
        self.camera.observe(lambda change: change["new"] and self.status.error(change["new"]), "error")

    def on_change(self, callback):
        self._callbacks.append(callback)

    def add_upload(self, name, content):
        """Add an uploaded file (its bytes) and select it; bad files only set the status."""
        image = read_upload(self.status, name, content, self.size)
        if image is not None:
            self._add(f"upload: {name}", image)

    def _add_photo(self, image):
        self._add(f"camera: {sum(key.startswith('camera: ') for key in self._uploads) + 1}",
                  load_image(image, self.size))

    def _add(self, key, image):
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

    def _on_select(self, change):
        if not self._quiet and change["new"] is not None:
            self._select(change["new"])

    def _select(self, key):
        self.image = self._uploads[key] if key in self._uploads else load_image(key, self.size)
        self.status.clear()
        for callback in self._callbacks:
            with self.status.reporting():
                callback(self.image)


def defaults(function):
    """{keyword: default} of a function's signature: the one place each default is written, which
    a panel's controls start from."""
    return {name: p.default for name, p in inspect.signature(function).parameters.items() if p.default is not p.empty}


def layer_picker(model, value=None, description="layer"):
    """A slider over the model's layers, shallow to deep, by their short names, at `value` (None:
    the model's middle layer, `stage4` on the bundled network). A name the model does not have
    raises a ValueError that lists the ones it has."""
    names = list(model.layers)
    value = names[len(names) // 2] if value is None else _checks.one_of(value, f"layer of {model.name}", names)
    return w.SelectionSlider(options=names, value=value, description=description,
                             continuous_update=False, layout=w.Layout(width="420px"))


def image_view(height=VIEW_HEIGHT):
    # align_self: a VBox stretches its children to its width, which would distort the picture.
    return w.Image(format="png", layout=w.Layout(height=f"{height}px", width="auto", align_self="flex-start",
                                                 object_fit="contain"))


def image_png(image, height=VIEW_HEIGHT):
    """PNG bytes of an image tensor (1, 3, h, w) in [0, 1], `height` pixels high."""
    return png_bytes(np.asarray(to_pil(image)), height)


def array_png(picture, height=VIEW_HEIGHT):
    """PNG bytes of a picture (h, w, 3) of floats in [0, 1], `height` pixels high."""
    return png_bytes((picture * 255).round().astype("uint8"), height)


def map_png(image, amap, height=VIEW_HEIGHT):
    """PNG bytes of one unit's map (h, w), >= 0, scaled to its own peak, over an image (1, 3, H, W)."""
    peak = max(float(amap.max()), 1e-6)
    return array_png(overlay(image, amap / peak, 0.6, "inferno"), height)


def slider(kind, value, low, high, step, description, **kwargs):
    """A slider that answers on release, with room for a long description."""
    return kind(value=value, min=low, max=high, step=step, description=description,
                continuous_update=False, style={"description_width": "initial"}, **kwargs)


class Panel:
    """Displays as its `widget`; `status` is the line where its callbacks' errors show."""

    widget = status = None

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
