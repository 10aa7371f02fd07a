"""The live explorer (notebook 01, and a tab of the demo page): the Deep Visualization
Toolbox's view of a network, in the notebook. The camera's stream, a bundled photo or an upload
gives the top-5 classes, every activation map of one layer, and for one unit (clicked in the
grid, or its number typed) its map large over the frame and its entry in the unit atlas."""

import functools
import html
import io
import time

import ipywidgets as w
import matplotlib
import numpy as np
import torch
from PIL import Image

from .. import _checks, atlas
from ..activations import forward_with_activations, get_activations, top_classes
from ..attribution import grad_cam
from ..images import center_square
from ..inference import cam_from_maps, cam_layer, frozen_forward
from ..plotting import tile
from .camera import FRAME_SIDE, Camera
from .common import ImagePicker, Panel, array_png, image_view
from .atlas import crops_picture
from .grid import TileGrid

TILE = 28  # px of one map in the layer's grid (7x7 maps are repeated 4 times)
GRID_WIDTH = 560  # px of the grid on the page, at most GRID_HEIGHT high
GRID_HEIGHT = 400
UNIT_HEIGHT = 224  # px of the unit's map over the frame
ATLAS_SIDE = 192  # px of the atlas's channel image and of its 3x3 patches


JPEG_QUALITY = 85  # the frame and its overlays: 10 kB instead of 71 as PNG at 224 px, no loss one sees
GRID_CHANGE = 8  # levels of 255: a grid whose tiles all moved less is not sent again (not visible)


@functools.lru_cache(maxsize=None)
def _colours(cmap):
    """A colormap's 256 colours as a (256, 3) uint8 table: colouring by table lookup instead of
    matplotlib's float pipeline on every pixel of every frame (the same colours)."""
    return (matplotlib.colormaps[cmap](np.arange(256))[:, :3] * 255).round().astype(np.uint8)


def layer_levels(acts):
    """A layer's maps (C, h, w) as colour levels (C, h, w) uint8: one scale for the whole layer
    from 0 to its largest activation, so that silent units are dark (matplotlib's binning of
    [0, 1] into 256 colours)."""
    maps = acts.clamp(min=0)
    scaled = maps / max(float(maps.max()), 1e-6)
    return (scaled * 256).clamp(max=255).to(torch.uint8).cpu().numpy()


