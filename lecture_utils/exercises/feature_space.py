"""Notebook 02: the receptive field of a chain of layers, and nearest neighbours by cosine
similarity in feature space."""

import torch
import torch.nn.functional as F

from . import _fixtures as fx
from ._core import Case, Mistake, exercise

NOTEBOOK = "02_feature_space"


# --- receptive field ---------------------------------------------------------------------------

def receptive_field(layers):
    """(size, stride) of one unit after a chain of layers, each (kernel, stride): how many input
    pixels it sees along an axis, and how far apart (in input pixels) neighbouring units are."""
    size, jump = 1, 1
    for kernel, stride in layers:
        size += (kernel - 1) * jump  # k - 1 more units of the layer below, each `jump` pixels apart
        jump *= stride
    return size, jump


CHAINS = {
    "AlexNet's conv1 to pool5": [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)],
    "two 3 x 3 convolutions": [(3, 1), (3, 1)],
    "three stride-2 3 x 3 convolutions": [(3, 2), (3, 2), (3, 2)],
    "VGG's first two blocks": [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2)],
    "one 7 x 7 convolution of stride 2": [(7, 2)],
}


def _jump_too_soon(layers):
    size, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        size += (kernel - 1) * jump
    return size, jump


def _no_jump(layers):
    size, jump = 1, 1
    for kernel, stride in layers:
        size += kernel - 1
        jump *= stride
    return size, jump


def _kernel_sum(layers):
    jump = 1
    for _, stride in layers:
        jump *= stride
    return sum(k for k, _ in layers), jump


def _no_stride_product(layers):
    size = 1
    for kernel, stride in layers:
        size += (kernel - 1) * stride
    return size, layers[-1][1]


exercise(
    name="receptive_field", notebook=NOTEBOOK,
    title="the receptive field of a chain of layers", reference=receptive_field, kind="ints",
    cases=lambda: [Case((chain,), about) for about, chain in CHAINS.items()],
    mistakes=(
        Mistake("The stride was multiplied in before the layer's kernel was counted. A layer's kernel spans "
                "units of the layer BELOW it, which are `jump` pixels apart with the strides up to there: "
                "first size += (k - 1) * jump, then jump *= stride.", variant=_jump_too_soon),
        Mistake("After a strided layer, one more unit of that layer is `jump` input pixels further on, not 1: "
                "add (k - 1) * jump, where jump is the product of the strides so far.", variant=_no_jump),
        Mistake("Kernel sizes do not simply add up: each layer adds (k - 1) * jump, where jump is the product "
                "of the strides of the layers before it.", variant=_kernel_sum),
        Mistake("Only the layer's own stride was used. The spacing of a layer's units in input pixels is the "
                "product of all the strides so far (a running `jump`), and the stride returned is that product.",
                variant=_no_stride_product),
    ),
)


# --- nearest neighbours in feature space ----------------------------------------------------------

def nearest_neighbors(features, query, k):
    """Indices (k,) of the k rows of `features` (N, D) most similar to `query` (D,) by cosine
    similarity, most similar first."""
    similarity = F.normalize(features, dim=1) @ F.normalize(query, dim=0)
    return similarity.topk(k).indices


def _knn_cases():
    # Codes whose lengths vary a lot, so Euclidean distance and dot products rank them differently.
    scale = torch.exp(fx.randn(60, 1, seed=3))
    codes = fx.randn(60, 16, seed=4) * scale + 0.2
    query = fx.randn(16, seed=5) + 0.2
    model_codes = fx.features(fx.tiny_cnn(), fx.photos("cat", "espresso", "daisy", "palace", "rocket",
                                                       "astronaut"), ["conv3"])["conv3"].mean(dim=(2, 3))
    return [Case((codes, query, 5), "60 codes of 16 numbers, k = 5"),
            Case((codes, codes[17].clone(), 8), "a query that is one of the codes (index 17), k = 8"),
            Case((model_codes, model_codes[2].clone(), 3), "the codes of six photos, k = 3")]


def _similarities(features, query, k):
    similarity = F.normalize(features, dim=1) @ F.normalize(query, dim=0)
    return similarity.topk(k).values


exercise(
    name="nearest_neighbors", notebook=NOTEBOOK,
    title="nearest neighbours in feature space", reference=nearest_neighbors, kind="index", cases=_knn_cases,
    mistakes=(
        Mistake("These are the k LEAST similar codes: take the largest similarities (topk), or sort the "
                "cosine DISTANCES (1 - similarity) in ascending order.",
                variant=lambda f, q, k: (F.normalize(f, dim=1) @ F.normalize(q, dim=0)).topk(k, largest=False).indices),
        Mistake("These are the nearest by Euclidean distance. Cosine similarity compares directions only: divide "
                "every code and the query by its length (F.normalize) before the dot product.",
                variant=lambda f, q, k: (f - q).norm(dim=1).topk(k, largest=False).indices),
        Mistake("These are the largest dot products: long codes win. Normalise the codes too (every row to "
                "length 1, F.normalize(features, dim=1)), not only the query.",
                variant=lambda f, q, k: (f @ q).topk(k).indices),
        Mistake("The right neighbours in the wrong order: the most similar comes first.",
                variant=lambda f, q, k: (F.normalize(f, dim=1) @ F.normalize(q, dim=0)).topk(k).indices.flip(0)),
        Mistake("These are the similarities of the nearest codes; return their indices (topk(...).indices).",
                variant=_similarities),
    ),
)
