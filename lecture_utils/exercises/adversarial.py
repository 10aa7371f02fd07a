"""Notebook 05: FGSM, a targeted fooling image, and the projection onto an eps budget."""

import torch
import torch.nn.functional as F

from . import _fixtures as fx
from ._core import Case, Mistake, exercise

NOTEBOOK = "05_adversarial_examples"


def _outside(outs, cases):
    return any(float(o.min()) < 0 or float(o.max()) > 1 for o in outs)


# --- FGSM ---------------------------------------------------------------------------------------

def fgsm(model, images, labels, eps):
    """The fast gradient sign method (Goodfellow et al. 2015): one step of eps along the sign
    of the gradient of the cross-entropy loss of the true `labels` (N,), clipped to [0, 1].
    Returns adversarial images (N, 3, H, W); `images` stays unchanged."""
    x = images.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), labels)
    (grad,) = torch.autograd.grad(loss, x)
    return (images + eps * grad.sign()).clamp(0, 1)


def _loss_gradient(model, images, labels):
    x = images.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), labels), x)
    return grad


def _score_gradient(model, images, labels):
    x = images.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).gather(1, labels[:, None]).sum(), x)
    return grad


def _fgsm_cases():
    model = fx.tiny_cnn()
    images = fx.photos("cat", "espresso", "rocket")
    return [Case((model, images, torch.tensor([3, 7, 0]), 0.03), "three photos, eps 0.03, on a small network"),
            Case((model, fx.photos("daisy"), torch.tensor([2]), 8 / 255), "a daisy, eps 8/255, on a small network")]


def _fgsm_model_case(model):
    image = fx.real_photo(model)
    with torch.no_grad():
        label = model(image).argmax(1)
    return Case((model, image, label, 2 / 255), f"the cat on {model.name}", True)


exercise(
    name="fgsm", notebook=NOTEBOOK, title="the fast gradient sign method",
    reference=fgsm, cases=_fgsm_cases, model_case=_fgsm_model_case, outliers=0.002,
    mistakes=(
        Mistake("The step goes the wrong way: it LOWERS the loss of the true class. FGSM adds eps * sign(gradient "
                "of the loss) to raise it.",
                variant=lambda m, x, y, e: (x - e * _loss_gradient(m, x, y).sign()).clamp(0, 1)),
        Mistake("The sign is missing: FGSM moves every pixel by exactly eps, eps * grad.sign(), whatever the "
                "gradient's size.", variant=lambda m, x, y, e: (x + e * _loss_gradient(m, x, y)).clamp(0, 1)),
        Mistake("This steps along the gradient of the class SCORE, which makes the true class more likely. "
                "Use the gradient of the loss, F.cross_entropy(model(x), labels).",
                variant=lambda m, x, y, e: (x + e * _score_gradient(m, x, y).sign()).clamp(0, 1)),
        Mistake("The step was taken in normalised space ((x - mean) / std): back in pixels it moves a channel "
                "by eps * std, not eps. Work on the pixels in [0, 1]; the model normalises inside.",
                variant=lambda m, x, y, e: (x + e * m.std * _loss_gradient(m, x, y).sign()).clamp(0, 1)),
        Mistake("Some pixels are outside [0, 1]: clip the result, .clamp(0, 1).", test=_outside),
        Mistake("Some pixels moved by more than eps: FGSM changes each pixel by at most eps.",
                test=lambda outs, cases: any(float((o - c.args[1]).abs().max()) > c.args[3] + 1e-6
                                             for o, c in zip(outs, cases))),
    ),
)


# --- a targeted fooling image -------------------------------------------------------------------

def make_fooling_image(model, image, target, lr, max_steps):
    """Gradient ascent on the score of class `target` until the model predicts it: each step
    x + lr * g / ||g|| (g the gradient of the target's score, ||g|| its L2 norm), clipped to
    [0, 1]. Stop as soon as model(x).argmax() == target (check BEFORE each step), or after
    max_steps steps. image (1, 3, H, W); returns the fooling image; `image` stays unchanged."""
    x = image.clone()
    for _ in range(max_steps):
        x.requires_grad_(True)
        scores = model(x)
        if scores.argmax(dim=1).item() == target:
            break
        (grad,) = torch.autograd.grad(scores[0, target], x)
        x = (x.detach() + lr * grad / grad.norm()).clamp(0, 1)
    return x.detach()


def _fooling_variant(stop=True, accumulate=False, sign=1, normalise=True, clip=True):
    def variant(model, image, target, lr, max_steps):
        x = image.clone()
        total = torch.zeros_like(image)
        for _ in range(max_steps):
            x.requires_grad_(True)
            scores = model(x)
            if stop and scores.argmax(dim=1).item() == target:
                break
            (grad,) = torch.autograd.grad(scores[0, target], x)
            total = total + grad if accumulate else grad
            step = total / total.norm() if normalise else total
            x = x.detach() + sign * lr * step
            x = x.clamp(0, 1) if clip else x
        return x.detach()
    return variant


