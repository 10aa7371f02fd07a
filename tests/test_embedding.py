import hashlib
import io
import tarfile
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecture_utils import datasets, embedding as E, load_image
from lecture_utils.__main__ import main
from lecture_utils.activations import get_activations
from lecture_utils.images import center_square
from lecture_utils.models import ImageNetModel

from .conftest import hook_count


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder for codes and downloads."""
    monkeypatch.setenv("LECTURE_UTILS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def small_collection(n=12, side=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, side, side), generator=g, dtype=torch.uint8)
    return datasets.Collection("random", images, torch.arange(n) % 3, ["a", "b", "c"])


def chain_model():
    """conv 3x3 pad 1 -> conv 3x3 stride 2 -> avg-pool 2 -> conv 5x5 pad 2, positive weights
    (average pooling so that the gradient reaches every pixel, unlike max-pooling).

    By hand: strides 1, 1, 2, 4; size 1 + 2*1 + 2*1 + 1*2 + 4*4 = 23; start -1*1 - 2*4 = -9.
    """
    net = nn.Sequential(OrderedDict(
        c1=nn.Conv2d(3, 4, 3, padding=1), c2=nn.Conv2d(4, 4, 3, stride=2), pool=nn.AvgPool2d(2),
        c3=nn.Conv2d(4, 4, 5, padding=2), gap=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(), fc=nn.Linear(4, 3),
    ))
    with torch.no_grad():
        for module in net:
            if isinstance(module, nn.Conv2d):
                module.weight.uniform_(0.1, 1.0)
                module.bias.zero_()
    return ImageNetModel("chain", net, OrderedDict(c1="c1", c2="c2", pool="pool", c3="c3", fc="fc"),
                         ["a", "b", "c"], (0.0,) * 3, (1.0,) * 3).eval()


def gradient_box(model, layer, size, row, col, generator=None):
    """The bounding box of input pixels with a nonzero gradient for one position of a layer."""
    x = torch.rand(1, 3, size, size, generator=generator).requires_grad_(True)
    act = get_activations(model, x, [layer])[layer]
    act[0, :, row, col].sum().backward()
    nz = x.grad[0].abs().sum(0).nonzero()
    return (int(nz[:, 0].min()), int(nz[:, 1].min()), int(nz[:, 0].max()) + 1, int(nz[:, 1].max()) + 1)


# ---------------------------------------------------------------- receptive fields


def test_receptive_field_of_a_chain_known_by_construction():
    model = chain_model()
    rf = E.receptive_field(model, "c3", 32)
    assert (rf.size, rf.stride, rf.start) == ((23, 23), (4, 4), (-9, -9))
    assert rf.box(3, 2, clip=False) == (3, -1, 26, 22) and rf.box(3, 2) == (3, 0, 26, 22)
    assert E.receptive_field(model, "c1", 32).size == (3, 3)
    assert E.receptive_field(model, "pool", 32).stride == (4, 4)
    # positive weights: every pixel of the receptive field reaches the unit
    for row, col in [(0, 0), (3, 2), (6, 6)]:
        assert gradient_box(model, "c3", 32, row, col) == rf.box(row, col)


@pytest.mark.parametrize("size", [160, 161, 224])
@pytest.mark.parametrize("layer", ["stem", "stage2", "stage3", "stage4"])
def test_receptive_field_of_the_real_model_matches_its_gradient(model, layer, size):
    """TF 'SAME' padding depends on the input size (odd sizes pad differently): exact at each."""
    rf = E.receptive_field(model, layer, size)
    h, w = get_activations(model, torch.zeros(1, 3, size, size), [layer])[layer].shape[2:]
    g = torch.Generator().manual_seed(1)
    for row, col in [(0, 0), (h // 2, w // 3), (h - 1, w - 1)]:
        assert gradient_box(model, layer, size, row, col, g) == rf.box(row, col), (row, col)
    assert hook_count(model) == 0


def test_receptive_field_refuses_branching_models_and_unknown_layers(model):
    with pytest.raises(ValueError, match="valid layers"):
        E.receptive_field(model, "stage99")
    fake = chain_model()
    fake.name = "resnet18"
    with pytest.raises(ValueError, match="chains only"):
        E.receptive_field(fake, "c3")


# ---------------------------------------------------------------- codes and their cache


def test_codes_are_global_average_pooled_activations(model):
    images = center_square(load_image("cat"), 96)
    codes = E.compute_codes(model, torch.cat([images, images.flip(-1)]), ["stage3", "head"], batch_size=1)
    acts = get_activations(model, images, ["stage3", "head"])
    for name in ("stage3", "head"):
        assert torch.allclose(codes[name].mean[0], acts[name][0].mean((1, 2)), atol=1e-5)
        assert torch.allclose(codes[name].max[0], acts[name][0].flatten(1).max(1).values, atol=1e-5)
        row, col = codes[name].position(0, 5)
        assert acts[name][0, 5, row, col] == acts[name][0, 5].max()
    assert hook_count(model) == 0


def count_forwards(model):
    calls = []
    handle = model.register_forward_pre_hook(lambda m, i: calls.append(len(i[0])))
    return calls, handle


def test_cache_is_reused_and_invalidated_by_collection_and_model(model, cache):
    collection = small_collection()
    first = E.collection_codes(model, collection, ["stage2", "stage3"], size=32, progress=False)
    assert first.computed == ("stage2", "stage3")
    calls, handle = count_forwards(model)
    try:
        again = E.collection_codes(model, collection, ["stage3", "stage2"], size=32, progress=False)
        assert again.computed == () and calls == []  # no forward pass at all
        assert list(again) == ["stage3", "stage2"]
        assert torch.equal(again["stage3"].mean, first["stage3"].mean)
        # a new layer computes only that layer
        assert E.collection_codes(model, collection, ["stage2", "stage1"], size=32).computed == ("stage1",)
        # another size, another key
        assert E.collection_codes(model, collection, ["stage2"], size=48).computed == ("stage2",)
        # one changed pixel changes the collection's fingerprint
        changed = small_collection()
        changed.images[0, 0, 0, 0] ^= 1
        assert E.collection_codes(model, changed, ["stage2"], size=32).computed == ("stage2",)
    finally:
        handle.remove()
    # a changed model (one weight) misses the cache as well
    other = chain_model()
    before = E.collection_codes(other, collection, ["c3"], size=32)
    with torch.no_grad():
        other.net.c1.weight[0, 0, 0, 0] += 1
    after = E.collection_codes(other, collection, ["c3"], size=32)
    assert before.computed == after.computed == ("c3",)
    assert not torch.equal(before["c3"].mean, after["c3"].mean)
    assert not any(p.suffix == ".part" for p in cache.rglob("*"))  # atomic writes leave no partial


def test_damaged_cache_file_is_recomputed(model, cache):
    collection = small_collection()
    E.collection_codes(model, collection, "stage1", size=32)
    for path in (cache / "codes").iterdir():
        path.write_bytes(b"not a tensor file")
    assert E.collection_codes(model, collection, "stage1", size=32).computed == ("stage1",)


# ---------------------------------------------------------------- neighbours and kNN


def test_an_item_is_its_own_nearest_neighbour_at_distance_zero():
    features = torch.randn(50, 8)
    for metric in E.METRICS:
        for q in (0, 17, 49):
            idx, dist = E.nearest_neighbors(features, q, k=4, metric=metric)
            assert idx[0] == q and dist[0] == 0
            assert torch.all(dist[1:] > 0) and torch.all(dist[1:] >= dist[:-1])
    # agreement with a plain computation
    d = torch.cdist(features[3:4].double(), features.double())[0]
    assert torch.equal(E.nearest_neighbors(features, 3, 10, "euclidean")[0], d.argsort()[:10])


def test_the_k_nearest_other_items_and_centred_codes():
    g = torch.Generator().manual_seed(1)
    features = torch.randn(40, 6, generator=g) + 5  # a shared offset, as CNN codes have
    for metric in E.METRICS:
        idx, dist = E.nearest_neighbors(features, 7, k=5, metric=metric, exclude_query=True)
        whole = E.nearest_neighbors(features, 7, k=6, metric=metric)
        assert 7 not in idx.tolist() and torch.equal(idx, whole[0][1:]) and torch.equal(dist, whole[1][1:])
    # centring: the same as subtracting the collection's mean from the items and from the query
    query = torch.randn(6, generator=g) + 5
    mean = features.mean(0)
    centred = E.nearest_neighbors(features, query, k=8, center=True)
    assert torch.equal(centred[0], E.nearest_neighbors(features - mean, query - mean, k=8)[0])
    assert not torch.equal(centred[0], E.nearest_neighbors(features, query, k=8)[0])  # the offset mattered
    by_index = E.nearest_neighbors(features, 3, k=4, exclude_query=True, center=True)
    assert torch.equal(by_index[0], E.nearest_neighbors(E.center(features), 3, k=5)[0][1:])
    with pytest.raises(ValueError, match="k must be an int from 1 to 39"):
        E.nearest_neighbors(features, 0, k=40, exclude_query=True)
    with pytest.raises(ValueError, match="exclude_query=True needs the query as an item's index"):
        E.nearest_neighbors(features, query, exclude_query=True)


def test_knn_accuracy_agrees_with_scikit_learn_on_a_separable_set():
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 6, generator=g) * 4
    labels = torch.arange(80) % 4
    features = centres[labels] + torch.randn(80, 6, generator=g)
    noisy = centres[labels] + 3 * torch.randn(80, 6, generator=g)
    assert E.knn_accuracy(features, labels, k=5, metric="euclidean") == 1.0
    for metric in E.METRICS:
        ours = E.knn_accuracy(noisy, labels, k=5, metric=metric)
        theirs = cross_val_score(KNeighborsClassifier(5, metric=metric, algorithm="brute"),
                                 noisy.numpy(), labels.numpy(), cv=LeaveOneOut()).mean()
        assert ours == pytest.approx(theirs), metric
        assert 0.25 < ours < 1.0


def test_bad_arguments_name_what_is_accepted(model):
    features = torch.randn(10, 3)
    with pytest.raises(ValueError, match="k must be an int from 1 to 10"):
        E.nearest_neighbors(features, 0, k=0)
    with pytest.raises(ValueError, match="k must be an int from 1 to 10"):
        E.nearest_neighbors(features, 0, k=11)
    with pytest.raises(ValueError, match="unknown metric 'manhattan'; accepted: cosine, euclidean"):
        E.nearest_neighbors(features, 0, metric="manhattan")
    with pytest.raises(ValueError, match="out of range"):
        E.nearest_neighbors(features, 10)
    with pytest.raises(ValueError, match="same D"):
        E.nearest_neighbors(features, torch.randn(4))
    with pytest.raises(ValueError, match="k must be an int from 1 to 9"):
        E.knn_accuracy(features, torch.zeros(10), k=10)
    with pytest.raises(ValueError, match="valid layers"):
        E.compute_codes(model, torch.rand(1, 3, 32, 32), ["conv5"])
    with pytest.raises(ValueError, match="layer 'fc' has no spatial map"):
        E.compute_codes(chain_model(), torch.rand(1, 3, 32, 32), ["fc"])
    with pytest.raises(ValueError, match="no images given"):
        E.compute_codes(model, torch.rand(0, 3, 32, 32), ["stem"])
    codes = E.compute_codes(model, torch.rand(2, 3, 32, 32), ["stage1"])
    with pytest.raises(ValueError, match="hold no layer 'head'"):
        E.top_patches(model, small_collection(2), codes, "head", [0])
    with pytest.raises(ValueError, match="channel must be an int from 0 to 15"):
        E.top_patches(model, small_collection(2), codes, "stage1", [16], n=1)
    assert hook_count(model) == 0


def test_tsne_gives_one_point_per_item_and_keeps_clusters():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(60) % 3
    features = torch.randn(3, 80, generator=g)[labels] * 5 + torch.randn(60, 80, generator=g)
    points = E.tsne(features, "euclidean", pca_dims=10, perplexity=10)
    assert points.shape == (60, 2) and torch.isfinite(points).all()
    assert E.knn_accuracy(points, labels, 5, "euclidean") == 1.0


# ---------------------------------------------------------------- patches


def test_patches_lie_inside_their_images_and_are_the_receptive_field(model, cache):
    collection = small_collection(n=6, side=40)
    codes = E.collection_codes(model, collection, ["stage2", "stage3"], size=64)
    for layer in ("stage2", "stage3"):
        rf = E.receptive_field(model, layer, 64)
        found = E.top_patches(model, collection, codes, layer, [0, 7], n=3)
        for channel, (patches, crops) in found.items():
            values = [p.value for p in patches]
            assert values == sorted(values, reverse=True)
            assert crops.shape == (3, 3, *rf.size)
            for patch, crop in zip(patches, crops):
                top, left, bottom, right = patch.box
                assert 0 <= top < bottom <= 64 and 0 <= left < right <= 64
                assert patch.box == rf.box(*patch.position)
                # the reported position holds the channel's maximum on that image
                image = collection.float_images([patch.image], 64)
                act = get_activations(model, image, [layer])[layer][0, channel]
                assert act[patch.position] == pytest.approx(float(act.max()), abs=1e-5)
                # the crop shows the image's pixels of the box, grey outside it
                ftop, fleft, _, _ = rf.box(*patch.position, clip=False)
                inside = crop[:, top - ftop: bottom - ftop, left - fleft: right - fleft]
                assert torch.equal(inside, image[0, :, top:bottom, left:right])
                assert (crop == 0.5).all(0).sum() >= crop[0].numel() - inside[0].numel()


def test_a_centred_crop_is_the_middle_of_the_receptive_field(model):
    rf = E.receptive_field(model, "stage3", 64)  # 67 px: more than the image
    image = torch.arange(64 * 64, dtype=torch.float32).view(1, 64, 64) / 4096
    whole = E.crop_patch(image, rf, 3, 3)
    middle = E.crop_patch(image, rf, 3, 3, size=21, fill=-1.0)
    assert whole.shape == (1, 67, 67) and middle.shape == (1, 21, 21)
    assert torch.equal(middle, whole[:, 23:44, 23:44])  # (67 - 21) / 2 = 23 from each side
    corner = E.crop_patch(image, rf, 0, 0, size=21, fill=-1.0)  # reaches over the top left
    top, left, _, _ = rf.box(0, 0, clip=False)
    start = (2 * top + 67 - 21) // 2, (2 * left + 67 - 21) // 2
    assert start[0] < 0 and (corner[:, :-start[0]] == -1).all()
    assert torch.equal(corner[:, -start[0]:, -start[1]:], image[:, :21 + start[0], :21 + start[1]])
    with pytest.raises(ValueError, match="size must be an int >= 1"):
        E.crop_patch(image, rf, 0, 0, size=0)


# ---------------------------------------------------------------- the claims on real photos


def test_feature_space_sees_through_flip_shift_and_colour_where_pixels_do_not(model):
    names = ["cat", "daisy", "astronaut"]
    originals = torch.cat([center_square(load_image(n), 160) for n in names])
    variants = E.perturbations(originals)
    gallery = torch.cat([originals, *variants.values()])
    photo = torch.arange(len(gallery)) % len(names)
    codes = E.center(E.compute_codes(model, gallery, ["head"])["head"].mean)
    flat = gallery.flatten(1)
    fooled = {"pixels": 0, "features": 0}
    for q in range(len(names), len(gallery)):  # every changed copy is a query
        for space, features, metric in (("pixels", flat, "euclidean"), ("features", codes, "cosine")):
            nearest = E.nearest_neighbors(features, q, 2, metric)[0][1]
            fooled[space] += int(photo[nearest] != photo[q])
    assert fooled["features"] == 0
    assert fooled["pixels"] >= 3, fooled


@pytest.mark.slow
def test_codes_beat_pixels_on_fashion_mnist_by_ten_points(model, cache):
    """The notebook's setting: 600 photos, 160 px, head codes centred, cosine; 5-NN leave-one-out."""
    collection = datasets.fashion_mnist(60)
    codes = E.collection_codes(model, collection, "head", size=160, progress=False)
    pix = E.knn_accuracy(E.pixels(collection), collection.labels, 5, "euclidean")
    feat = E.knn_accuracy(E.center(codes["head"].mean), collection.labels, 5, "cosine")
    assert feat - pix >= 0.10, (pix, feat)


