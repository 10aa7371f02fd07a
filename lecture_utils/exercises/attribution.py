"""Notebook 03: saliency, SmoothGrad, Grad-CAM, occlusion with one window, integrated gradients.

Every wrong variant below is a mistake someone makes when writing the method for the first
time; check names the one that explains the student's outputs."""

import torch
import torch.nn.functional as F

from . import _fixtures as fx
from ._core import Case, Mistake, exercise, ratio

NOTEBOOK = "03_what_the_network_looks_at"


def _gradients(model, images, targets, score="logit"):
    """d score / d pixel (N, 3, H, W) for the reference and its wrong variants."""
    x = images.clone().requires_grad_(True)
    logits = model(x)
    if score == "logit":
        value = logits.gather(1, targets[:, None]).sum()
    elif score == "probability":
        value = logits.softmax(1).gather(1, targets[:, None]).sum()
    elif score == "loss":
        value = F.cross_entropy(logits, targets, reduction="sum")  # each image's own loss
    else:  # every class's score
        value = logits.sum()
    (grad,) = torch.autograd.grad(value, x)
    return grad


def _normalised_space(model, images, targets):
    """The gradient with respect to the normalised image (x - mean) / std: std times the pixels' one."""
    return _gradients(model, images, targets) * model.std


# --- saliency -----------------------------------------------------------------------------------

def _any_near(value, candidates):
    return any(fx.near(value, candidate) for candidate in candidates)


def _scaled_per_image(value, reference):
    """Each image's map a positive multiple of the reference's (a loss averaged over the batch
    scales each image's gradient by 1 / N)."""
    return value.shape == reference.shape and all((ratio(v, r) or 0) > 0 for v, r in zip(value, reference))


def saliency_map(model, images, targets):
    """Vanilla saliency (Simonyan et al. 2014): |d score / d pixel|, the largest over the three
    colour channels. images (N, 3, H, W) in [0, 1]; targets (N,) class indices. Returns (N, H, W)."""
    x = images.clone().requires_grad_(True)
    scores = model(x).gather(1, targets[:, None]).sum()  # each image's own target score
    (grad,) = torch.autograd.grad(scores, x)
    return grad.abs().amax(dim=1)


def _saliency_cases():
    model = fx.tiny_cnn()
    return [Case((model, fx.photos("cat", "espresso"), torch.tensor([3, 7])), "two photos on a small network"),
            Case((model, fx.photos("daisy"), torch.tensor([0])), "a daisy on a small network")]


def _one_photo_case(model):
    image = fx.real_photo(model)
    return Case((model, image, torch.tensor([fx.top_class(model, image)], device=model.device)),
                f"the cat on {model.name}", True)


exercise(
    name="saliency", notebook=NOTEBOOK, function="saliency_map", title="a vanilla saliency map",
    reference=saliency_map, cases=_saliency_cases, model_case=_one_photo_case,
    mistakes=(
        Mistake("The absolute value is missing: a large negative gradient matters as much as a large positive "
                "one. Take grad.abs() before the maximum over the colour channels.",
                variant=lambda m, x, t: _gradients(m, x, t).amax(dim=1)),
        Mistake("The map should be one value per pixel, (N, H, W): take the largest |gradient| of the three "
                "colour channels, .amax(dim=1).",
                variant=lambda m, x, t: _gradients(m, x, t).abs()),
        Mistake("The colour channels were summed or averaged; saliency takes the largest of the three, "
                ".amax(dim=1).",
                test=lambda outs, cases: all(_any_near(o, [_gradients(c.args[0], c.args[1], c.args[2]).abs().sum(1),
                                                              _gradients(c.args[0], c.args[1], c.args[2]).abs().mean(1)])
                                             for o, c in zip(outs, cases))),
        Mistake("This is the gradient of the loss (or of the probability), not of the class score. Saliency "
                "differentiates the target's score, the logit, before any softmax.",
                test=lambda outs, cases: all(_scaled_per_image(o, _gradients(*c.args, score="loss").abs().amax(1))
                                             or fx.near(o, _gradients(*c.args, score="probability").abs().amax(1))
                                             for o, c in zip(outs, cases))),
        Mistake("This is the gradient of all classes' scores added up: select each image's own target score "
                "(scores.gather(1, targets[:, None]) or scores[range(N), targets]).",
                variant=lambda m, x, t: _gradients(m, x, t, score="all").abs().amax(dim=1)),
        Mistake("This is the gradient with respect to the normalised image ((x - mean) / std), which is std "
                "times the gradient with respect to the pixels. Give the model the pixels in [0, 1] (it "
                "normalises inside) and differentiate with respect to them.",
                variant=lambda m, x, t: _normalised_space(m, x, t).abs().amax(dim=1)),
    ),
)