def _fooling_cases():
    model = fx.tiny_cnn()
    # about a dozen steps each for the reference, at most 40; then an image the model already calls
    # `target` (zero steps), and a palace whose 4 steps run out before the model is fooled
    return [Case((model, fx.photo("cat"), 0, 0.3, 40), "a cat into class 0 (apple), on a small network"),
            Case((model, fx.photo("palace"), 3, 0.3, 40), "a palace into class 3 (daisy), on a small network"),
            Case((model, fx.photo("espresso"), 2, 0.3, 40), "an espresso the small network already calls class 2"),
            Case((model, fx.photo("palace"), 3, 0.3, 4), "a palace into class 3 with at most 4 steps")]


def _fooled(model, image, target):
    with torch.no_grad():
        return int(model(image).argmax(1)[0]) == target


def _not_fooled(outs, cases):
    """The reference fools the model and the answer does not."""
    return any(_fooled(c.args[0], make_fooling_image(*c.args), c.args[2]) and not _fooled(c.args[0], o, c.args[2])
               for o, c in zip(outs, cases))


def _stepped_when_fooled(outs, cases):
    """The image changed although the model already gave the target for it."""
    return any(_fooled(*c.args[:3]) and not torch.equal(o, c.args[1]) for o, c in zip(outs, cases))


def _past_max_steps(outs, cases):
    """The image moved further than max_steps steps of lr can take it (where they run out first)."""
    return any(not _fooled(c.args[0], make_fooling_image(*c.args), c.args[2])
               and float((o - c.args[1]).norm()) > 1.001 * c.args[3] * c.args[4] for o, c in zip(outs, cases))


exercise(
    name="make_fooling_image", notebook=NOTEBOOK,
    title="a targeted fooling image", reference=make_fooling_image, cases=_fooling_cases, rtol=1e-3, atol=1e-4,
    mistakes=(
        Mistake("The gradients pile up from step to step: x.grad keeps adding until it is zeroed. Take the "
                "gradient with torch.autograd.grad, or set x.grad = None (or zero it) at every step.",
                variant=_fooling_variant(accumulate=True)),
        Mistake("The loop does not stop when the model is fooled: check model(x).argmax() == target before "
                "each step and break as soon as it holds (a smaller change is better).",
                variant=_fooling_variant(stop=False)),
        Mistake("The steps go downhill, away from the target: ADD lr * g / ||g||, g the gradient of the target's "
                "score.", variant=_fooling_variant(sign=-1)),
        Mistake("The step is not normalised: divide the gradient by its L2 norm, lr * g / g.norm().",
                variant=_fooling_variant(normalise=False)),
        Mistake("Some pixels are outside [0, 1]: clip after every step, .clamp(0, 1).", test=_outside),
        Mistake("The image changed although the model already predicted the target for it: check "
                "model(x).argmax() == target BEFORE each step, not after it, so that such an image comes back "
                "unchanged, after zero steps.", test=_stepped_when_fooled),
        Mistake("The loop went on after max_steps steps: stop after at most max_steps steps even when the model "
                "is not fooled yet (for _ in range(max_steps): ...), here they run out first.", test=_past_max_steps),
        Mistake("The model does not predict the target class for your image: keep stepping (up to max_steps) "
                "until model(x).argmax() == target.", test=_not_fooled),
    ),
)


# --- the eps budget -----------------------------------------------------------------------------

def project(x_adv, x, eps):
    """x_adv moved back into the eps budget around x (every pixel within [x - eps, x + eps]),
    then into [0, 1]: the projection of an iterative attack."""
    return torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)


def _project_cases():
    x = fx.photos("cat", "espresso")
    attacked = x + 0.1 * fx.randn(*x.shape, seed=10)
    x1 = fx.photos("daisy")
    return [Case((attacked, x, 0.05), "two photos with noise of 0.1, eps 0.05"),
            Case((x1 + 0.02 * fx.randn(*x1.shape, seed=11), x1, 4 / 255), "a daisy with noise of 0.02, eps 4/255")]


exercise(
    name="project", notebook=NOTEBOOK, title="the projection onto the eps budget",
    reference=project, cases=_project_cases,
    mistakes=(
        Mistake("Pixels outside [0, 1]: after the budget, clip to the valid range too, .clamp(0, 1).",
                variant=lambda a, x, e: torch.min(torch.max(a, x - e), x + e)),
        Mistake("The image itself was clipped to [-eps, eps]. The budget is on the CHANGE: keep x_adv - x within "
                "[-eps, eps], i.e. x + (x_adv - x).clamp(-eps, eps).",
                variant=lambda a, x, e: a.clamp(-e, e).clamp(0, 1)),
        Mistake("The whole change was scaled down. L-inf projection clips each pixel's change on its own; "
                "pixels already within the budget stay where they are.",
                variant=lambda a, x, e: (x + (a - x) * e / (a - x).abs().max()).clamp(0, 1)),
        Mistake("Some pixels moved by more than eps from x: the result must stay within [x - eps, x + eps].",
                test=lambda outs, cases: any(float((o - c.args[1]).abs().max()) > c.args[2] + 1e-6
                                             for o, c in zip(outs, cases))),
        Mistake("The change was clipped to [0, eps] only: it may go down as well as up, [-eps, eps].",
                variant=lambda a, x, e: (x + (a - x).clamp(0, e)).clamp(0, 1)),
    ),
)
