"""The network as a feature space: CNN codes, nearest neighbours, t-SNE, kNN accuracy, and the
image patches that excite a unit most.

A CNN code of an image at a layer is the layer's activation averaged over all positions
(global average pooling): one number per channel. `collection_codes` computes the codes of a
whole `datasets.Collection` in batches and caches them on disk, keyed by the model's weights,
the layer, the input size and the collection's pixels (change any and the cache misses).
Alongside each code it keeps each channel's maximum over positions and where it was, which
is all that `top_patches` needs to cut out the maximally activating patches.

Receptive fields (`receptive_field`) are computed exactly from the kernel sizes, strides,
dilations and paddings of the convolutions and poolings before a layer, including
TensorFlow-style "SAME" padding, which depends on the input size.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .activations import get_activations, resolve_layers
from .datasets import cache_dir
from .models import SamePadding, same_padding

METRICS = ("cosine", "euclidean")
# Their spatial layers branch (residual shortcuts that downsample, parallel inception paths):
# the receptive field of a chain does not describe them.
BRANCHING_MODELS = ("resnet18", "googlenet", "squeezenet1_1")


@dataclass
class LayerCodes:
    """What one pass keeps of a layer for N images.

    mean: (N, C) float, the CNN codes (activation averaged over positions).
    max: (N, C) float, each channel's largest activation; argmax: (N, C) long, where
    (flat index into the h x w map); shape: (h, w) of the map; size: the input side in pixels.
    """

    mean: torch.Tensor
    max: torch.Tensor
    argmax: torch.Tensor
    shape: tuple
    size: int

    def position(self, image, channel):
        """(row, col) in the map of `channel`'s maximum on image number `image`."""
        return divmod(int(self.argmax[image, channel]), self.shape[1])


class Codes(OrderedDict):
    """{layer: LayerCodes}; `.computed` names the layers computed now (not read from the cache)."""

    computed = ()


def compute_codes(model, images, layers, batch_size=16, progress=False):
    """Codes, channel maxima and their positions at `layers` for float images (N, 3, S, S).

    `images` is a tensor or anything that has a length and gives such tensors when sliced.

    Batches of `batch_size` go through the model without gradients; the forward pass stops
    at the deepest layer asked for. Returns a `Codes` dict {layer: LayerCodes}, on the CPU.
    """
    from tqdm.auto import tqdm

    names = list(resolve_layers(model, layers))
    _checks.positive_int(batch_size, "batch_size")
    if len(images) == 0:
        raise ValueError("no images given; expected a tensor (N, 3, S, S) with N >= 1")
    parts = {name: ([], [], []) for name in names}
    shapes = {}
    batches = range(0, len(images), batch_size)
    for start in tqdm(batches, desc="CNN codes", unit="batch", disable=not progress):
        batch = images[start:start + batch_size]
        # channels_last input: the CPU's depthwise convolutions are faster in that layout
        batch = batch.to(model.device).contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            acts = get_activations(model, batch, names)
        for name, act in acts.items():
            if act.ndim != 4:
                raise ValueError(f"layer {name!r} has no spatial map (shape {tuple(act.shape)}); "
                                 f"pick a convolutional layer")
            flat = act.float().flatten(2)
            best = flat.max(dim=2)
            for store, value in zip(parts[name], (flat.mean(2), best.values, best.indices)):
                store.append(value.cpu())
            shapes[name] = tuple(act.shape[2:])
        size = int(batch.shape[-1])
    codes = Codes()
    for name, (means, maxima, where) in parts.items():
        codes[name] = LayerCodes(torch.cat(means), torch.cat(maxima), torch.cat(where), shapes[name], size)
    codes.computed = tuple(names)
    return codes


def model_fingerprint(model):
    """SHA-256 of the model's name and every parameter and buffer: changed weights, new key."""
    return _checks.fingerprint(model.name, *(part for key, value in model.state_dict().items()
                                             for part in (key, value)))


