"""Notebook 07: the total-variation regulariser and the feature-inversion loss."""

import torch

from ..activations import get_activations
from . import _fixtures as fx
from ._core import Case, Mistake, exercise

NOTEBOOK = "07_feature_inversion"


# --- total variation ----------------------------------------------------------------------------

def total_variation(image, beta=2.0):
    """Mahendran and Vedaldi's TV regulariser: the sum over pixels (i, j), channels and images
    of ((x[i, j+1] - x[i, j])^2 + (x[i+1, j] - x[i, j])^2) ** (beta / 2), over the pixels that
    have both a right and a lower neighbour. image (N, C, H, W); returns a number (a 0-dim tensor)."""
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]  # to the right neighbour
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]  # to the lower neighbour
    return (dx.pow(2) + dy.pow(2)).pow(beta / 2).sum()


def _differences(image, rows=-2, cols=-1):
    """(dx, dy) on the positions that have both a right and a lower neighbour, along `rows` and `cols`."""
    h, w = image.shape[rows] - 1, image.shape[cols] - 1
    base = image.narrow(rows, 0, h).narrow(cols, 0, w)
    right = image.narrow(rows, 0, h).narrow(cols, 1, w)
    down = image.narrow(rows, 1, h).narrow(cols, 0, w)
    return right - base, down - base


def _tv_variant(dims=(-2, -1), power=lambda beta: beta / 2, reduce=torch.sum, parts="both"):
    def variant(image, beta=2.0):
        dx, dy = _differences(image, *dims)
        if parts == "x":
            return reduce(dx.abs().pow(beta))
        if parts == "y":
            return reduce(dy.abs().pow(beta))
        if parts == "separate":
            return reduce(dx.abs().pow(beta)) + reduce(dy.abs().pow(beta))
        return reduce((dx.pow(2) + dy.pow(2)).pow(power(beta)))
    return variant


def _separate_full(image, beta=2.0):
    """|dx|^beta and |dy|^beta each summed over every pair of neighbours (CS231n's TV, for beta 2)."""
    return image.diff(dim=-1).abs().pow(beta).sum() + image.diff(dim=-2).abs().pow(beta).sum()


def _tv_cases():
    cat = fx.photo("cat").requires_grad_(True)
    pair = fx.photos("espresso", "daisy", size=(24, 20)).requires_grad_(True)
    return [Case((cat, 2.0), "a 32 x 40 cat, beta 2"), Case((pair, 1.0), "two 24 x 20 photos, beta 1"),
            Case((cat, 1.5), "a 32 x 40 cat, beta 1.5")]


exercise(
    name="total_variation", notebook=NOTEBOOK, title="the total-variation regulariser",
    reference=total_variation, kind="scalar", graph=True, cases=_tv_cases,
    mistakes=(
        Mistake("The differences run over the wrong axes: neighbours in an image (N, C, H, W) are along the "
                "last two dims, H (rows, dim -2) and W (columns, dim -1), not along the colour channels.",
                test=lambda outs, cases: any(all(fx.near(o, _tv_variant(dims=d)(*c.args)) for o, c in zip(outs, cases))
                                             for d in ((1, 2), (1, 3), (0, 1)))),
        Mistake("beta was ignored: raise the sum dx^2 + dy^2 to the power beta / 2 at every pixel.",
                variant=_tv_variant(power=lambda beta: 1.0)),
        Mistake("The power is beta / 2, not beta: (dx^2 + dy^2) ** (beta / 2) (for beta = 2 the plain sum of "
                "squares).", variant=_tv_variant(power=lambda beta: beta)),
        Mistake("Only the horizontal differences (to the right neighbour) are there; add the vertical ones, "
                "to the neighbour below.", variant=_tv_variant(parts="x")),
        Mistake("Only the vertical differences (to the neighbour below) are there; add the horizontal ones, "
                "to the right neighbour.", variant=_tv_variant(parts="y")),
        Mistake("This is the mean; the regulariser is the SUM over pixels, channels and images.",
                variant=_tv_variant(reduce=torch.mean)),
        Mistake("dx and dy were raised to the power on their own (|dx|^beta + |dy|^beta). The slide's formula "
                "adds the squares first, at each pixel that has both a right and a lower neighbour: "
                "(dx^2 + dy^2) ** (beta / 2).",
                test=lambda outs, cases: any(all(fx.near(o, v(*c.args)) for o, c in zip(outs, cases))
                                             for v in (_tv_variant(parts="separate"), _separate_full))),
    ),
)



