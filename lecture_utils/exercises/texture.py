"""Notebook 08: the Gram matrix, and the texture loss over several layers."""

from . import _fixtures as fx
from ._core import Case, Mistake, exercise

NOTEBOOK = "08_texture_synthesis"


# --- the Gram matrix ----------------------------------------------------------------------------

def gram_matrix(features):
    """Gram matrices of features (N, C, H, W), averaged over the H * W positions:
    G[n, c, d] = sum_p F[n, c, p] F[n, d, p] / (H * W). Returns (N, C, C)."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def _gram_cases():
    acts = fx.features(fx.tiny_cnn(), fx.photos("cat", "church_auvers"), ["conv2"])["conv2"]
    return [Case((acts,), "the conv2 features (2, 16, 16, 20) of two photos"),
            Case((fx.randn(1, 5, 7, 3, seed=14),), "random features (1, 5, 7, 3)")]


def _flat(features):
    n, c, h, w = features.shape
    return features.reshape(n, c, h * w)


exercise(
    name="gram_matrix", notebook=NOTEBOOK, title="the Gram matrix",
    reference=gram_matrix, cases=_gram_cases,
    mistakes=(
        Mistake("The Gram matrix is not normalised: divide by the number of positions, H * W, so that it is an "
                "average over positions and does not grow with the image.",
                variant=lambda f: _flat(f) @ _flat(f).transpose(1, 2)),
        Mistake("This divides by C * H * W. Here the Gram matrix is averaged over the positions only: divide "
                "by H * W.", variant=lambda f: gram_matrix(f) / f.shape[1]),
        Mistake("This is the (HW x HW) matrix of positions: the product goes the other way, F @ F^T with F of "
                "shape (N, C, HW), so that the result is (N, C, C).",
                variant=lambda f: _flat(f).transpose(1, 2) @ _flat(f) / (f.shape[2] * f.shape[3])),
        Mistake("The features were reshaped to (N, HW, C) with view/reshape, which mixes channels and positions. "
                "Reshape to (N, C, HW) and TRANSPOSE (.transpose(1, 2)) for the second factor.",
                variant=lambda f: _flat(f) @ f.reshape(f.shape[0], -1, f.shape[1]) / (f.shape[2] * f.shape[3])),
        Mistake("The images of the batch were mixed into one matrix: keep one Gram matrix per image, (N, C, C) "
                "(a batched matrix product, @ or torch.bmm).",
                test=lambda outs, cases: any(o.ndim == 2 for o in outs)),
    ),
)


# --- the texture loss over layers ---------------------------------------------------------------

def texture_loss(features, target_grams, weights):
    """Sum over the layers of weights[layer] * ||G - A||^2 (the sum of squared differences),
    G the gram_matrix of features[layer] and A = target_grams[layer].
    features: {layer: (1, C, H, W)}; target_grams: {layer: (1, C, C)}; weights: {layer: float}.
    Returns a number (a 0-dim tensor) that gradients can follow."""
    loss = 0
    for layer, a in target_grams.items():
        loss = loss + weights[layer] * (gram_matrix(features[layer]) - a).pow(2).sum()
    return loss


def _texture_variant(term, weighted=True, last_only=False):
    def variant(features, target_grams, weights):
        terms = [(weights[layer] if weighted else 1.0) * term(features[layer], a) for layer, a in target_grams.items()]
        return terms[-1] if last_only else sum(terms)
    return variant


squared = lambda f, a: (gram_matrix(f) - a).pow(2).sum()  # noqa: E731


def _texture_cases():
    model = fx.tiny_cnn()
    layers = ["conv1", "conv2", "conv3"]
    noise = (0.5 + 0.1 * fx.randn(1, 3, *fx.SIZE, seed=15)).clamp(0, 1)
    texture_grams = {k: gram_matrix(v) for k, v in fx.features(model, fx.photo("bricks"), layers).items()}
    image_features = {k: v.requires_grad_(True) for k, v in fx.features(model, noise, layers).items()}
    church_grams = {k: gram_matrix(v) for k, v in fx.features(model, fx.photo("church_auvers"), layers[:2]).items()}
    cat_features = {k: v.requires_grad_(True) for k, v in fx.features(model, fx.photo("cat"), layers[:2]).items()}
    return [Case((image_features, texture_grams, {"conv1": 1.0, "conv2": 0.5, "conv3": 2.0}),
                 "noise against bricks at three layers"),
            Case((cat_features, church_grams, {"conv1": 0.2, "conv2": 1.0}), "a cat against a painting at two layers")]


exercise(
    name="texture_loss", notebook=NOTEBOOK, title="the texture loss over layers",
    reference=texture_loss, kind="scalar", graph=True, cases=_texture_cases,
    hint="(Does your gram_matrix pass its check? This loss uses it.)",
    mistakes=(
        Mistake("The layer weights are missing: multiply each layer's term by weights[layer].",
                variant=_texture_variant(squared, weighted=False)),
        Mistake("Only the last layer counts: add the terms of ALL layers up (loss = loss + ... inside the loop).",
                variant=_texture_variant(squared, last_only=True)),
        Mistake("This is the mean of the squared differences; the loss is their SUM, .pow(2).sum().",
                variant=_texture_variant(lambda f, a: (gram_matrix(f) - a).pow(2).mean())),
        Mistake("These Gram matrices are not normalised by the number of positions (H * W), unlike the targets: "
                "compute G with gram_matrix, which averages over positions.",
                variant=_texture_variant(lambda f, a: (gram_matrix(f) * f.shape[2] * f.shape[3] - a).pow(2).sum())),
        Mistake("This is the norm ||G - A||, not its square: leave out the square root (.pow(2).sum(), not .norm()).",
                variant=_texture_variant(lambda f, a: (gram_matrix(f) - a).norm())),
    ),
)