def codes_dir():
    """Where cached codes live: `datasets.cache_dir()`/codes ($LECTURE_UTILS_CACHE moves it)."""
    return cache_dir() / "codes"


def _cache_path(folder, model, fingerprint, collection, layer, size):
    key = _checks.fingerprint(f"{fingerprint}|{collection.fingerprint}|{layer}|{size}")[:20]
    return Path(folder) / f"{model.name}-{layer}-{size}px-{key}.pt"


def collection_codes(model, collection, layers, size=160, batch_size=16, cache=True, folder=None,
                     progress=True):
    """CNN codes of every image of a collection at one or more layers, cached on disk.

    Args:
        model: an `ImageNetModel`.
        collection: a `datasets.Collection`.
        layers: a layer name or a list of them (spatial layers: "stem", "stage1".. "head").
        size: each image is scaled to size x size before the forward pass.
        batch_size: images per forward pass.
        cache: read and write the cache; False computes everything and writes nothing.
        folder: the cache folder (default `codes_dir()`).
        progress: a progress bar over batches while computing.

    Returns:
        `Codes` {layer: LayerCodes}; `.computed` lists the layers that were not in the cache
        (only those go through the model, in one pass).

    Example:
        >>> codes = collection_codes(model, fashion_mnist(60), ["stage6", "head"])
        >>> codes["head"].mean.shape
        torch.Size([600, 1280])
    """
    names = list(resolve_layers(model, layers))
    _checks.integer(size, "size", 16, 1024)
    folder = Path(folder) if folder is not None else codes_dir()
    fingerprint = model_fingerprint(model) if cache else None
    codes, missing = Codes(), []
    for name in names:
        path = _cache_path(folder, model, fingerprint, collection, name, size) if cache else None
        if cache and path.is_file():
            try:
                codes[name] = LayerCodes(**torch.load(path, map_location="cpu", weights_only=True))
                continue
            except Exception:  # a damaged cache file is recomputed and replaced
                pass
        missing.append(name)
    if missing:
        computed = compute_codes(model, _Resized(collection, size), missing, batch_size, progress)
        for name in missing:
            if cache:
                _checks.save_atomic(vars(computed[name]), _cache_path(folder, model, fingerprint, collection, name, size))
        codes.update(computed)
    result = Codes((name, codes[name]) for name in names)
    result.computed = tuple(missing)
    return result


class _Resized:
    """A collection's images scaled to size x size, one slice at a time (600 images at 224 px
    would need 360 MB at once)."""

    def __init__(self, collection, size):
        self.collection, self.size = collection, size

    def __len__(self):
        return len(self.collection)

    def __getitem__(self, index):
        return self.collection.float_images(index, self.size)


def pixels(collection, size=None):
    """The pixel-space vectors: each image flattened, (N, 3 * H * W) floats in [0, 1]."""
    return collection.float_images(size=size).flatten(1)


def center(features):
    """Features minus their mean over the collection (what all images share carries no class)."""
    features = torch.as_tensor(features).float()
    return features - features.mean(dim=0, keepdim=True)


def distances(features, queries, metric="cosine"):
    """Distances (M, N) from queries (M, D) to features (N, D): 1 - cosine similarity, or Euclidean."""
    _checks.one_of(metric, "metric", METRICS)
    features, queries = torch.as_tensor(features).float(), torch.as_tensor(queries).float()
    if queries.ndim == 1:
        queries = queries[None]
    if features.ndim != 2 or queries.ndim != 2 or queries.shape[1] != features.shape[1]:
        raise ValueError(f"features must be (N, D) and queries (M, D) or (D,) with the same D; got "
                         f"{tuple(features.shape)} and {tuple(queries.shape)}")
    queries, features = queries.double(), features.double()
    if metric == "cosine":  # 1 - cos(a, b) = |a/|a| - b/|b||^2 / 2: exactly 0 for an item and itself
        queries, features = F.normalize(queries, dim=1), F.normalize(features, dim=1)
    # cdist's matrix-product shortcut is inexact for near-equal points; this path is not
    d = torch.cdist(queries, features, compute_mode="donot_use_mm_for_euclid_dist")
    return (d.square() / 2 if metric == "cosine" else d).float()


