"""Notebook 06: DeepDream's make_step, the lecture's Caffe code ported to PyTorch line by line."""

import torch

from .. import deepdream
from ..activations import get_activations
from . import _fixtures as fx
from ._core import Case, Mistake, exercise

NOTEBOOK = "06_deepdream"


def make_step(model, image, layer, step_size, ox, oy):
    """One DeepDream step: roll the image by ox columns and oy rows (jitter), forward to `layer`,
    backpropagate with the layer's gradient set to its own activation (gradient ascent on
    ½‖A‖²), step by step_size / mean(|g|) * g, roll back, clip to [0, 1].
    image (1, 3, H, W) in [0, 1]; returns the new image; `image` stays unchanged.
    The reference is the library's step (lecture_utils.deepdream) with the shift given."""
    return deepdream.make_step(model, image, layer, step_size, shift=(ox, oy))


def _dream_variant(sign=1, normalise=True, unroll=True, clip=True, swap=False):
    def variant(model, image, layer, step_size, ox, oy):
        dy, dx = (ox, oy) if swap else (oy, ox)
        x = torch.roll(image, shifts=(dy, dx), dims=(-2, -1)).requires_grad_(True)
        acts = get_activations(model, x, [layer])[layer]
        (g,) = torch.autograd.grad(0.5 * acts.pow(2).sum(), x)
        x = x.detach() + sign * (step_size / g.abs().mean() if normalise else step_size) * g
        if unroll:
            x = torch.roll(x, shifts=(-dy, -dx), dims=(-2, -1))
        return x.clamp(0, 1) if clip else x
    return variant


def _raw_step(out, case):
    """True when out - image is the gradient's direction at another scale than the normalised
    step's (whatever the objective's own scale: mean, sum or half the sum of squares)."""
    model, image, layer, step_size, ox, oy = case.args
    x = torch.roll(image, shifts=(oy, ox), dims=(-2, -1)).requires_grad_(True)
    (g,) = torch.autograd.grad(0.5 * get_activations(model, x, [layer])[layer].pow(2).sum(), x)
    direction = torch.roll(g, shifts=(-oy, -ox), dims=(-2, -1))
    change = (out - image).double()
    inside = (out > 0) & (out < 1) & (image + step_size / g.abs().mean() * direction > 0)
    d, c = direction.double()[inside], change[inside]
    if d.numel() == 0 or float(d.norm()) == 0:
        return False
    scale = float((c * d).sum() / (d * d).sum())
    proportional = float((c - scale * d).norm()) <= 1e-3 * float(c.norm()) + 1e-9
    normalised = step_size / float(g.abs().mean())
    return proportional and scale > 0 and abs(scale - normalised) > 0.01 * normalised


def _cases():
    model = fx.tiny_cnn()
    return [Case((model, fx.photo("palace"), "conv2", 0.05, 5, -3), "a palace at conv2, jitter (5, -3), small network"),
            Case((model, fx.photo("cat"), "conv3", 0.1, -7, 2), "a cat at conv3, jitter (-7, 2), small network")]


def _model_case(model):
    layers = list(model.layers)
    return Case((model, fx.real_photo(model), layers[len(layers) // 2], 0.02, 8, -5), f"the cat on {model.name}", True)


exercise(
    name="make_step", notebook=NOTEBOOK, title="DeepDream's make_step, in PyTorch",
    reference=make_step, cases=_cases, model_case=_model_case, hooks=True,
    mistakes=(
        Mistake("Some pixels are outside [0, 1]: the slide's last line clips; here that is x.clamp(0, 1).",
                test=lambda outs, cases: any(float(o.min()) < 0 or float(o.max()) > 1 for o in outs)),
        Mistake("The step is not L1-normalised: the slide divides by the gradient's mean absolute value, "
                "step_size / g.abs().mean() * g, so the step size means the same at every layer.",
                test=lambda outs, cases: all(_raw_step(o, c) for o, c in zip(outs, cases))),
        Mistake("The jitter was not undone: roll the image back by (-oy, -ox) after the step (\"unshift image\").",
                variant=_dream_variant(unroll=False)),
        Mistake("The step goes downhill: DeepDream AMPLIFIES the layer, so it adds the gradient of ½‖A‖² "
                "(set the layer's gradient to +A).", variant=_dream_variant(sign=-1)),
        Mistake("ox and oy are swapped: np.roll(x, ox, -1) shifts along the last axis, the width (columns); "
                "oy shifts along the height (rows): torch.roll(x, shifts=(oy, ox), dims=(-2, -1)).",
                variant=_dream_variant(swap=True)),
    ),
)