# --- SmoothGrad ---------------------------------------------------------------------------------

def smoothgrad(model, image, target, noise):
    """SmoothGrad (Smilkov et al. 2017): the saliency map (|gradient|, max over colour channels)
    averaged over noisy copies image + noise[i]. image (1, 3, H, W); target a class index; noise
    (S, 3, H, W). Returns (1, H, W)."""
    total = image.new_zeros(1, *image.shape[2:])
    for sample in noise:
        x = (image + sample).requires_grad_(True)
        (grad,) = torch.autograd.grad(model(x)[0, target], x)
        total += grad.abs().amax(dim=1)
    return total / len(noise)


def _noisy_gradients(model, image, target, noise):
    grads = []
    for sample in noise:
        x = (image + sample).requires_grad_(True)
        (grad,) = torch.autograd.grad(model(x)[0, target], x)
        grads.append(grad)
    return torch.cat(grads)  # (S, 3, H, W)


def _smoothgrad_cases():
    model = fx.tiny_cnn()
    return [Case((model, fx.photo("cat"), 2, 0.1 * fx.randn(6, 3, *fx.SIZE, seed=6)),
                 "a cat with 6 noisy copies on a small network"),
            Case((model, fx.photo("rocket"), 8, 0.2 * fx.randn(4, 3, *fx.SIZE, seed=7)),
                 "a rocket with 4 noisy copies on a small network")]


def _smoothgrad_model_case(model):
    image = fx.real_photo(model)
    noise = 0.1 * fx.randn(3, 3, *image.shape[2:], seed=8).to(model.device)
    return Case((model, image, fx.top_class(model, image), noise), f"the cat on {model.name}", True)


exercise(
    name="smoothgrad", notebook=NOTEBOOK, title="SmoothGrad",
    reference=smoothgrad, cases=_smoothgrad_cases, model_case=_smoothgrad_model_case,
    mistakes=(
        Mistake("The gradients were averaged before the absolute value. SmoothGrad averages saliency MAPS: for "
                "each noisy copy take |gradient| and the max over channels, then the mean of those maps.",
                variant=lambda m, x, t, n: _noisy_gradients(m, x, t, n).mean(0, keepdim=True).abs().amax(1)),
        Mistake("The gradients pile up from one copy to the next: x.grad keeps adding until it is zeroed. "
                "Make a new tensor for each copy (x = (image + noise[i]).requires_grad_(True)) or set x.grad = "
                "None before each backward().",
                variant=lambda m, x, t, n: _noisy_gradients(m, x, t, n).cumsum(0).abs().amax(1).mean(0, keepdim=True)),
        Mistake("This is the sum of the maps: divide by the number of noisy copies, len(noise).",
                variant=lambda m, x, t, n: smoothgrad(m, x, t, n) * len(n)),
        Mistake("The noise is not used: every gradient was taken at the clean image, so this is plain "
                "saliency. Differentiate at image + noise[i].",
                variant=lambda m, x, t, n: saliency_map(m, x, torch.tensor([t]))),
        Mistake("The absolute value is missing: each map is the largest |gradient| over the colour channels.",
                variant=lambda m, x, t, n: _noisy_gradients(m, x, t, n).amax(1).mean(0, keepdim=True)),
    ),
)


# --- Grad-CAM -----------------------------------------------------------------------------------

def grad_cam(model, image, target, layer):
    """Grad-CAM (Selvaraju et al. 2017) at the layer named `layer`: ReLU(sum_k w_k A_k), w_k the
    mean over positions of d score / d A_k. image (1, 3, H, W). Returns (1, h, w), the layer's
    own resolution (not upsampled)."""
    acts, grads = _acts_and_grads(model, image, target, layer)  # (1, K, h, w) each
    weights = grads.mean(dim=(2, 3), keepdim=True)  # one weight per channel
    return F.relu((weights * acts).sum(dim=1))


def _acts_and_grads(model, image, target, layer):
    module = model.get_submodule(model.layers[layer])
    kept = {}
    handle = module.register_forward_hook(lambda mod, inputs, output: kept.update(acts=output))
    try:
        # an input that asks for gradients: the weights do not, and without it there is no graph
        score = model(image.clone().requires_grad_(True))[0, target]
    finally:
        handle.remove()
    (grads,) = torch.autograd.grad(score, kept["acts"])
    return kept["acts"].detach(), grads


def _cam_variant(combine):
    def variant(model, image, target, layer):
        acts, grads = _acts_and_grads(model, image, target, layer)
        return combine(acts, grads)
    return variant