def nearest_neighbors(features, query, k=5, metric="cosine", *, exclude_query=False, center=False):
    """The k nearest items to a query, nearest first.

    Args:
        features: (N, D) codes or pixel vectors.
        query: an item's index (then the item itself comes first, at distance 0) or a vector (D,).
        k: how many, 1..N (1..N-1 with exclude_query).
        metric: "cosine" (1 - cosine similarity; for codes) or "euclidean" (for pixels).
        exclude_query: with an index, the k nearest OTHER items (the query is left out).
        center: subtract the mean of `features` from them and from the query first (`center`:
            what all items share carries no class, and cosine distances then compare what is left).

    Returns:
        (indices, distances): long (k,) and float (k,).
    """
    features = torch.as_tensor(features).float()
    index = None
    if isinstance(query, int) and not isinstance(query, bool):
        if not -len(features) <= query < len(features):
            raise ValueError(f"query index {query} is out of range for {len(features)} items")
        index = query % len(features)
        query = features[index]
    elif exclude_query:
        raise ValueError("exclude_query=True needs the query as an item's index; a vector is not one of the items")
    _checks.integer(k, "k", 1, len(features) - (1 if exclude_query else 0))
    query = torch.as_tensor(query).float()
    if center:
        mean = features.mean(dim=0)
        features, query = features - mean, query - mean
    d = distances(features, query, metric)[0]
    # stable sort: equal distances keep the collection's order
    order = torch.sort(d, stable=True).indices
    if exclude_query:
        order = order[order != index]
    order = order[:k]
    return order, d[order]


def knn_accuracy(features, labels, k=5, metric="cosine"):
    """Leave-one-out accuracy of a k-nearest-neighbour classifier (majority vote).

    Each item is classified by the labels of its k nearest other items; ties in the vote go
    to the smallest label (as scikit-learn does). Returns a float in [0, 1].
    """
    features, labels = torch.as_tensor(features).float(), torch.as_tensor(labels).long()
    if len(features) != len(labels):
        raise ValueError(f"{len(features)} feature vectors but {len(labels)} labels")
    _checks.integer(k, "k", 1, len(features) - 1)
    d = distances(features, features, metric)
    d.fill_diagonal_(float("inf"))  # leave the item itself out
    nearest = torch.sort(d, dim=1, stable=True).indices[:, :k]
    votes = F.one_hot(labels[nearest], int(labels.max()) + 1).sum(1)
    predicted = votes.argmax(1)  # argmax returns the first (smallest) label among ties
    return float((predicted == labels).float().mean())


