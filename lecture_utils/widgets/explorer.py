"""The live explorer (notebook 01, and a tab of the demo page): the Deep Visualization
Toolbox's view of a network, in the notebook. The camera's stream, a bundled photo or an upload
gives the top-5 classes, every activation map of one layer, and for one unit (clicked in the
grid, or its number typed) its map large over the frame and its entry in the unit atlas."""

import html
import time

import ipywidgets as w
import torch

from .. import _checks, atlas
from ..activations import forward_with_activations, get_activations, top_classes
from ..attribution import grad_cam
from ..images import center_square
from ..plotting import colorize, overlay, png_bytes, tile
from .camera import Camera
from .common import ImagePicker, Panel, array_png, image_png, image_view, map_png
from .atlas import crops_picture
from .grid import TileGrid

TILE = 28  # px of one map in the layer's grid (7x7 maps are repeated 4 times)
GRID_WIDTH = 560  # px of the grid on the page, at most GRID_HEIGHT high
GRID_HEIGHT = 400
UNIT_HEIGHT = 224  # px of the unit's map over the frame
ATLAS_SIDE = 192  # px of the atlas's channel image and of its 3x3 patches


def layer_grid(acts, columns):
    """A layer's maps (C, h, w) as one picture: tiles in rows of `columns`, one colour scale for
    the whole layer from 0 to its largest activation, so that silent units are dark. Returns an
    (H, W, 3) uint8 array."""
    maps = acts.clamp(min=0).cpu().numpy()
    repeat = max(1, TILE // maps.shape[-1])
    maps = maps.repeat(repeat, axis=1).repeat(repeat, axis=2)
    return colorize(tile(list(maps), columns, pad=1, fill=0.0), "viridis", vmin=0.0, vmax=max(float(maps.max()), 1e-6))


def atlas_picture(channel_image, patches):
    """A unit's atlas entry as one picture: its channel image, then its nine patches 3 x 3."""
    grid = torch.from_numpy(crops_picture(patches))
    grid = torch.nn.functional.interpolate(grid.permute(2, 0, 1)[None], size=ATLAS_SIDE, mode="bilinear",
                                           antialias=True, align_corners=False)[0]
    image = torch.nn.functional.interpolate(channel_image[None], size=ATLAS_SIDE, mode="bilinear",
                                            align_corners=False)[0]
    gap = torch.ones(3, ATLAS_SIDE, 8)
    return torch.cat([image, gap, grid], dim=2).clamp(0, 1).permute(1, 2, 0).numpy()


def bars_html(predictions):
    """The top classes as HTML bars (cheaper per frame than a figure)."""
    rows = [f'<div class="lu-bar"><span style="display:inline-block;width:170px">{html.escape(name)}</span>'
            f'<span style="display:inline-block;height:12px;width:{round(180 * p)}px;background:#3b7dd8"></span>'
            f' {p:.0%}</div>' for _, name, p in predictions]
    return '<div class="lu-bars" style="font-size:13px;line-height:20px">' + "".join(rows) + "</div>"


class LiveExplorer(Panel):
    """What the network sees, live: camera frames or a picked image give the top-5 classes,
    one layer's activation maps (click a map, or type its channel, to see it large over the frame
    with its atlas entry beside it) and, when ticked, Grad-CAM of the top class.

    One forward pass per frame (with Grad-CAM, one more with its backward pass); changing the
    channel re-uses it. `show(image)` is what a frame and a picked image call; `seconds` holds
    how long the last one took."""

    def __init__(self, model, image="cat", layer=None, channel=0, k=5):
        self.model, self.k = model, k
        self.picker = ImagePicker(image)
        self.status = self.picker.status
        self.camera = Camera("stream")
        probe = get_activations(model, torch.zeros(1, 3, 64, 64, device=model.device), list(model.layers))
        spatial = [name for name, a in probe.items() if a.ndim == 4]
        # None: the middle of the layers with maps (stage4 on the bundled network, whose atlas covers it)
        layer = spatial[len(spatial) // 2] if layer is None else _checks.one_of(layer, f"layer of {model.name}", spatial)
        self.layer = w.Dropdown(options=spatial, value=layer, description="layer")
        self.channel = w.BoundedIntText(value=channel, min=0, max=probe[layer].shape[1] - 1, description="channel",
                                        layout=w.Layout(width="160px"))
        self.grad_cam = w.Checkbox(value=False, description="Grad-CAM of the top class", indent=False)
        self.frame_view = image_view()
        self.bars = w.HTML()
        self.grid = TileGrid()
        self.unit_view = image_view(UNIT_HEIGHT)
        self.atlas_view = image_view(ATLAS_SIDE)
        self.unit_info, self.atlas_info = w.HTML(), w.HTML()
        # Two columns, side by side on a 1280 x 720 slide and one above the other where the page
        # is narrower (never squeezed: a squeezed picture is a distorted one): the controls and
        # the layer's grid; the frame and its classes above the unit's map and atlas entry.
        self.bars.layout.width = "340px"
        self.unit_info.layout.width, self.atlas_info.layout.width = f"{UNIT_HEIGHT}px", f"{2 * ATLAS_SIDE + 8}px"
        fixed = dict(flex="0 0 auto")
        self.widget = w.HBox([
            w.VBox([self.picker.widget, self.camera, w.HBox([self.layer, self.channel]), self.grad_cam, self.grid],
                   layout=w.Layout(width=f"{GRID_WIDTH + 20}px", **fixed)),
            w.VBox([w.HBox([self.frame_view, self.bars]),
                    w.HBox([w.VBox([self.unit_view, self.unit_info]), w.VBox([self.atlas_view, self.atlas_info])])],
                   layout=w.Layout(**fixed)),
        ], layout=w.Layout(flex_flow="row wrap"))
        self.image = self.acts = None
        self.seconds = 0.0
        self.picker.on_change(self.show)
        self.camera.on_image(self.status.callback(self._on_frame))
        self.layer.observe(self.status.callback(lambda change: self.show(self.image)), "value")
        self.channel.observe(self.status.callback(lambda change: self.show_channel()), "value")
        w.link((self.channel, "value"), (self.grid, "selected"))  # a click on a tile picks its channel
        self.grad_cam.observe(self.status.callback(lambda change: self.show(self.image)), "value")
        self.show(self.picker.image)

    def show(self, image):
        start = time.perf_counter()
        self.image = center_square(image.to(self.model.device))
        layer = self.layer.value
        with torch.no_grad():
            logits, acts = forward_with_activations(self.model, self.image, [layer])
        self.acts = acts[layer][0]
        self.predictions = top_classes(self.model, logits[0], self.k)
        self.bars.value = bars_html(self.predictions)
        if self.grad_cam.value:
            heat = grad_cam(self.model, self.image, self.predictions[0][0])[0]
            self.frame_view.value = array_png(overlay(self.image, heat / heat.max().clamp(min=1e-12), 0.5))
        else:
            self.frame_view.value = image_png(self.image)
        channels = self.acts.shape[0]
        columns = 16 if channels > 64 else 8
        if self.channel.max != channels - 1:
            self.channel.value = min(self.channel.value, channels - 1)
            self.channel.max = channels - 1
        picture = layer_grid(self.acts, columns)
        self.grid.show(png_bytes(picture), columns, channels,
                       min(GRID_HEIGHT, round(GRID_WIDTH * picture.shape[0] / picture.shape[1])))
        self.show_channel()
        self.seconds = time.perf_counter() - start

    def _on_frame(self, image):
        self.show(image)
        self.status.clear()  # a frame that failed showed why; this one worked

    def show_channel(self):
        """The chosen unit's map over the frame, and its atlas entry (read once per unit)."""
        channel, layer = self.channel.value, self.layer.value
        amap = self.acts[channel].clamp(min=0)
        peak = float(amap.max())
        self.unit_view.value = map_png(self.image, amap, UNIT_HEIGHT)
        self.unit_info.value = (f"<b>{layer}, channel {channel}</b> over the frame: strongest {peak:.2f} "
                                f"(layer's strongest {float(self.acts.max()):.2f})")
        if (layer, channel) != getattr(self, "_atlas_shown", None):
            self._atlas_shown = (layer, channel)
            self._show_atlas(layer, channel)

    def _show_atlas(self, layer, channel):
        try:
            layers, made_for = atlas.layers(), atlas.manifest()["model"]
        except FileNotFoundError as error:
            self.atlas_view.value, self.atlas_info.value = b"", html.escape(str(error))
            return
        if self.model.name != made_for:
            self.atlas_view.value = b""
            self.atlas_info.value = f"The atlas is of {made_for}'s units; this network ({self.model.name}) has none."
        elif layer not in layers:
            self.atlas_view.value = b""
            self.atlas_info.value = (f"The atlas holds {', '.join(layers)} of {made_for}: "
                                     f"pick one of those layers to see a unit's atlas entry.")
        else:
            patches, images = atlas.unit_patches(layer, channel)
            self.atlas_view.value = array_png(atlas_picture(atlas.unit_image(layer, channel), images), ATLAS_SIDE)
            self.atlas_info.value = (f"Atlas: the image made to excite channel {channel} (left) and the nine photo "
                                     f"crops that excite it most, strongest {patches[0].value:.2f} (right)")