def edge_model(filters):
    """One 5x5 convolution (no padding) with the given filters (C, 3, 5, 5), then a ReLU."""
    conv = nn.Conv2d(3, len(filters), 5, bias=False)
    with torch.no_grad():
        conv.weight.copy_(filters)
    net = nn.Sequential(OrderedDict(conv=conv, relu=nn.ReLU(), gap=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(),
                                    fc=nn.Linear(len(filters), 2)))
    return ImageNetModel("edges", net, OrderedDict(relu="relu"), ["a", "b"], (0.5,) * 3, (0.5,) * 3).eval()


def test_mean_top_patch_recovers_a_units_linear_filter_from_noise():
    """The spike-triggered average of a linear unit with a threshold, on white noise, points
    along its filter (the classical result it rests on): a vertical edge, a diagonal bar and a
    blue spot come back, each far closer to its own filter than to the others."""
    edge = torch.zeros(3, 5, 5)
    edge[:, :, :2], edge[:, :, 3:] = -1.0, 1.0
    bar = torch.eye(5).expand(3, 5, 5) * 2 - 0.4
    spot = torch.zeros(3, 5, 5)
    spot[2, 1:4, 1:4] = 1.0
    filters = torch.stack([edge, bar, spot])
    g = torch.Generator().manual_seed(0)
    noise = [torch.rand(1, 3, 40, 40, generator=g) for _ in range(30)]
    averages = E.mean_top_patch(edge_model(filters), noise, "relu", n=200, per_image=20)
    assert averages.shape == (3, 3, 5, 5) and 0 <= averages.min() and averages.max() <= 1
    centred = (averages - 0.5).flatten(1)
    similarity = F.normalize(centred, dim=1) @ F.normalize(filters.flatten(1), dim=1).T
    assert (similarity.diagonal() > 0.8).all(), similarity
    assert (similarity.diagonal() > similarity.max(dim=1).values - 1e-6).all()  # each closest to its own