def tsne(features, metric="cosine", pca_dims=50, perplexity=30.0, iterations=500, seed=0):
    """A 2-D t-SNE map of (N, D) features, after PCA to `pca_dims` dimensions.

    For metric "cosine" the rows are scaled to unit length first (Euclidean distance between
    unit vectors orders pairs as cosine distance does). 500 iterations (scikit-learn's default
    is 1000) settle a map of a few hundred points. Returns a float tensor (N, 2).
    Limit: t-SNE keeps neighbourhoods, not distances between clusters.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    _checks.one_of(metric, "metric", METRICS)
    features = torch.as_tensor(features).float()
    if metric == "cosine":
        features = F.normalize(features, dim=1)
    x = features.numpy()
    if x.shape[1] > pca_dims:
        x = PCA(pca_dims, random_state=seed).fit_transform(x)
    perplexity = min(perplexity, (len(x) - 1) / 3)
    points = TSNE(2, perplexity=perplexity, init="pca", max_iter=iterations, random_state=seed).fit_transform(x)
    return torch.from_numpy(points).float()


# ---------------------------------------------------------------- receptive fields


@dataclass
class ReceptiveField:
    """The input window that one position of a layer's map sees, per axis (rows, cols).

    Away from the edges, position i along an axis sees input pixels start + i * stride up to
    start + i * stride + size - 1 (start may be negative: padding). `box(row, col)` gives the
    exact window (top, left, bottom, right), bottom and right exclusive: it walks back through
    every layer and drops what falls into a layer's padding, so it always lies in the image.
    `box(..., clip=False)` gives the full window, padding included.
    """

    size: tuple
    stride: tuple
    start: tuple
    image_size: tuple
    ops: tuple = ()  # per layer: ((span, stride, pad_before, in_size) per axis)

    def box(self, row, col, clip=True):
        if not clip:
            top, left = (self.start[a] + p * self.stride[a] for a, p in enumerate((row, col)))
            return top, left, top + self.size[0], left + self.size[1]
        bounds = []
        for axis, position in enumerate((row, col)):
            low = high = position
            for op in reversed(self.ops):
                span, stride, pad, in_size = op[axis]
                low = max(low * stride - pad, 0)
                high = min(high * stride - pad + span - 1, in_size - 1)
            bounds.append((low, high + 1))
        (top, bottom), (left, right) = bounds
        return top, left, bottom, right


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _spatial_ops(model, layer, image_size):
    """(kernel, stride, dilation, pad_before, in_size) per axis of every convolution and pooling
    that runs before `layer`'s output, in call order."""
    ops, handles, owner = [], [], threading.get_ident()

    def record(module, inputs):
        if threading.get_ident() != owner:  # another thread's forward pass on the same network
            return
        x = inputs[0]
        k, s = _pair(module.kernel_size), _pair(module.stride)
        d = _pair(getattr(module, "dilation", 1))
        pad = module.padding
        if isinstance(pad, str):
            if pad == "same":  # PyTorch pads the extra pixel at the end, as TensorFlow does
                pad = tuple((dd * (kk - 1)) // 2 for kk, dd in zip(k, d))
            else:
                pad = (0, 0)
        pad = _pair(pad)
        if isinstance(getattr(module, "static_padding", None), SamePadding):  # computed from this input's size
            pad = tuple(p + same_padding(n, kk, ss, dd)[0] for p, n, kk, ss, dd in zip(pad, x.shape[-2:], k, s, d))
        ops.append((k, s, d, pad, tuple(x.shape[-2:]), module))

    try:
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
                handles.append(module.register_forward_pre_hook(record))
        with torch.no_grad():
            get_activations(model, torch.zeros(1, 3, *image_size, device=model.device), [layer])
    finally:
        for handle in handles:
            handle.remove()
    return ops


def receptive_field(model, layer, image_size=224):
    """The exact receptive field of one position of `layer` for inputs of `image_size`.

    Args:
        model: an `ImageNetModel` whose convolutions and poolings form a chain (EfficientNet-Lite0,
            AlexNet, VGG; identity shortcuts are fine, they see less than the main path).
        layer: a layer name (see `model.layers`).
        image_size: the input's side (int) or (H, W): "SAME" padding depends on it.

    Returns:
        A `ReceptiveField`.

    Raises:
        ValueError for an unknown layer, a model whose spatial layers branch, or a layer
        reached through a layer whose input is not the previous layer's output size.
    """
    if getattr(model, "name", None) in BRANCHING_MODELS:
        raise ValueError(f"{model.name} has branching spatial layers; receptive fields are computed "
                         f"for chains only: efficientnet_lite0, alexnet, vgg16, vgg19")
    resolve_layers(model, layer)
    image_size = _pair(image_size)
    size, stride, start = [1, 1], [1, 1], [0, 0]
    expected, chain = list(image_size), []
    for k, s, d, pad, in_size, module in _spatial_ops(model, layer, image_size):
        chain.append(tuple((d[a] * (k[a] - 1) + 1, s[a], pad[a], in_size[a]) for a in range(2)))
        for axis in range(2):
            if in_size[axis] != expected[axis]:
                raise ValueError(f"the spatial layers before {layer!r} do not form a chain ({module} "
                                 f"takes {in_size[axis]} pixels where the previous one gave {expected[axis]})")
            span = d[axis] * (k[axis] - 1) + 1
            start[axis] -= pad[axis] * stride[axis]
            size[axis] += (span - 1) * stride[axis]
            stride[axis] *= s[axis]
        out = _output_size(module, in_size, k, s, d)
        expected = list(out)
    return ReceptiveField(tuple(size), tuple(stride), tuple(start), image_size, tuple(chain))


def _output_size(module, in_size, k, s, d):
    """The output size of a convolution or pooling, by running it on a tiny zero input."""
    probe = torch.zeros(1, getattr(module, "in_channels", 1), *in_size, device=next(
        (p.device for p in module.parameters()), torch.device("cpu")),
        dtype=next((p.dtype for p in module.parameters()), torch.float32))
    with torch.no_grad():
        return tuple(module(probe).shape[-2:])


# ---------------------------------------------------------------- maximally activating patches


@dataclass
class Patch:
    """One maximally activating patch: image index, map position, value, and the box
    (top, left, bottom, right) in the size x size input, clipped to it."""

    image: int
    position: tuple
    value: float
    box: tuple


def top_patches(model, collection, codes, layer, channels, n=8):
    """For each channel, the `n` images that excite it most and the patch each was seen through.

    Args:
        model, collection: as given to `collection_codes`.
        codes: its result (must hold `layer`); the maxima and their positions come from there,
            so no forward pass is needed.
        layer: the layer name; channels: channel indices.
        n: patches per channel (one per image, strongest first).

    Returns:
        {channel: (patches, crops)}: `patches` a list of `Patch`, `crops` float (n, 3, S, S) with
        S the receptive field's size in pixels; a patch reaching over the image's edge is
        grey where the receptive field lies outside the image.
    """
    if layer not in codes:
        raise ValueError(f"the codes hold no layer {layer!r}; computed: {', '.join(codes)}")
    lc = codes[layer]
    _checks.integer(n, "n", 1, len(collection))
    rf = receptive_field(model, layer, lc.size)
    out = OrderedDict()
    for channel in channels:
        _checks.integer(channel, "channel", 0, lc.max.shape[1] - 1)
        order = torch.sort(lc.max[:, channel], descending=True, stable=True).indices[:n]
        patches, crops = [], []
        images = collection.float_images(order, lc.size)
        for image, index in zip(images, order.tolist()):
            row, col = lc.position(index, channel)
            box = rf.box(row, col)
            patches.append(Patch(index, (row, col), float(lc.max[index, channel]), box))
            crops.append(crop_patch(image, rf, row, col))
        out[channel] = (patches, torch.stack(crops))
    return out


def crop_patch(image, rf, row, col, size=None, fill=0.5):
    """The window of one image (C, H, W) that the unit at (row, col) of `rf`'s layer sees.

    size: None for the whole receptive field; an int for a square of that side centred on the
    receptive field's centre (units see the middle of their window far more than its edges).
    Where the window lies outside the image it holds `fill` (grey for photos; 0 for gradients).
    Returns (C, S, S) (or the receptive field's (C, h, w)).
    """
    top, left, bottom, right = rf.box(row, col, clip=False)
    if size is not None:
        size = _checks.positive_int(size, "size")
        top, left = (top + bottom - size) // 2, (left + right - size) // 2
        bottom, right = top + size, left + size
    canvas = torch.full((image.shape[0], bottom - top, right - left), float(fill), dtype=image.dtype)
    inside = rf.box(row, col)  # the part of the whole window that lies in the image
    t, l = max(top, inside[0]), max(left, inside[1])
    b, r = min(bottom, inside[2]), min(right, inside[3])
    if b > t and r > l:
        canvas[:, t - top: b - top, l - left: r - left] = image[:, t:b, l:r]
    return canvas


# ---------------------------------------------------------------- invariance demonstration


def perturbations(image, shift=0.25):
    """Three changes that keep what an image shows: a mirror flip, a shift by `shift` of the
    width (rolled around), and a colour change (red and blue swapped, brightness 0.8).
    Returns {name: tensor like image}."""
    width = image.shape[-1]
    return OrderedDict(
        flipped=image.flip(-1),
        shifted=image.roll(int(round(shift * width)), dims=-1),
        recoloured=(image[:, [2, 1, 0]] * 0.8),
    )


# ---------------------------------------------------------------- what the first layers detect


def mean_top_patch(model, images, layer, n=100, per_image=10):
    """For each channel of an early layer, the average of the `n` image windows that excite it
    most (its receptive field at its `n` strongest positions over all `images`, at most
    `per_image` from one image, so that no one photo's texture dominates; windows that lie
    wholly inside their image only): the "spike-triggered average" with which
    neuroscientists map a neuron's receptive field (Chichilnisky 2001). Where a unit computes a
    roughly linear filter followed by a threshold, as units of the first layers do, the average
    shows that filter: an oriented edge, a bar, a spot of colour.

    Args:
        images: (1, 3, H, W) images in [0, 1] of any sizes (each at least the receptive field): a
            list, or any iterable (a generator holds only one image in memory at a time).
        layer: a layer name of `model.layers`; a shallow one (deeper units respond to shapes and
            textures whose positions vary, and their averages blur).
        n: windows averaged per channel; per_image: at most this many of them from one image.

    Returns:
        (C, 3, S, S) float in [0, 1], S the receptive field's side in pixels.

    Example:
        >>> edges = mean_top_patch(model, [load_image(n) for n in bundled_images()], "stage2")
    """
    n = _checks.positive_int(n, "n")
    per_image = _checks.positive_int(per_image, "per_image")
    candidates = []  # per image: (values (C, k), windows (C, k, 3, S, S))
    for image in images:
        image = _checks.images(image, "each image", single=True)
        rf = receptive_field(model, layer, tuple(image.shape[-2:]))
        with torch.no_grad():
            maps = get_activations(model, image.to(model.device), [layer])[layer][0].cpu()
        inside = _inside_positions(rf, maps.shape[-2:])
        if inside is None:
            raise ValueError(f"an image of {tuple(image.shape[-2:])} px is smaller than the receptive field of "
                             f"{layer} ({rf.size[0]} px): give larger images")
        rows, cols = inside
        values = maps[:, rows, cols]  # (C, h', w')
        k = min(n, per_image, values[0].numel())
        top, where = values.flatten(1).topk(k, dim=1)
        r = rows.start + where // values.shape[-1]
        c = cols.start + where % values.shape[-1]
        windows = torch.stack([torch.stack([image[0, :, t:b, l:rr] for t, l, b, rr in
                                            (rf.box(int(i), int(j), clip=False) for i, j in zip(r_c, c_c))])
                               for r_c, c_c in zip(r, c)])
        candidates.append((top, windows))
    if not candidates:
        raise ValueError("images must hold at least one image")
    values = torch.cat([v for v, _ in candidates], dim=1)
    windows = torch.cat([w for _, w in candidates], dim=1)
    best = values.topk(min(n, values.shape[1]), dim=1).indices
    return torch.stack([windows[ch, best[ch]].mean(dim=0) for ch in range(windows.shape[0])])


def _inside_positions(rf, shape):
    """(rows, cols) slices of the map positions whose whole receptive field lies in the image."""
    spans = []
    for axis in (0, 1):
        first = -(-max(0, -rf.start[axis]) // rf.stride[axis])  # ceil: window starts at >= 0
        last = (rf.image_size[axis] - rf.size[axis] - rf.start[axis]) // rf.stride[axis]
        last = min(last, shape[axis] - 1)
        if last < first:
            return None
        spans.append(slice(first, last + 1))
    return tuple(spans)
