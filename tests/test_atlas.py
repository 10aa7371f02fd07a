"""The shipped unit atlas: complete, small, matching its manifest, and true to the network:
a unit's channel image excites it more than the layer's other channel images do, and its
stored strongest crop is, recomputed, the strongest over the crops."""

import random

import pytest
import torch

from lecture_utils import atlas
from lecture_utils.activations import get_activations
from lecture_utils.embedding import model_fingerprint

SAMPLED_UNITS = 12  # per layer, drawn at random (seeded)
MAX_MEGABYTES = 15


def test_the_atlas_holds_every_unit_of_four_layers_of_the_bundled_network_and_matches_its_manifest(model):
    manifest = atlas.manifest()
    assert manifest["model"] == model.name and manifest["fingerprint"] == model_fingerprint(model)
    assert atlas.layers() == ["stage3", "stage4", "stage5", "stage6"]
    with torch.no_grad():
        acts = get_activations(model, torch.zeros(1, 3, 64, 64), atlas.layers())
    assert manifest["layers"] == {layer: a.shape[1] for layer, a in acts.items()}
    assert sum(manifest["layers"].values()) == 424
    assert atlas.verify() == []
    assert sorted(p.name for p in atlas.folder().iterdir()) == sorted([*manifest["files"], "manifest.json"])
    size = sum(p.stat().st_size for p in atlas.folder().iterdir()) / 1e6
    assert size <= MAX_MEGABYTES, f"the atlas takes {size:.1f} MB"
    assert len(manifest["crops"]) >= 2000 and len(manifest["photos"]) == 313


def test_every_unit_has_its_image_and_nine_patches_from_nine_photos():
    for layer in atlas.layers():
        images = atlas.channel_images(layer)
        assert images.shape == (atlas.manifest()["layers"][layer], 3, atlas.SIZE, atlas.SIZE)
        assert 0 <= float(images.min()) and float(images.max()) <= 1
        assert images.flatten(1).std(1).min() > 0.02  # no blank tile: every unit was drawn
        for unit in (0, images.shape[0] - 1):
            patches, crops = atlas.unit_patches(layer, unit)
            assert crops.shape == (atlas.TOP, 3, atlas.PATCH_SIZE, atlas.PATCH_SIZE)
            values = [p.value for p in patches]
            assert values == sorted(values, reverse=True)
            photos = [atlas.crops()[p.image][0] for p in patches]
            assert len(set(photos)) == atlas.TOP


def test_a_units_channel_image_excites_it_more_than_95_percent_of_the_layers_other_images(model):
    rng = random.Random(0)
    specific, sampled = [], 0
    for layer in atlas.layers():
        images = atlas.channel_images(layer)
        with torch.no_grad():
            response = get_activations(model, images, [layer])[layer].mean(dim=(2, 3))  # (image, unit)
        for unit in rng.sample(range(images.shape[0]), SAMPLED_UNITS):
            others = torch.cat([response[:unit, unit], response[unit + 1:, unit]])
            beaten = float((response[unit, unit] > others).float().mean())
            specific.append(beaten >= 0.95)
            sampled += 1
    share = sum(specific) / sampled
    assert share >= 0.95, f"only {share:.0%} of {sampled} sampled units are excited most by their own image"


def test_a_units_stored_top_crop_is_recomputed_the_strongest_over_a_sample_of_the_crops(model):
    try:
        atlas.photos()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    rng = random.Random(1)
    others = rng.sample(range(len(atlas.crops())), 256)
    with torch.no_grad():
        sample = get_activations(model, atlas.crop_images(others), atlas.layers())
    for layer in atlas.layers():
        for unit in rng.sample(range(atlas.manifest()["layers"][layer]), 4):
            patches, _ = atlas.unit_patches(layer, unit)
            top = patches[0]
            with torch.no_grad():
                acts = get_activations(model, atlas.crop_images([top.image]), [layer])[layer][0, unit]
            row, col = top.position
            assert float(acts[row, col]) == pytest.approx(top.value, abs=1e-3)
            assert float(acts.max()) == pytest.approx(top.value, abs=1e-3)  # its strongest position
            assert top.value >= float(sample[layer][:, unit].amax()) - 1e-3, (layer, unit)


def test_bad_layers_and_channels_get_messages_naming_what_the_atlas_holds():
    with pytest.raises(ValueError, match="no layer 'stage7'; it holds: stage3, stage4, stage5, stage6"):
        atlas.channel_images("stage7")
    with pytest.raises(ValueError, match="channel must be an int from 0 to 39; got 40"):
        atlas.unit_patches("stage3", 40)
    with pytest.raises(FileNotFoundError, match="python -m lecture_utils atlas"):
        atlas.layers("/nonexistent/atlas")


def test_a_changed_file_fails_verification(tmp_path):
    import shutil

    copy = tmp_path / "atlas"
    shutil.copytree(atlas.folder(), copy)
    (copy / "stage4.patches.json").write_text("[]")
    (copy / "stage5.channels.jpg").unlink()
    assert sorted(atlas.verify(copy)) == ["stage4.patches.json: does not match the manifest's fingerprint",
                                          "stage5.channels.jpg: missing"]


def test_a_stopped_build_leaves_no_atlas_and_the_next_one_goes_on_where_it_stopped(model, tmp_path, monkeypatch):
    from lecture_utils.images import DATA_DIR

    monkeypatch.setattr(atlas, "LAYERS", ("stage3",))
    monkeypatch.setattr(atlas, "CROPS_PER_PHOTO", 2)
    monkeypatch.setattr(atlas, "photos", lambda: sorted(f"data/{p.name}" for p in DATA_DIR.glob("*.jpg")))
    made = []

    def channel_images(model, layer, units):  # stands in for the optimisation (minutes)
        if len(made) == 2:
            raise KeyboardInterrupt
        made.append(units)
        return torch.rand(len(units), 3, atlas.SIZE, atlas.SIZE)

    monkeypatch.setattr(atlas, "_make_channel_images", channel_images)
    out, work = tmp_path / "atlas", tmp_path / "work"
    with pytest.raises(KeyboardInterrupt):
        atlas.build(model, out, work=work, batch_size=16, progress=False)
    assert not (out / "manifest.json").exists() and made == [list(range(16)), list(range(16, 32))]
    made.clear()
    atlas.build(model, out, work=work, batch_size=16, progress=False)
    assert made == [list(range(32, 40))]  # only the batch that was missing
    assert atlas.verify(out) == [] and atlas.layers(out) == ["stage3"]
    assert len(atlas.crops(out)) == 2 * len(atlas.photos())  # CROPS_PER_PHOTO of each
    assert atlas.channel_images("stage3", out).shape == (40, 3, 128, 128)
    patches, crops = atlas.unit_patches("stage3", 5, out)
    assert len({atlas.crops(out)[p.image][0] for p in patches}) == atlas.TOP