def test_mean_top_patch_uses_whole_windows_and_at_most_per_image_from_one_image(model):
    photos = [load_image(name, size=96) for name in ("cat", "daisy")]
    averages = E.mean_top_patch(model, photos, "stage1", n=30, per_image=15)
    assert averages.shape == (16, 3, 7, 7)  # stage1's 7 px receptive field
    with pytest.raises(ValueError, match="smaller than the receptive field"):
        E.mean_top_patch(model, [torch.rand(1, 3, 4, 4)], "stage2")
    with pytest.raises(ValueError, match="per_image must be an int >= 1"):
        E.mean_top_patch(model, photos, "stage1", per_image=0)
    with pytest.raises(ValueError, match="at least one image"):
        E.mean_top_patch(model, [], "stage1")


@pytest.mark.slow
def test_codes_beat_pixels_on_gcompris_photos_by_twenty_points(model, cache):
    """Notebook 02's setting: GCompris's 224 photos of six kinds of things at 160 px, head codes
    centred, cosine; 5-NN leave-one-out."""
    collection = gcompris_or_skip()
    codes = E.collection_codes(model, collection, "head", size=160, progress=False)
    pix = E.knn_accuracy(E.pixels(collection), collection.labels, 5, "euclidean")
    feat = E.knn_accuracy(E.center(codes["head"].mean), collection.labels, 5, "cosine")
    assert feat - pix >= 0.20, (pix, feat)


