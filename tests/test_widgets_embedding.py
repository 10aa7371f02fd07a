import io

import pytest
import torch
from PIL import Image

from lecture_utils import datasets, embedding as E
from lecture_utils.widgets import FeatureSpacePanel

from .conftest import hook_count


@pytest.fixture(scope="module")
def setting(model, tmp_path_factory):
    collection = datasets.fashion_mnist(per_class=4)
    codes = E.collection_codes(model, collection, ["stage3", "head"], size=64, progress=False,
                               folder=tmp_path_factory.mktemp("codes"))
    return collection, codes


def png(color):
    buffer = io.BytesIO()
    Image.new("RGB", (90, 70), color).save(buffer, "PNG")
    return buffer.getvalue()


def test_panel_shows_neighbours_in_both_spaces_without_the_query(model, setting):
    collection, codes = setting
    panel = FeatureSpacePanel(model, collection, codes, k=3, query=5)
    first = panel.view.value
    found = panel.neighbours()
    assert panel.status.text == "" and bytes(first).startswith(b"\x89PNG")
    for space in ("pixels", "features"):
        indices, dist = found[space]
        assert len(indices) == 3 and 5 not in indices.tolist()
        assert torch.all(dist[1:] >= dist[:-1])
    assert torch.equal(found["pixels"][0], E.nearest_neighbors(E.pixels(collection), 5, 4, "euclidean")[0][1:])
    panel.k.value = 5
    assert len(panel.neighbours()["features"][0]) == 5 and panel.view.value != first


def test_changing_the_layer_uses_the_cached_codes(model, setting):
    collection, codes = setting
    panel = FeatureSpacePanel(model, collection, codes, k=4)
    calls = []
    handle = model.register_forward_pre_hook(lambda m, i: calls.append(1))
    try:
        before = panel.neighbours()["features"][0]
        panel.layer.value = "stage3"
        panel.query.value = 12
    finally:
        handle.remove()
    assert calls == [] and panel.status.text == ""
    mean = codes["stage3"].mean
    expected = E.nearest_neighbors(mean - mean.mean(0), 12, 5, "cosine")[0][1:]
    assert torch.equal(panel.neighbours()["features"][0], expected)
    assert not torch.equal(before, expected)


def test_upload_becomes_the_query_and_bad_files_only_set_the_status(model, setting):
    collection, codes = setting
    panel = FeatureSpacePanel(model, collection, codes, k=3)
    panel.add_upload("grey.png", png((128, 128, 128)))
    assert panel.uploaded is not None and panel.uploaded[0] == "grey.png"
    assert panel.status.text == ""
    view = panel.view.value
    panel.add_upload("broken.png", b"not an image")
    assert "broken.png" in panel.status.text and panel.view.value == view
    assert panel.uploaded[0] == "grey.png"
    panel.query.value = 3  # back to the collection
    assert panel.uploaded is None
    assert hook_count(model) == 0
