"""Nearest neighbours in pixel space and in feature space (notebook 02)."""

import ipywidgets as w
import torch

from .. import embedding
from ..plotting import figure_png, neighbor_rows
from .common import Panel, Status, image_view, on_upload, read_upload


class FeatureSpacePanel(Panel):
    """Nearest neighbours of a query in pixel space and in feature space (notebook 02): one
    row of the k nearest images by Euclidean pixel distance, one by cosine distance of the
    chosen layer's (centred) codes, each with its class and distance.

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
        self.model, self.collection, self.codes = model, collection, codes
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
        self.query.observe(self.status.callback(self._on_query), "value")
        on_upload(self.upload, self.add_upload, self.status)
        for control in (self.layer, self.k):
            control.observe(self.status.callback(self.render), "value")
        self.render()

    def _on_query(self, change=None):
        self.uploaded = None  # moving the slider goes back to the collection
        self.render()

    def add_upload(self, name, content):
        """Use an uploaded photo (its bytes) as the query; a bad file only sets the status."""
        image = read_upload(self.status, name, content, self.size, square=True)
        if image is None:
            return
        codes = embedding.compute_codes(self.model, image, list(self.codes))
        side = self.collection.images.shape[-1]
        small = torch.nn.functional.interpolate(image, size=(side, side), mode="bilinear", antialias=True,
                                                align_corners=False)
        self.uploaded = (name, image, {n: c.mean[0] for n, c in codes.items()}, small.flatten())
        self.render()

    def neighbours(self):
        """{"pixels": (indices, distances), "features": (indices, distances)} for the current query."""
        k, means = self.k.value, self.codes[self.layer.value].mean
        if self.uploaded is None:  # a photo of the collection: its neighbours are the others
            q = self.query.value
            return {"pixels": embedding.nearest_neighbors(self.pixels, q, k, "euclidean", exclude_query=True),
                    "features": embedding.nearest_neighbors(means, q, k, "cosine", exclude_query=True, center=True)}
        _, _, code, pixel = self.uploaded
        return {"pixels": embedding.nearest_neighbors(self.pixels, pixel, k, "euclidean"),
                "features": embedding.nearest_neighbors(means, code[self.layer.value], k, "cosine", center=True)}

    def render(self, change=None):
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
        self.status.clear()

