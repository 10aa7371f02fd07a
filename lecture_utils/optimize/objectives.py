"""Objectives: what an optimised image should maximise, as `Objective`s that compose
(`class_logit(model, "dumbbell") - 1e-3 * l2()`), and the regularisers to subtract."""

import math
import numbers

import torch
import torch.nn.functional as F

from .. import _checks
from ..activations import get_activations, resolve_layers

LOGITS, IMAGE = "logits", "image"  # pseudo-layers: the model's output and the image itself


# --- objectives: what to maximise -----------------------------------------------------------

class Objective:
    """A scalar to maximise: a weighted sum of named terms, each a function of the activations.

    A term is `fn(acts) -> scalar tensor`, where `acts` maps layer names to activations, and
    the pseudo-layers "logits" and "image" to the model's output and the (untransformed) image.
    Objectives compose: `a + b`, `a - b`, `0.1 * a`, `-a`. Terms are kept by position, so two
    different terms with the same name (two `feature_match` at one layer) are both counted.
    """

    def __init__(self, name, fn, layers=()):
        self.terms = [(1.0, name, fn)]
        self.layers = tuple(layers)

    @classmethod
    def _combine(cls, terms, layers):
        new = cls.__new__(cls)
        new.terms, new.layers = terms, tuple(dict.fromkeys(layers))
        return new

    def __add__(self, other):
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective._combine(self.terms + other.terms, self.layers + other.layers)

    def __mul__(self, weight):
        if not isinstance(weight, numbers.Real) or isinstance(weight, bool) or not math.isfinite(weight):
            return NotImplemented
        return Objective._combine([(weight * w, n, f) for w, n, f in self.terms], self.layers)

    __rmul__ = __mul__

    def __neg__(self):
        return -1.0 * self

    def __sub__(self, other):
        if not isinstance(other, Objective):
            return NotImplemented
        return self + (-other)

    def __call__(self, acts):
        """(total, {term name: unweighted value}) for these activations.

        A term that occurs more than once (`a - 0.5 * a`) is computed once and shown once; of
        different terms with one name, the second is shown as "name#2", the third "name#3", ...
        """
        values = {}  # term function -> its value: one entry per distinct term
        for _, _, fn in self.terms:
            if fn not in values:
                values[fn] = fn(acts)
        total = sum(weight * values[fn] for weight, _, fn in self.terms)
        return total, dict(zip(self._display_names(), values.values()))

    def _display_names(self):
        """One name per distinct term, in order of first occurrence, made unique with "#k"."""
        names, seen, count = [], set(), {}
        for _, name, fn in self.terms:
            if fn in seen:
                continue
            seen.add(fn)
            count[name] = count.get(name, 0) + 1
            names.append(name if count[name] == 1 else f"{name}#{count[name]}")
        return names

    def __repr__(self):
        parts = [f"{w:+g}*{n}" for w, n, _ in self.terms]
        return " ".join(parts).lstrip("+")


def _check_channel(model, layer, channel):
    resolve_layers(model, layer)  # unknown layer: error listing the valid ones
    n = channels(model, layer)
    try:
        return _checks.integer(channel, "channel", 0, n - 1)
    except ValueError as error:
        raise ValueError(f"{error} (layer {layer!r} has {n} channels)") from None


def channels(model, layer):
    """Number of channels of a layer's output (one shallow forward pass of a tiny image)."""
    probe = torch.zeros(1, 3, 64, 64, device=model.device)
    with torch.no_grad():
        return get_activations(model, probe, [layer])[layer].shape[1]


def _one_per_image(indices, what, scores):
    """The value of an objective that gives image i of a batch the score of indices[i]:
    `scores(acts)` is (N, K, ...), and the batch must hold one image per index."""
    rows = torch.arange(len(indices))

    def value(a):
        chosen = scores(a)
        if len(chosen) != len(indices):
            raise ValueError(f"{len(indices)} {what} need a batch of {len(indices)} images; got {len(chosen)}")
        return chosen[rows, indices].mean()

    return value


def class_logit(model, target):
    """The logit of a class (name or index): Simonyan et al.'s score, before the softmax.
    A list of classes gives one per image of a batch (`iterate(..., batch_size=len(target))`)."""
    if isinstance(target, (list, tuple)):
        indices = [_checks.class_index(model, t) for t in target]
        return Objective(f"logit[{len(indices)} classes]", _one_per_image(indices, "classes", lambda a: a[LOGITS]),
                         [LOGITS])
    index = _checks.class_index(model, target)
    return Objective(f"logit[{model.categories[index]}]", lambda a: a[LOGITS][:, index].mean(), [LOGITS])