def _grad_cam_cases():
    model = fx.tiny_cnn()
    return [Case((model, fx.photo("cat"), 4, "conv3"), "a cat at layer conv3 of a small network"),
            Case((model, fx.photo("espresso"), 1, "conv2"), "an espresso at layer conv2 of a small network")]


def _grad_cam_model_case(model):
    image = fx.real_photo(model)
    return Case((model, image, fx.top_class(model, image), fx.spatial_layer(model)), f"the cat on {model.name}", True)


exercise(
    name="grad_cam", notebook=NOTEBOOK, title="Grad-CAM's weights and map",
    reference=grad_cam, cases=_grad_cam_cases, model_case=_grad_cam_model_case, hooks=True,
    mistakes=(
        Mistake("The ReLU is missing: Grad-CAM keeps only the places that speak FOR the class, "
                "F.relu(...) of the weighted sum.",
                variant=_cam_variant(lambda a, g: (g.mean(dim=(2, 3), keepdim=True) * a).sum(1))),
        Mistake("The weights were summed over the positions; Grad-CAM averages them (.mean(dim=(2, 3))), "
                "so the map's scale does not depend on the layer's size.",
                variant=_cam_variant(lambda a, g: F.relu((g.sum(dim=(2, 3), keepdim=True) * a).sum(1)))),
        Mistake("The weights must come from the gradient of the score, one per channel: w_k = mean over "
                "positions of d score / d A_k. These are the activations' own means.",
                variant=_cam_variant(lambda a, g: F.relu((a.mean(dim=(2, 3), keepdim=True) * a).sum(1)))),
        Mistake("The gradient was multiplied position by position (gradient x activation). Grad-CAM first "
                "averages the gradient over the positions into one weight per channel, then weights the maps.",
                variant=_cam_variant(lambda a, g: F.relu((g * a).sum(1)))),
        Mistake("The map was upsampled to the image. Return it at the layer's own resolution (1, h, w); the "
                "notebook upsamples it for display.",
                test=lambda outs, cases: all(tuple(o.shape[-2:]) == tuple(c.args[1].shape[-2:]) for o, c in zip(outs, cases))),
        Mistake("The channels were averaged, not summed: the map is sum_k w_k A_k.",
                variant=_cam_variant(lambda a, g: F.relu((g.mean(dim=(2, 3), keepdim=True) * a).mean(1)))),
    ),
)


# --- occlusion ----------------------------------------------------------------------------------

def occlusion_drop(model, image, target, top, left, size, fill=0.5):
    """How much the target's probability drops when the square image[..., top:top+size,
    left:left+size] is painted `fill` (grey): p(image) - p(occluded), a number."""
    occluded = image.clone()
    occluded[..., top:top + size, left:left + size] = fill
    with torch.no_grad():
        before = model(image).softmax(dim=1)[0, target]
        after = model(occluded).softmax(dim=1)[0, target]
    return before - after


def _occlusion_variant(top_left, fill=None, score="probability", sign=1, extra=0):
    def variant(model, image, target, top, left, size, fill_value=0.5):
        t, l = top_left(top, left)
        occluded = image.clone()
        occluded[..., t:t + size + extra, l:l + size + extra] = fill_value if fill is None else fill
        with torch.no_grad():
            if score == "logit":
                before, after = model(image)[0, target], model(occluded)[0, target]
            else:
                before, after = (model(x).softmax(1)[0, target] for x in (image, occluded))
        return sign * (before - after)
    return variant


def _occlusion_cases():
    model = fx.tiny_cnn()
    cat, espresso = fx.photo("cat"), fx.photo("espresso")
    return [Case((model, cat, 3, 4, 18, 12), "a cat, a 12 px window at row 4, column 18"),
            Case((model, espresso, 5, 20, 2, 10), "an espresso, a 10 px window at row 20, column 2"),
            Case((model, cat, 9, 0, 8, 16, 0.0), "a cat, a black 16 px window at row 0, column 8")]


def _occlusion_model_case(model):
    image = fx.real_photo(model)
    return Case((model, image, fx.top_class(model, image), 30, 50, 32), f"the cat on {model.name}", True)


same_place = lambda top, left: (top, left)  # noqa: E731

