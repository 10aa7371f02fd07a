"""ipywidgets panels for the notebooks, built from a few shared pieces.

Shared pieces: `common` (`Status`, the line where a callback's error shows instead of killing
the panel; `ImagePicker`, bundled photos plus upload; `layer_picker`, `image_view`, the
`Panel` base) and `runner` (`Runner`: Run/Stop, progress, live preview for any long run).
`camera` (`Camera`: the browser's camera, a photo or a stream of frames) and `grid`
(`TileGrid`: a picture of tiles that says which was clicked) are anywidgets.
One module per topic holds its panels:

- `activations`: `PredictionPanel` (notebook 00), `ActivationExplorer` (01)
- `explorer`: `LiveExplorer` (01), the camera's frames through the network, with the unit atlas
- `atlas`: `AtlasBrowser` (04), every unit's channel image and top photo crops
- `feature_space`: `FeatureSpacePanel` (02)
- `attribution`: `AttributionPanel` (03)
- `optimize`: `ClassImagePanel` (04), `DeepDreamPanel` (06), `InversionPanel` (07)
- `adversarial`: `AdversarialPanel` (05)
- `style`: `TexturePanel` (08), `StyleTransferPanel` (09)
- `fast_style`: `FastStylePanel` (10)
- `demo`: `DemoPage`, every panel above in a tab of its own (notebooks/demo.ipynb)

Each panel keeps its controls as attributes, so a test or a script can set
`panel.channel.value = 3` and read `panel.map_view.value`. Panels call
`lecture_utils`' algorithms and show what those return.
"""

from .activations import ActivationExplorer, PredictionPanel
from .adversarial import AdversarialPanel
from .atlas import AtlasBrowser
from .attribution import AttributionPanel
from .camera import Camera
from .common import VIEW_HEIGHT, ImagePicker, Panel, Status, image_view, layer_picker
from .demo import DemoPage
from .explorer import LiveExplorer
from .fast_style import FastStylePanel
from .feature_space import FeatureSpacePanel
from .grid import TileGrid
from .optimize import ClassImagePanel, DeepDreamPanel, InversionPanel
from .runner import Runner
from .style import StyleTransferPanel, TexturePanel

__all__ = [
    "VIEW_HEIGHT", "ActivationExplorer", "AdversarialPanel", "AtlasBrowser", "AttributionPanel", "Camera",
    "ClassImagePanel", "DeepDreamPanel", "DemoPage", "FastStylePanel", "FeatureSpacePanel", "ImagePicker",
    "InversionPanel", "LiveExplorer", "Panel", "PredictionPanel", "Runner", "Status", "StyleTransferPanel",
    "TexturePanel", "TileGrid", "image_view", "layer_picker",
]