def class_probability(model, target):
    """The softmax probability of a class: saturates at 1, and rises partly by pushing other classes down."""
    index = _checks.class_index(model, target)
    return Objective(f"p[{model.categories[index]}]",
                     lambda a: a[LOGITS].softmax(dim=1)[:, index].mean(), [LOGITS])


def channel(model, layer, channel):
    """The mean activation of one channel of a layer over all positions. A list of channels
    gives one per image of a batch (`iterate(..., batch_size=len(channel))`)."""
    if isinstance(channel, (list, tuple)):
        indices = [_check_channel(model, layer, i) for i in channel]
        return Objective(f"{layer}[{len(indices)} channels]", _one_per_image(indices, "channels", lambda a: a[layer]),
                         [layer])
    _check_channel(model, layer, channel)
    return Objective(f"{layer}[{channel}]", lambda a: a[layer][:, channel].mean(), [layer])


def neuron(model, layer, channel, y=None, x=None):
    """One unit: channel `channel` at position (y, x) of the layer's map (default: the centre).
    A position outside the map raises when the objective is evaluated (the map's size depends
    on the image's)."""
    _check_channel(model, layer, channel)
    y = None if y is None else _checks.integer(y, "y", 0)
    x = None if x is None else _checks.integer(x, "x", 0)

    def value(a):
        h, w = a[layer].shape[-2:]
        if (y is not None and y >= h) or (x is not None and x >= w):
            raise ValueError(f"neuron position (y={y}, x={x}) is outside the {h}x{w} map of layer "
                             f"{layer!r} for this image size; accepted: y < {h}, x < {w}")
        row = h // 2 if y is None else y
        col = w // 2 if x is None else x
        return a[layer][:, channel, row, col].mean()

    return Objective(f"{layer}[{channel}]@({y},{x})", value, [layer])


def layer_l2(model, layer):
    """DeepDream's objective: the mean squared activation of a whole layer ("more of whatever is there")."""
    resolve_layers(model, layer)
    return Objective(f"l2[{layer}]", lambda a: a[layer].pow(2).mean(), [layer])


def gram_similarity(layer):
    """How alike a batch of images looks at `layer`: the mean cosine similarity of their Gram
    matrices over all pairs. Subtracted, it is the diversity term of Olah et al. (2017): it
    pushes the images apart, so each excites the objective with a different style of features."""

    def value(a):
        features = a[layer].flatten(2)
        grams = F.normalize((features @ features.transpose(1, 2)).flatten(1), dim=1)
        n = grams.shape[0]
        if n < 2:
            raise ValueError("gram_similarity needs a batch of at least 2 images (iterate(..., batch_size=4))")
        similarity = grams @ grams.T
        return (similarity.sum() - similarity.diagonal().sum()) / (n * (n - 1))

    return Objective(f"similarity[{layer}]", value, [layer])


def feature_match(layer, target_features):
    """Minus the squared relative error between a layer's features and `target_features`
    (feature inversion).

    The value is -||phi(x) - t||^2 / ||t||^2, t the target features; its square root is
    `relative_error` (which takes the image that gave t).
    On a smaller image (an early octave) the target features are averaged down to the
    features' size: a coarse guide that settles the layout cheaply before the full-size steps
    match exactly.
    """
    target_features = target_features.detach()

    def value(a):
        features = a[layer]
        goal = target_features if features.shape == target_features.shape \
            else F.adaptive_avg_pool2d(target_features, features.shape[-2:])
        return -(features - goal).pow(2).sum() / goal.pow(2).sum().clamp_min(1e-12)

    return Objective(f"match[{layer}]", value, [layer])


# --- regularisers: what to keep small (use with a minus sign) --------------------------------

def l2():
    """Mean squared distance of the pixels from mid-grey (keeps colours from saturating)."""
    return Objective("l2", lambda a: (a[IMAGE] - 0.5).pow(2).mean(), [IMAGE])


def total_variation(beta=2.0):
    """Mahendran and Vedaldi's TV prior: mean of (dx^2 + dy^2)^(beta/2); beta < 2 keeps edges sharper."""
    beta = _checks.positive_number(beta, "beta")

    def value(a):
        x = a[IMAGE]
        dx = x[..., :-1, 1:] - x[..., :-1, :-1]
        dy = x[..., 1:, :-1] - x[..., :-1, :-1]
        return (dx.pow(2) + dy.pow(2) + 1e-8).pow(beta / 2).mean()

    return Objective(f"tv{beta:g}", value, [IMAGE])