def gcompris_or_skip(size=128):
    try:
        return datasets.gcompris(size)
    except FileNotFoundError as error:
        pytest.skip(str(error))


def test_gcompris_photos_are_labelled_by_the_folder_they_sit_in():
    collection = gcompris_or_skip(size=64)
    assert collection.images.shape[1:] == (3, 64, 64) and collection.images.dtype == torch.uint8
    counts = dict(zip(collection.classes, torch.bincount(collection.labels).tolist()))
    assert counts == {"animal": 57, "fish": 26, "household object": 15, "monument": 70,
                      "renewable energy": 28, "tool": 28}  # three monuments' second copies dropped
    thumbs = F.interpolate(collection.images.float() / 255, size=(16, 16), mode="area").flatten(1)
    distance = torch.cdist(thumbs, thumbs) + torch.eye(len(thumbs)) * 100
    assert distance.min() > 1.0  # no photo twice
    assert not torch.equal(collection.images[:, 0], collection.images[:, 2])  # colour
    assert datasets.gcompris_kind("/gcompris/src/activities/categorization/resource/images/tools/hammer1.webp") == "tool"
    assert datasets.gcompris_kind("/gcompris/src/activities/erase/resource/giraffe.webp") == "animal"
    assert datasets.gcompris_kind("/gcompris/src/activities/categorization/resource/images/numbers/numbers.webp") is None