# --- the feature-inversion loss -----------------------------------------------------------------

def inversion_loss(model, image, layer, target_features, tv_weight):
    """Feature inversion's loss: ||phi(x) - phi_0||^2 / ||phi_0||^2 + tv_weight * TV(x), with
    phi(x) the activations of `layer` for the image, phi_0 = target_features, and TV the
    total_variation above (beta 2). Returns a number (a 0-dim tensor) that gradients can follow."""
    features = get_activations(model, image, [layer])[layer]
    match = (features - target_features).pow(2).sum() / target_features.pow(2).sum()
    return match + tv_weight * total_variation(image)


def _inversion_variant(match, tv_sign=1):
    def variant(model, image, layer, target_features, tv_weight):
        features = get_activations(model, image, [layer])[layer]
        return match(features, target_features) + tv_sign * tv_weight * total_variation(image)
    return variant


def _cases():
    model = fx.tiny_cnn()
    start = (0.5 + 0.1 * fx.randn(1, 3, *fx.SIZE, seed=12)).clamp(0, 1).requires_grad_(True)
    target = fx.features(model, fx.photo("espresso"), ["conv2"])["conv2"]
    target3 = fx.features(model, fx.photo("cat"), ["conv3"])["conv3"]
    return [Case((model, start, "conv2", target, 0.01), "noise against an espresso's conv2 features, TV weight 0.01"),
            Case((model, fx.photo("daisy").requires_grad_(True), "conv3", target3, 0.1),
                 "a daisy against a cat's conv3 features, TV weight 0.1"),
            Case((model, start, "conv2", target, 0.0), "noise against an espresso's conv2 features, TV weight 0")]


def _terms_right(outs, cases):
    """(feature term right, TV term right), from the first case and the third (the same without TV)."""
    reference = [inversion_loss(*cases[i].args).detach() for i in (0, 2)]
    features_right = fx.near(outs[2], reference[1])
    return features_right, fx.near(outs[0] - outs[2], reference[0] - reference[1])


def _model_case(model):
    layer = list(model.layers)[len(model.layers) // 2]
    target = fx.features(model, fx.real_photo(model), [layer])[layer]
    start = (0.5 + 0.1 * fx.randn(1, 3, 96, 128, seed=13)).clamp(0, 1).to(model.device).requires_grad_(True)
    return Case((model, start, layer, target, 0.05), f"noise against the cat on {model.name}", True)


exercise(
    name="inversion_loss", notebook=NOTEBOOK, title="the feature-inversion loss",
    reference=inversion_loss, kind="scalar", graph=True, cases=_cases, model_case=_model_case, hooks=True,
    mistakes=(
        Mistake("The feature term is not normalised: divide ||phi(x) - phi_0||^2 by ||phi_0||^2, so that it "
                "means the same at every layer (1 for an image with no features at all).",
                variant=_inversion_variant(lambda f, t: (f - t).pow(2).sum())),
        Mistake("This is the relative error ||phi(x) - phi_0|| / ||phi_0||, not its square: leave out the square "
                "roots (.pow(2).sum(), not .norm()).",
                variant=_inversion_variant(lambda f, t: (f - t).norm() / t.norm())),
        Mistake("The feature term is the mean squared error: it must be divided by ||phi_0||^2 (the target's "
                "squared norm), not by the number of values.",
                variant=_inversion_variant(lambda f, t: (f - t).pow(2).mean())),
        Mistake("The TV term has the wrong sign: it is a penalty, ADDED to the loss (+ tv_weight * TV(x)).",
                variant=_inversion_variant(lambda f, t: (f - t).pow(2).sum() / t.pow(2).sum(), tv_sign=-1)),
        Mistake("The TV term is missing: add tv_weight * total_variation(image).",
                variant=_inversion_variant(lambda f, t: (f - t).pow(2).sum() / t.pow(2).sum(), tv_sign=0)),
        Mistake("The feature term is wrong (the TV term is right): it is the squared distance "
                "||phi(x) - phi_0||^2, (features - target_features).pow(2).sum(), divided by the target's SQUARED "
                "norm ||phi_0||^2, target_features.pow(2).sum().",
                test=lambda outs, cases: _terms_right(outs, cases) == (False, True)),
        Mistake("The TV term is wrong (the feature term is right): add tv_weight * total_variation(image), with "
                "beta 2. (Does your total_variation pass its check?)",
                test=lambda outs, cases: _terms_right(outs, cases) == (True, False)),
    ),
)
