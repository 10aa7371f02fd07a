"""The atlas browser (notebook 04): every unit's channel image of a layer in one grid; a
clicked unit shows its nine strongest photo crops and its map on the current image."""

import math

import ipywidgets as w
import torch

from .. import atlas
from ..activations import get_activations
from ..images import center_square
from ..plotting import tile
from .common import ImagePicker, Panel, array_png, image_view, map_png
from .grid import TileGrid

GRID_WIDTH = 640  # px of the grid of channel images on the page
PATCHES_SIDE = 216  # px of the 3 x 3 patches
MAP_SIDE = 216  # px of the unit's map over the image


def crops_picture(patches):
    """A unit's nine photo crops (9, 3, s, s) as one picture 3 x 3, (H, W, 3) floats."""
    return tile([image.permute(1, 2, 0).numpy() for image in patches], 3, pad=2, fill=1.0)


class AtlasBrowser(Panel):
    """Pick a layer of the atlas, click a channel's image (or type its number): its nine
    photo crops and its map on the picked image show beside the grid. Needs the atlas
    (`data/atlas`) and the network it was made for."""

    def __init__(self, model, layer="stage4", channel=0, image="cat"):
        made_for = atlas.manifest()["model"]  # no atlas: FileNotFoundError saying how to build it
        if model.name != made_for:
            raise ValueError(f"the atlas is of {made_for}'s units; this model is {model.name}")
        self.model = model
        self.picker = ImagePicker(image)
        self.status = self.picker.status
        self.layer = w.Dropdown(options=atlas.layers(), value=layer, description="layer")
        self.channel = w.BoundedIntText(value=channel, min=0, max=0, description="channel",
                                        layout=w.Layout(width="160px"))
        self.grid = TileGrid(format="jpeg")
        self.patches_view = image_view(PATCHES_SIDE)
        self.map_view = image_view(MAP_SIDE)
        self.info = w.HTML()
        # The grid and the clicked channel side by side on a slide, one above the other where the
        # page is narrower (never squeezed: a squeezed picture is a distorted one).
        self.info.layout.width = "420px"
        fixed = w.Layout(flex="0 0 auto")
        self.widget = w.VBox([
            w.HBox([self.layer, self.channel]), self.picker.widget,
            w.HBox([w.Box([self.grid], layout=fixed),
                    w.VBox([self.patches_view, self.map_view, self.info], layout=w.Layout(flex="0 0 auto"))],
                   layout=w.Layout(flex_flow="row wrap")),
        ])
        self.picker.on_change(self.status.callback(lambda image: self.show_channel()))
        self.layer.observe(self.status.callback(lambda change: self.show_layer()), "value")
        self.channel.observe(self.status.callback(lambda change: self.show_channel()), "value")
        w.link((self.channel, "value"), (self.grid, "selected"))  # a click on a tile picks its channel
        self.show_layer(channel)

    def show_layer(self, channel=0):
        layer = self.layer.value
        count = atlas.manifest()["layers"][layer]
        self.channel.max = count - 1
        self.grid.show(atlas.channel_sheet(layer), atlas.COLUMNS, count,
                       round(GRID_WIDTH * math.ceil(count / atlas.COLUMNS) / atlas.COLUMNS))
        if self.channel.value == channel:
            self.show_channel()
        else:
            self.channel.value = channel

    def show_channel(self):
        layer, channel = self.layer.value, self.channel.value
        patches, images = atlas.unit_patches(layer, channel)
        self.patches_view.value = array_png(crops_picture(images), PATCHES_SIDE)
        image = center_square(self.picker.image)
        with torch.no_grad():
            amap = get_activations(self.model, image.to(self.model.device), [layer])[layer][0, channel].clamp(min=0).cpu()
        peak = float(amap.max())
        self.map_view.value = map_png(image, amap, MAP_SIDE)
        self.info.value = (f"<b>{layer}, channel {channel}</b>: the nine photo crops that excite it most (strongest "
                           f"{patches[0].value:.2f}) and its map on the image (strongest {peak:.2f})")
