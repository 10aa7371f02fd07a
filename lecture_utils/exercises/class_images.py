"""Notebook 04: one update step of a class image, with L2 regularisation and jitter."""

import torch

from . import _fixtures as fx
from ._core import Case, Mistake, exercise

NOTEBOOK = "04_class_and_neuron_images"


def class_image_step(model, image, target, lr, l2_reg, ox, oy):
    """One step of gradient ASCENT on score(x) - l2_reg * ||x - 0.5||^2 (sum of squares: the
    distance from mid-grey), seen through a jitter: the image is rolled by oy rows and ox
    columns first and rolled back after the step. The step is lr * g / ||g|| (g the gradient,
    ||g|| its L2 norm over the whole image); the result is clipped to [0, 1].
    image (1, 3, H, W); returns the new image (1, 3, H, W); `image` itself stays unchanged."""
    x = torch.roll(image, shifts=(oy, ox), dims=(2, 3)).requires_grad_(True)
    objective = model(x)[0, target] - l2_reg * (x - 0.5).pow(2).sum()
    (grad,) = torch.autograd.grad(objective, x)
    x = x.detach() + lr * grad / grad.norm()
    x = torch.roll(x, shifts=(-oy, -ox), dims=(2, 3))
    return x.clamp(0, 1)


def _step_variant(sign=1, l2_sign=-1, centre=0.5, unroll=-1, normalise=True, clip=True, swap=False):
    def variant(model, image, target, lr, l2_reg, ox, oy):
        if swap:
            ox, oy = oy, ox
        x = torch.roll(image, shifts=(oy, ox), dims=(2, 3)).requires_grad_(True)
        objective = model(x)[0, target] + l2_sign * l2_reg * (x - centre).pow(2).sum()
        (grad,) = torch.autograd.grad(objective, x)
        x = x.detach() + sign * lr * (grad / grad.norm() if normalise else grad)
        if unroll:
            x = torch.roll(x, shifts=(unroll * oy, unroll * ox), dims=(2, 3))
        return x.clamp(0, 1) if clip else x
    return variant


def _cases():
    model = fx.tiny_cnn()
    noise = (0.5 + 0.1 * fx.randn(1, 3, *fx.SIZE, seed=9)).clamp(0, 1)
    return [Case((model, fx.photo("cat"), 5, 4.0, 0.05, 3, -2), "a cat, class 5, jitter (3, -2), on a small network"),
            Case((model, noise, 1, 2.0, 0.5, -5, 4), "faint noise, class 1, jitter (-5, 4), on a small network")]


def _model_case(model):
    image = fx.real_photo(model)
    return Case((model, image, fx.top_class(model, image), 6.0, 0.01, 4, 7), f"the cat on {model.name}", True)


exercise(
    name="class_image_step", notebook=NOTEBOOK,
    title="the class-image update step with L2 and jitter", reference=class_image_step, cases=_cases,
    model_case=_model_case,
    mistakes=(
        Mistake("The step goes downhill: a class image climbs the objective, x + lr * g / ||g||.",
                variant=_step_variant(sign=-1)),
        Mistake("The L2 term has the wrong sign: it is subtracted from the score (a penalty), "
                "score - l2_reg * ||x - 0.5||^2.", variant=_step_variant(l2_sign=1)),
        Mistake("The L2 penalty pulls towards black: in pixel space the 'zero' image is mid-grey, so penalise "
                "(x - 0.5) ** 2.", variant=_step_variant(centre=0.0)),
        Mistake("The jitter was not undone: after the step, roll the image back by (-oy, -ox).",
                variant=_step_variant(unroll=0)),
        Mistake("The image was rolled further instead of back: undo the jitter with shifts=(-oy, -ox).",
                variant=_step_variant(unroll=1)),
        Mistake("The step is not normalised: divide the gradient by its L2 norm, lr * g / g.norm(), so that "
                "lr says how far the image moves.", variant=_step_variant(normalise=False)),
        Mistake("ox and oy are swapped: ox shifts along the last axis, the width (columns, dim 3); oy along the "
                "height (rows, dim 2): torch.roll(x, shifts=(oy, ox), dims=(2, 3)).", variant=_step_variant(swap=True)),
        Mistake("Some pixels are outside [0, 1]: clip the new image, x.clamp(0, 1).",
                test=lambda outs, cases: any(float(o.min()) < 0 or float(o.max()) > 1 for o in outs)),
    ),
)