exercise(
    name="occlusion", notebook=NOTEBOOK, function="occlusion_drop", title="occlusion with one window",
    reference=occlusion_drop, kind="scalar", cases=_occlusion_cases, model_case=_occlusion_model_case,
    rtol=1e-3, atol=1e-4,
    mistakes=(
        Mistake("The sign is reversed: the drop is p(original) - p(occluded), positive when hiding the square "
                "hurts the class.", variant=_occlusion_variant(same_place, sign=-1)),
        Mistake("These are logits; the drop is of the class's probability (softmax over the classes first).",
                variant=_occlusion_variant(same_place, score="logit")),
        Mistake("Rows and columns are swapped: `top` counts rows (dim 2), `left` columns (dim 3): "
                "image[..., top:top + size, left:left + size].",
                variant=_occlusion_variant(lambda top, left: (left, top))),
        Mistake("The square was painted black. Paint it with `fill` (grey, 0.5, by default).",
                variant=_occlusion_variant(same_place, fill=0.0)),
        Mistake("The square is one pixel too large: a slice top:top + size already has `size` rows.",
                variant=_occlusion_variant(same_place, extra=1)),
    ),
)


# --- integrated gradients -----------------------------------------------------------------------

def integrated_gradients(model, image, target, steps):
    """Integrated gradients (Sundararajan et al. 2017) from a black image, by the midpoint rule:
    image * mean over k of d score / d x at x = alpha_k * image, alpha_k = (k + 0.5) / steps.
    Returns (1, 3, H, W); its sum is about score(image) - score(black)."""
    total = torch.zeros_like(image)
    for k in range(steps):
        x = ((k + 0.5) / steps * image).requires_grad_(True)
        (grad,) = torch.autograd.grad(model(x)[0, target], x)
        total += grad
    return image * total / steps


def _path_gradients(model, image, target, alphas):
    grads = []
    for alpha in alphas:
        x = (alpha * image).requires_grad_(True)
        (grad,) = torch.autograd.grad(model(x)[0, target], x)
        grads.append(grad)
    return torch.cat(grads)


def _ig_variant(alphas, combine):
    def variant(model, image, target, steps):
        return combine(image, _path_gradients(model, image, target, alphas(steps)), steps)
    return variant


midpoints = lambda n: [(k + 0.5) / n for k in range(n)]  # noqa: E731
mean_times_image = lambda x, g, n: x * g.mean(0, keepdim=True)  # noqa: E731


def _ig_cases():
    model = fx.tiny_cnn()
    return [Case((model, fx.photo("cat"), 6, 8), "a cat, 8 steps, on a small network"),
            Case((model, fx.photo("palace"), 2, 5), "a palace, 5 steps, on a small network")]


def _ig_model_case(model):
    image = fx.real_photo(model)
    return Case((model, image, fx.top_class(model, image), 4), f"the cat on {model.name}", True)


exercise(
    name="integrated_gradients", notebook=NOTEBOOK,
    title="integrated gradients' Riemann sum", reference=integrated_gradients, cases=_ig_cases,
    model_case=_ig_model_case,
    mistakes=(
        Mistake("The average gradient must be multiplied by (image - baseline), here the image itself: that "
                "makes the attributions add up to score(image) - score(black).",
                variant=_ig_variant(midpoints, lambda x, g, n: g.mean(0, keepdim=True))),
        Mistake("This is the sum of the gradients: divide by `steps` (the Riemann sum's step is 1 / steps).",
                variant=_ig_variant(midpoints, lambda x, g, n: x * g.sum(0, keepdim=True))),
        Mistake("Use the midpoints alpha_k = (k + 0.5) / steps, k = 0 ... steps - 1. These are the left ends "
                "k / steps (the first gradient is taken at the black image).",
                variant=_ig_variant(lambda n: [k / n for k in range(n)], mean_times_image)),
        Mistake("Use the midpoints alpha_k = (k + 0.5) / steps, k = 0 ... steps - 1. These are the right ends "
                "(k + 1) / steps.", variant=_ig_variant(lambda n: [(k + 1) / n for k in range(n)], mean_times_image)),
        Mistake("Use the midpoints alpha_k = (k + 0.5) / steps. These are `steps` points from 0 to 1 "
                "(torch.linspace(0, 1, steps)) with both ends.",
                variant=_ig_variant(lambda n: torch.linspace(0, 1, n).tolist(), mean_times_image)),
        Mistake("The gradients pile up from step to step: x.grad keeps adding until it is zeroed. Make a new "
                "tensor at each point of the path, or set x.grad = None before each backward().",
                variant=_ig_variant(midpoints, lambda x, g, n: x * g.cumsum(0).mean(0, keepdim=True))),
        Mistake("This is gradient x image at the photo alone. Integrated gradients averages the gradient at "
                "`steps` points on the path from black to the photo.",
                variant=_ig_variant(lambda n: [1.0], mean_times_image)),
    ),
)