def test_gcompris_missing_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "GCOMPRIS", tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install gcompris-qt-data"):
        datasets.gcompris()
    with pytest.raises(ValueError, match="unknown collection .mnist.; accepted: gcompris, imagenette, fashion_mnist"):
        datasets.load_collection("mnist")


# ---------------------------------------------------------------- collections and downloads


def test_fashion_mnist_is_a_balanced_labelled_collection():
    collection = datasets.fashion_mnist(per_class=7)
    assert collection.images.shape == (70, 3, 28, 28) and collection.images.dtype == torch.uint8
    assert torch.bincount(collection.labels).tolist() == [7] * 10
    assert collection.classes[9] == "ankle boot"
    assert torch.equal(collection.images[:, 0], collection.images[:, 2])  # greyscale


def test_fashion_mnist_missing_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.FASHION_MNIST_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        datasets.fashion_mnist()
    with pytest.raises(ValueError, match="per_class must be an int >= 1"):
        monkeypatch.delenv(datasets.FASHION_MNIST_ENV)
        datasets.fashion_mnist(per_class=0)


def test_nature_photos_are_sorted_paths_or_name_the_install_command(tmp_path, monkeypatch):
    for name in ("b.jpg", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(datasets, "NATURE_DIR", tmp_path)
    assert [p.name for p in datasets.nature_photos()] == ["a.jpg", "b.jpg"]
    monkeypatch.setattr(datasets, "NATURE_DIR", tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="apt-get install mate-backgrounds"):
        datasets.nature_photos()


def make_imagenette_archive(path, per_class=3, extra=None):
    """A tiny archive laid out like imagenette2-160.tgz: two classes, train/ and val/."""
    from PIL import Image

    with tarfile.open(path, "w:gz") as tar:
        for split in ("train", "val"):
            for c, wnid in enumerate(["n01440764", "n03888605"]):
                for i in range(per_class):
                    buffer = io.BytesIO()
                    Image.new("RGB", (200, 160), (40 * i, 200 * c, 90)).save(buffer, "JPEG")
                    info = tarfile.TarInfo(f"imagenette2-160/{split}/{wnid}/{wnid}_{i}.JPEG")
                    info.size = len(buffer.getvalue())
                    buffer.seek(0)
                    tar.addfile(info, buffer)
        if extra is not None:
            tar.addfile(extra, io.BytesIO(b"x"))
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_fetch_imagenette_downloads_verifies_extracts_and_loads(tmp_path, cache, monkeypatch, capsys):
    archive = tmp_path / "served.tgz"
    md5 = make_imagenette_archive(archive)
    monkeypatch.setattr(datasets, "IMAGENETTE_URL", archive.as_uri())
    monkeypatch.setattr(datasets, "IMAGENETTE_MD5", (md5,))
    assert main(["fetch", "imagenette"]) == 0
    assert "verified and extracted" in capsys.readouterr().out
    assert sorted(p.name for p in cache.iterdir()) == ["imagenette2-160"]  # no archive, no partial left
    collection = datasets.load_collection("imagenette", per_class=2)
    assert collection.name == "Imagenette" and collection.images.shape == (4, 3, 128, 128)
    assert collection.classes == ["tench", "parachute"]
    assert main(["fetch", "imagenette"]) == 0
    assert "already cached" in capsys.readouterr().out
    assert datasets.load_collection("fashion_mnist").name == "Fashion-MNIST"


def test_fetch_imagenette_with_a_wrong_md5_leaves_nothing(tmp_path, cache, monkeypatch, capsys):
    archive = tmp_path / "served.tgz"
    make_imagenette_archive(archive)
    monkeypatch.setattr(datasets, "IMAGENETTE_URL", archive.as_uri())  # published sums: no match
    assert main(["fetch", "imagenette"]) == 1
    assert "not one of the published" in capsys.readouterr().err
    assert not any(cache.iterdir())
    with pytest.raises(FileNotFoundError, match="python -m lecture_utils fetch imagenette"):
        datasets.load_collection("imagenette", per_class=1)


def test_fetch_imagenette_refuses_archives_that_escape_their_folder(tmp_path, cache):
    archive = tmp_path / "evil.tgz"
    info = tarfile.TarInfo("../outside.txt")
    info.size = 1
    md5 = make_imagenette_archive(archive, extra=info)
    with pytest.raises(ValueError, match="outside its folder"):
        datasets.fetch_imagenette(archive.as_uri(), md5, progress=False)
    assert not (tmp_path / "outside.txt").exists() and not any(cache.iterdir())
    archive.write_bytes(b"not a gzip file")
    with pytest.raises(ValueError, match="damaged or not a .tgz"):
        datasets.fetch_imagenette(archive.as_uri(), None, progress=False)
    assert not any(cache.iterdir())
