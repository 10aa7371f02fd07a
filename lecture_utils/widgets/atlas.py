"""The atlas browser (notebook 04): every unit's channel image of a layer in one grid; a
clicked unit shows its nine strongest photo crops and its map on the current image."""

import ipywidgets as w
import torch

from .. import atlas
from ..activations import get_activations
from ..images import center_square
from ..plotting import tile
from .common import ImagePicker, Panel, array_png, image_view, map_png
from .grid import TileGrid

GRID_WIDTH = 640  # px of the grid of channel images on the page
PATCHES_SIDE = 240  # px of the 3 x 3 patches
MAP_SIDE = 240  # px of the unit's map over the image


class AtlasBrowser(Panel):
    """Pick a layer of the atlas, click a unit's channel image (or type its number): its nine
    photo crops and its map on the picked image show beside the grid."""

    def __init__(self, model, layer="stage4", unit=0, image="cat"):
        self.model = model
        self.picker = ImagePicker(image)
        self.status = self.picker.status
        self.layer = w.Dropdown(options=atlas.layers(), value=layer, description="layer")
        self.unit = w.BoundedIntText(value=unit, min=0, max=0, description="unit", layout=w.Layout(width="160px"))
        self.grid = TileGrid(format="jpeg")
        self.patches_view = image_view(PATCHES_SIDE)
        self.map_view = image_view(MAP_SIDE)
        self.info = w.HTML()
        self.widget = w.VBox([
            w.HBox([self.layer, self.unit]), self.picker.widget,
            w.HBox([self.grid, w.VBox([self.patches_view, self.map_view, self.info])]),
        ])
        self.picker.on_change(self.status.callback(lambda image: self.show_unit()))
        self.layer.observe(self.status.callback(lambda change: self.show_layer()), "value")
        self.unit.observe(self.status.callback(lambda change: self.show_unit()), "value")
        self.grid.observe(self.status.callback(self._on_click), "selected")
        self.show_layer(unit)

    def show_layer(self, unit=0):
        layer = self.layer.value
        count = atlas.manifest()["layers"][layer]
        self.unit.max = count - 1
        columns = atlas.COLUMNS
        rows = -(-count // columns)
        self.grid.value = (atlas.folder() / f"{layer}.channels.jpg").read_bytes()
        self.grid.columns, self.grid.count = columns, count
        self.grid.height = round(GRID_WIDTH * rows / columns)
        if self.unit.value == unit:
            self.show_unit()
        else:
            self.unit.value = unit

    def _on_click(self, change):
        if change["new"] >= 0:
            self.unit.value = change["new"]

    def show_unit(self):
        layer, unit = self.layer.value, self.unit.value
        self.grid.selected = unit
        patches, crops = atlas.top_patches(layer, unit)
        grid = tile([c.permute(1, 2, 0).numpy() for c in crops], 3, pad=2, fill=1.0)
        self.patches_view.value = array_png(grid, PATCHES_SIDE)
        image = center_square(self.picker.image)
        with torch.no_grad():
            amap = get_activations(self.model, image.to(self.model.device), [layer])[layer][0, unit].clamp(min=0).cpu()
        peak = float(amap.max())
        self.map_view.value = map_png(image, amap, MAP_SIDE)
        self.info.value = (f"<b>{layer}, unit {unit}</b>: the nine photo crops that excite it most (strongest "
                           f"{patches[0].value:.2f}) and its map on the image (strongest {peak:.2f})")