def layer_grid(levels, columns):
    """The levels of `layer_levels` as one picture: tiles in rows of `columns` (maps smaller
    than `TILE` px repeated to about it), viridis. Returns an (H, W, 3) uint8 array."""
    repeat = max(1, TILE // levels.shape[-1])
    levels = levels.repeat(repeat, axis=1).repeat(repeat, axis=2)
    return _colours("viridis")[tile(list(levels), columns, pad=1, fill=0)]


def jpeg_bytes(picture):
    """JPEG bytes of an (H, W, 3) uint8 array."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def grid_png(picture):
    """PNG bytes of a grid of maps: exact (JPEG smears the 1 px gaps between tiles), and at zlib
    level 1 (2.5 ms instead of 9.6 for stage4's grid, 15 % more bytes: a local page's socket
    carries bytes more cheaply than two cores compress them)."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def rgb(image):
    """An image tensor (1, 3, H, W) in [0, 1] as an (H, W, 3) float32 array."""
    return image[0].permute(1, 2, 0).float().cpu().numpy()


def heat_over(frame, heat, opacity, cmap):
    """A map (h, w), resized to the frame (an (H, W, 3) float array) and coloured from its
    smallest to its largest value, blended on top: an (H, W, 3) uint8 array (what
    `plotting.overlay` draws, with the colours from a table)."""
    heat = torch.nn.functional.interpolate(heat[None, None].float().cpu(), size=frame.shape[:2], mode="bilinear",
                                           align_corners=False)[0, 0]
    low, high = float(heat.min()), float(heat.max())
    scaled = (heat - low) / (high - low) if high > low else torch.full_like(heat, 0.5)
    colours = _colours(cmap)[(scaled * 256).clamp(0, 255).to(torch.uint8).numpy()].astype(np.float32) / 255
    return (((1 - opacity) * frame + opacity * colours) * 255).round().astype(np.uint8)


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

    fast=True (the default) runs a frozen trace of the network (`inference.frozen_forward`,
    made here once, a few seconds; it sees the weights of now): one pass per frame gives the
    classes, every layer's maps and, where the head is global average pooling then a linear
    layer (the bundled network), Grad-CAM as CAM from the same pass; other networks run
    Grad-CAM's backward pass. fast=False runs eager PyTorch and always the backward pass (the
    reference the benchmark compares with). Changing the channel re-uses the last pass.
    `show(image)` is what a frame and a picked image call; `seconds` holds how long the last
    one took."""

    def __init__(self, model, image="cat", layer=None, channel=0, k=5, fast=True):
        self.model, self.k = model, k
        self.picker = ImagePicker(image)
        self.status = self.picker.status
        self.camera = Camera("stream")
        probe = get_activations(model, torch.zeros(1, 3, 64, 64, device=model.device), list(model.layers))
        spatial = [name for name, a in probe.items() if a.ndim == 4]
        # None: the middle of the layers with maps (stage4 on the bundled network, whose atlas covers it)
        layer = spatial[len(spatial) // 2] if layer is None else _checks.one_of(layer, f"layer of {model.name}", spatial)
        self.cam_layer = cam_layer(model) if fast else None
        self.forward = None
        if fast:  # every layer with maps is an output of the one trace: a new layer needs no new one
            outputs = spatial if self.cam_layer in (None, *spatial) else [*spatial, self.cam_layer]
            self.forward = frozen_forward(model, outputs, FRAME_SIDE)
        self.layer = w.Dropdown(options=spatial, value=layer, description="layer")
        self.channel = w.BoundedIntText(value=channel, min=0, max=probe[layer].shape[1] - 1, description="channel",
                                        layout=w.Layout(width="160px"))
        self.grad_cam = w.Checkbox(value=False, description="Grad-CAM of the top class", indent=False)
        self.frame_view = image_view()
        self.bars = w.HTML()
        self.grid = TileGrid()
        self.unit_view = image_view(UNIT_HEIGHT)
        self.frame_view.format = self.unit_view.format = "jpeg"
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
        self._grid_shown = None  # (layer, levels) of the grid on the page
        self.seconds = 0.0
        self.picker.on_change(self.show)
        self.camera.on_image(self.status.callback(self._on_frame))
        self.layer.observe(self.status.callback(lambda change: self.show(self.image)), "value")
        self.channel.observe(self.status.callback(lambda change: self.show_channel()), "value")
        w.link((self.channel, "value"), (self.grid, "selected"))  # a click on a tile picks its channel
        self.grad_cam.observe(self.status.callback(lambda change: self.show(self.image)), "value")
        self.show(self.picker.image)

    def _maps(self, layer):
        """logits (1, 1000) and {layer: maps (1, C, h, w)} of `self.image`, from one pass."""
        if self.forward is not None:
            return self.forward(self.image)
        with torch.no_grad():
            return forward_with_activations(self.model, self.image, [layer])

    def show(self, image):
        start = time.perf_counter()
        self.image = center_square(image.to(self.model.device), FRAME_SIDE)
        self.frame = rgb(self.image)  # the frame as an array once, for every picture drawn over it
        layer = self.layer.value
        logits, maps = self._maps(layer)
        self.acts = maps[layer][0]
        self.predictions = top_classes(self.model, logits[0], self.k)
        self.bars.value = bars_html(self.predictions)
        if self.grad_cam.value:
            top = self.predictions[0][0]
            heat = (cam_from_maps(self.model, maps[self.cam_layer], [top]) if self.cam_layer
                    else grad_cam(self.model, self.image, top))[0]
            self.frame_view.value = jpeg_bytes(heat_over(self.frame, heat, 0.5, "jet"))
        else:
            self.frame_view.value = jpeg_bytes((self.frame * 255).round().astype(np.uint8))
        channels = self.acts.shape[0]
        if self.channel.max != channels - 1:
            self.channel.value = min(self.channel.value, channels - 1)
            self.channel.max = channels - 1
        self._show_grid(layer, layer_levels(self.acts))
        self.show_channel()
        self.seconds = time.perf_counter() - start

    def _show_grid(self, layer, levels):
        """Draw and send the layer's grid, unless the one on the page shows the same (no tile
        moved by more than `GRID_CHANGE` colour levels): a still scene costs no picture."""
        shown = self._grid_shown
        if shown is not None and shown[0] == layer and shown[1].shape == levels.shape and \
                np.abs(shown[1].astype(np.int16) - levels).max() <= GRID_CHANGE:
            return
        self._grid_shown = (layer, levels)
        channels = levels.shape[0]
        columns = 16 if channels > 64 else 8
        picture = layer_grid(levels, columns)
        self.grid.show(grid_png(picture), columns, channels,
                       min(GRID_HEIGHT, round(GRID_WIDTH * picture.shape[0] / picture.shape[1])))

    def _on_frame(self, image):
        self.show(image)
        self.status.clear()  # a frame that failed showed why; this one worked

    def show_channel(self):
        """The chosen unit's map over the frame, and its atlas entry (read once per unit)."""
        channel, layer = self.channel.value, self.layer.value
        amap = self.acts[channel].clamp(min=0)
        peak = float(amap.max())
        self.unit_view.value = jpeg_bytes(heat_over(self.frame, amap, 0.6, "inferno"))
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
