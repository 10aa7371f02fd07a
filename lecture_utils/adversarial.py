"""Adversarial examples: small changes of the pixels that change what the network says.

Everything works in pixel space: `image` is a tensor (N, 3, H, W), one photo or a batch, with
RGB values in [0, 1] (the models of this package normalise inside), a budget `eps` is in pixel
units (2/255 is two grey levels), and every result is clipped to [0, 1] and stays within its
budget.

    >>> x_adv = fgsm(model, image, labels, eps=2/255)                   # one signed-gradient step
    >>> x_adv = pgd(model, image, labels, eps=2/255, steps=10)          # projected gradient descent
    >>> x_adv = pgd(model, image, None, eps=4/255, target=368)          # ... into class 368
    >>> fooled = fooling_image(model, image, 368, confidence=0.9)       # smallest change to a class
    >>> patch = train_patch(model, photos, 859, size=70)                # a sticker for any photo
    >>> delta = universal_perturbation(model, photos, eps=10/255)       # one change for all photos

Attacks run the model in eval mode (restored afterwards), with its batch norms folded into its
convolutions (`models.folded`: the same function, faster to differentiate),
differentiate only with respect to the images (the model's parameters and their
`requires_grad` are left as they are) and set no hooks. The long runs are generators of
`runs.Step`s, like every long run of the package (`iterate_fooling_image`, `iterate_patch`,
`iterate_universal`; a loop or a panel's Runner stops one by asking for no more steps, and keeps
the result so far); `fooling_image`, `train_patch` and `universal_perturbation` run them to the
end.
"""

import contextlib
import math

import torch
import torch.nn.functional as F

from . import _checks
from .models import folded
from .runs import Step, run_to_end

NORMS = ("linf", "l2")
_CHUNK = 2  # images per forward and backward pass in iterate_universal (the memory it needs)


# ---------------------------------------------------------------- checks and shared pieces


@contextlib.contextmanager
def _eval_mode(model, grad=True):
    """Put the model in eval mode (batch norm with its running statistics), then restore; with
    `grad`, gradients on, also when the caller is inside `torch.no_grad()` (the long runs turn
    them on for each step instead: their caller's code runs between the steps). Yields the
    network to run: the model with its batch norms folded."""
    training = model.training
    model.eval()
    try:
        with torch.enable_grad() if grad else contextlib.nullcontext():
            yield folded(model)
    finally:
        model.train(training)


def _check_eps(eps, norm="linf"):
    _checks.one_of(norm, "norm", NORMS)
    eps = _checks.positive_number(eps, "eps")
    if norm == "linf" and eps > 1:
        raise ValueError(f"an L-inf eps is in pixel units (e.g. 2/255) and at most 1; got {eps!r}")
    return eps


def l2_budget(eps, image):
    """The L2 norm of a change of `eps` (pixel units) on every value of one image:
    eps * sqrt(3 * H * W), a float.

    `pgd(model, image, labels, eps=l2_budget(2 / 255, image), norm="l2")` then allows as much
    change in all as an L-inf attack of 2/255 that moves every value by the full budget, but
    lets the attack spend it where it helps most.
    """
    return _checks.positive_number(eps, "eps") * _checks.images(image)[0].numel() ** 0.5


def _device_of(model, image):
    params = next(iter(model.parameters()), None)
    return image.to(params.device) if params is not None else image


def _gradient(model, image, classes, targeted):
    """Gradient of the mean cross-entropy (of the true class, or minus that of the target)."""
    image = image.detach().requires_grad_(True)
    loss = F.cross_entropy(model(image), classes)
    grad, = torch.autograd.grad(-loss if targeted else loss, image)
    return grad


def _labels_and_goal(model, image, labels, target):
    """The classes the loss uses and whether the attack aims at them (targeted)."""
    n = len(image)
    if target is not None:
        return _checks.class_indices(model, target, n, "target").to(image.device), True
    if labels is None:
        raise ValueError("labels are needed for an untargeted attack (the true classes, or the "
                         "model's own predictions: model(image).argmax(1)); or give target=")
    return _checks.class_indices(model, labels, n, "labels").to(image.device), False


def _l2_norms(x):
    return x.flatten(1).norm(dim=1).view(-1, 1, 1, 1)


def _project(delta, eps, norm):
    if norm == "linf":
        return delta.clamp(-eps, eps)
    return delta * (eps / _l2_norms(delta).clamp(min=1e-12)).clamp(max=1.0)


# ---------------------------------------------------------------- one-image attacks


def fgsm(model, image, labels, eps=2 / 255, target=None):
    """Fast gradient sign method (Goodfellow et al. 2015): one step of eps along the gradient's sign.

    Args:
        model: a classifier taking (N, 3, H, W) images in [0, 1] (e.g. `load_model()`).
        image: float tensor (N, 3, H, W) in [0, 1].
        labels: the true classes (one class or one per image: indices, names from
            `model.categories`, or an integer tensor (N,)); used when `target` is None.
        eps: the L-inf budget in pixel units (2/255: two grey levels), in (0, 1].
        target: None for an untargeted attack (raise the loss of `labels`), or a class (index
            or name; or one per image) to step towards (lower the loss of `target`); labels may be None.

    Returns:
        Adversarial images (N, 3, H, W) in [0, 1], each pixel at most eps from the input.

    Example:
        >>> x_adv = fgsm(model, x, model(x).argmax(1), eps=2/255)

    Limit: one step; it flips fewer predictions than `pgd` with the same budget.
    """
    image = _device_of(model, _checks.images(image))
    eps = _check_eps(eps)
    return (image + eps * gradient_sign(model, image, labels, target)).clamp(0, 1)


def gradient_sign(model, image, labels, target=None):
    """sign(grad_x loss), the direction FGSM steps in: a tensor of -1, 0 and +1 of the images'
    shape (the lecture's middle picture of the panda, shown as `0.5 + 0.5 * sign`). Arguments
    as in `fgsm`: untargeted, the loss of `labels` rises along it; with `target`, that of the
    target falls. `fgsm(...) == (image + eps * gradient_sign(...)).clamp(0, 1)`."""
    image = _device_of(model, _checks.images(image))
    classes, targeted = _labels_and_goal(model, image, labels, target)
    with _eval_mode(model) as net:
        return _gradient(net, image, classes, targeted).sign()


def pgd(model, image, labels, eps=2 / 255, steps=10, lr=None, norm="linf", random_start=True,
        target=None, seed=None):
    """Projected gradient descent (Madry et al. 2018): `steps` gradient steps of size `lr`, each
    projected back into the eps-ball around the input and into [0, 1].

    Args:
        model, image, labels, target: as in `fgsm`.
        eps: the budget in pixel units: max |change| for norm "linf", the L2 norm of the change
            per image for "l2" (0.5 is ~1/255 spread evenly over a 224 x 224 image's 150,528 values).
        steps: number of gradient steps (positive int).
        lr: the step size; None gives 2.5 * eps / steps (Madry et al.'s choice). For "linf" a step
            moves every pixel by lr along the gradient's sign; for "l2" it moves lr along
            the gradient scaled to unit L2 norm.
        norm: "linf" or "l2".
        random_start: start from a uniformly random point of the L-inf ball (for "l2": a random
            direction with a uniformly random radius up to eps), as torchattacks does.
        seed: an int for the same random start on every run (None: torch's global random numbers).

    Returns:
        Adversarial images (N, 3, H, W) in [0, 1] within the budget of the input.

    Example:
        >>> x_adv = pgd(model, x, y, eps=2/255, steps=10, lr=0.5/255)

    Limit: the loss is the cross-entropy; attacks on defended models often need a margin loss.
    """
    image = _device_of(model, _checks.images(image))
    eps = _check_eps(eps, norm)
    steps = _checks.positive_int(steps, "steps")
    lr = 2.5 * eps / steps if lr is None else _checks.positive_number(lr, "lr")
    classes, targeted = _labels_and_goal(model, image, labels, target)
    generator = _checks.seed(seed, device=image.device)
    x = image.clone()
    if random_start:
        if norm == "linf":
            start = torch.rand(image.shape, generator=generator, device=image.device) * 2 - 1
            x = x + eps * start
        else:
            direction = torch.randn(image.shape, generator=generator, device=image.device)
            radius = torch.rand((len(image), 1, 1, 1), generator=generator, device=image.device)
            x = x + direction / _l2_norms(direction) * radius * eps
        x = x.clamp(0, 1)
    with _eval_mode(model) as net:
        for _ in range(steps):
            grad = _gradient(net, x, classes, targeted)
            if norm == "linf":
                x = x + lr * grad.sign()
            else:
                x = x + lr * grad / (_l2_norms(grad) + 1e-10)
            x = (image + _project(x - image, eps, norm)).clamp(0, 1)
    return x


def iterate_fooling_image(model, image, target, confidence=0.9, lr=0.2, max_steps=200):
    """The smallest change, found by gradient steps, that makes the model say class `target`;
    yields a `runs.Step` after every step (`fooling_image` returns the final images).

    As in the lecture's fooling-image figure: starting from the image, take steps of L2 length
    `lr` along the gradient of the target's log-probability (normalised per image) and stop
    each image as soon as the model gives the target at least `confidence`. Stopping at once
    keeps the change small: no step is taken after the goal is reached.

    Args:
        model: a classifier taking (N, 3, H, W) images in [0, 1].
        image: float tensor (N, 3, H, W) in [0, 1] (a batch is treated image by image).
        target: the class to reach: an index or a name from `model.categories` (or one per
            image).
        confidence: the probability of the target to reach, in (0, 1).
        lr: the step size, the L2 length of one step in pixel units (0.2 over a 224 x 224 image
            is tiny per pixel).
        max_steps: give up after this many steps.

    Yields:
        `Step`s: `losses` holds the target's mean "probability" before this step's move and
        the share of images that had "reached" `confidence`; `result` is the images
        (N, 3, H, W) in [0, 1] after the move, `image` the first of them. The last step moves
        nothing and reports where the images ended: it comes when every image has reached
        `confidence` or after `max_steps` moves (an image that did not reach it is as far as
        it got).

    Limit: small, not smallest: a greedy path, not a minimisation of the change's norm.
    """
    image = _device_of(model, _checks.images(image))
    classes = _checks.class_indices(model, target, len(image), "target").to(image.device)
    confidence = _checks.number(confidence, "confidence", 0, 1, open_low=True, open_high=True)
    lr = _checks.positive_number(lr, "lr")
    max_steps = _checks.positive_int(max_steps, "max_steps")
    rows = torch.arange(len(image), device=image.device)

    def run():  # a generator: the checks above raise at the call, the work starts at the first step
        x, total = image.clone(), max_steps + 1
        with _eval_mode(model, grad=False) as net:
            for count in range(1, total + 1):
                x = x.detach().requires_grad_(True)  # a new tensor: the steps handed out stay as they were
                with torch.enable_grad():  # also when the caller asks for the next step inside no_grad
                    log_p = net(x).log_softmax(1)[rows, classes]
                    p = log_p.detach().exp()
                    active = p < confidence
                    last = not active.any() or count == total  # the last step only measures where they ended
                    grad = None if last else torch.autograd.grad(log_p.sum(), x)[0]
                losses = {"probability": float(p.mean()), "reached": float((~active).float().mean())}
                if last:
                    yield Step(count, total, losses, x.detach()[:1].clone().cpu(), result=x.detach())
                    return
                move = lr * grad / (_l2_norms(grad) + 1e-12)
                x = torch.where(active.view(-1, 1, 1, 1), (x + move).clamp(0, 1), x).detach()
                yield Step(count, total, losses, x[:1].clone().cpu(), result=x)

    return run()


def fooling_image(model, image, target, *args, **options):
    """`iterate_fooling_image` run to its end: the images (N, 3, H, W) in [0, 1], each changed
    until the model gives `target` at least `confidence` (or `max_steps` were taken: check with
    `model(x).softmax(1)`). Same arguments as `iterate_fooling_image`.

    Example:
        >>> fooled = fooling_image(model, load_image("cat", (224, 224)), 368)  # a "gibbon"
    """
    return run_to_end(iterate_fooling_image(model, image, target, *args, **options))


# ---------------------------------------------------------------- measuring an attack


def top1(model, image, batch_size=4):
    """The model's top class and its probability for each image, `batch_size` at a time (keeps
    the memory low on large sets), without gradients.

    Returns:
        (classes, probabilities): an integer tensor (N,) and a float tensor (N,) in [0, 1].

    Example:
        >>> before, confidence = top1(model, photos)
        >>> sure = photos[confidence >= 0.3]      # the photos the model is fairly sure of
        >>> flipped = (top1(model, (sure + delta).clamp(0, 1))[0] != before[confidence >= 0.3]).float().mean()
    """
    image = _device_of(model, _checks.images(image))
    batch_size = _checks.positive_int(batch_size, "batch_size")
    with _eval_mode(model, grad=False) as net, torch.no_grad():
        p = torch.cat([net(image[i:i + batch_size]).softmax(1) for i in range(0, len(image), batch_size)])
    confidence, classes = p.max(1)
    return classes, confidence


def sign_noise(like, eps, seed=None):
    """Random sign noise: every value +eps or -eps at random, the shape of `like`'s one image
    (1, C, H, W): the baseline an attack of L-inf budget eps must beat (it has the same budget,
    and no direction). seed: as in `pgd`."""
    eps = _check_eps(eps)
    generator = _checks.seed(seed)
    shape = (1, *_checks.images(like, "like").shape[1:])
    return eps * torch.randint(0, 2, shape, generator=generator).mul(2).sub(1).float()


# ---------------------------------------------------------------- long runs: patch and universal


def _scale_range(scale):
    """A patch's range of random scales: a pair (low, high) with 0 < low <= high."""
    if (not isinstance(scale, (tuple, list)) or len(scale) != 2
            or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and 0 < s < math.inf for s in scale)
            or scale[0] > scale[1]):
        raise ValueError(f"scale must be a pair (low, high) of positive numbers with low <= high, "
                         f"e.g. (0.9, 1.1) or (1.0, 1.0) for a fixed size; got {scale!r}")
    return float(scale[0]), float(scale[1])


def _placement(n, image_size, patch_size, scale, angle, generator):
    """Random centres, scales and angles (radians) that keep each rotated patch inside the image."""
    h, w = image_size
    r = torch.rand(n, 4, generator=generator)
    scales = scale[0] + (scale[1] - scale[0]) * r[:, 0]
    angles = math.radians(angle) * (2 * r[:, 1] - 1)
    half = patch_size * scales / 2 * (angles.cos().abs() + angles.sin().abs())  # half bounding box
    if (2 * half > min(h, w)).any():
        raise ValueError(f"a patch of {patch_size} px at scale up to {scale[1]} does not fit in {h}x{w} images")
    cx = half + (w - 2 * half) * r[:, 2]
    cy = half + (h - 2 * half) * r[:, 3]
    return torch.stack([cx, cy], 1), scales, angles


def apply_patch(image, patch, centers=None, scale=1.0, angle=0.0, seed=None):
    """Paste a square patch onto images, rotated, scaled and placed (differentiably).

    Args:
        image: float tensor (N, 3, H, W) in [0, 1].
        patch: float tensor (1, 3, s, s) or (3, s, s) in [0, 1].
        centers: tensor (N, 2) of (x, y) pixel positions of the patch's centre; None places each
            patch at random, wholly inside its image.
        scale: the patch's side on the image is s * scale; a number or a tensor (N,); with
            centers None a (low, high) pair draws a scale per image.
        angle: rotation in degrees, clockwise on the screen (a number or a tensor (N,)); with
            centers None, a number means a random rotation within +-angle degrees.
        seed: an int for the same random placement on every run (None: torch's global random numbers).

    Returns:
        Images (N, 3, H, W) in [0, 1] with the patch pasted (bilinear, so edges are soft).

    Example:
        >>> stickered = apply_patch(photos, patch, seed=0)
    """
    image = _checks.images(image)
    if isinstance(patch, torch.Tensor) and patch.ndim == 3:
        patch = patch[None]
    patch = _checks.images(patch, "patch")
    if patch.shape[0] != 1 or patch.shape[-1] != patch.shape[-2]:
        raise ValueError(f"patch must be one square image (1, 3, s, s); got {tuple(patch.shape)}")
    n, (h, w), s = len(image), image.shape[-2:], patch.shape[-1]
    if centers is None:
        scales = tuple(scale) if isinstance(scale, (tuple, list)) else (float(scale), float(scale))
        centers, scale, angle = _placement(n, (h, w), s, scales, float(angle), _checks.seed(seed))
    else:
        angle = torch.deg2rad(torch.as_tensor(angle, dtype=torch.float32))  # _paste turns by radians
    return _paste(image, patch, centers, scale, angle)


def _paste(image, patch, centers, scale, angle):
    """The pasting itself: a patch still attached to autograd (for training) stays attached."""
    n, (h, w), s = len(image), image.shape[-2:], patch.shape[-1]
    device = image.device
    centers = torch.as_tensor(centers, dtype=torch.float32).to(device).view(n, 2)
    scale = torch.as_tensor(scale, dtype=torch.float32).to(device).expand(n)
    angle = torch.as_tensor(angle, dtype=torch.float32).to(device).expand(n)
    # Output pixel (x, y) in [-1, 1] -> patch coordinates u in [-1, 1] (align_corners=False):
    # u = 2 / (s k) * R(-a) [(W/2) x + W/2 - cx, (H/2) y + H/2 - cy].
    cos, sin = angle.cos(), angle.sin()
    f = 2 / (s * scale)
    theta = torch.stack([
        torch.stack([f * cos * w / 2, f * sin * h / 2, f * (cos * (w / 2 - centers[:, 0]) + sin * (h / 2 - centers[:, 1]))], 1),
        torch.stack([-f * sin * w / 2, f * cos * h / 2, f * (-sin * (w / 2 - centers[:, 0]) + cos * (h / 2 - centers[:, 1]))], 1),
    ], 1)
    grid = F.affine_grid(theta, (n, 3, h, w), align_corners=False)
    rgb_mask = torch.cat([patch.to(device).expand(n, 3, s, s), torch.ones(n, 1, s, s, device=device)], 1)
    warped = F.grid_sample(rgb_mask, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mask = warped[:, 3:]
    return (image * (1 - mask) + warped[:, :3] * mask).clamp(0, 1)


def _best_so_far(total, step_fn, picture):
    """The loop of the long runs: after every update a `Step` whose result is the best so far
    (the best success on its step; ties: later). A loss that is not finite ends the run with a
    message, keeping the best result before it."""
    best, best_success = None, -1.0
    for i in range(1, total + 1):
        with torch.enable_grad():  # also when the caller asks for the next step inside no_grad
            loss, success, current = step_fn()
        if not math.isfinite(loss):
            if best is None:
                raise FloatingPointError("the first step gave a loss that is not finite; try a smaller step size")
            yield Step(i, total, {"loss": loss, "success": success, "best success": best_success}, picture(best),
                       result=best, message=f"step {i}: the loss became {loss}; the result is the best before it")
            return
        if success >= best_success:
            best, best_success = current.detach().clone(), success
        yield Step(i, total, {"loss": loss, "success": success, "best success": best_success}, picture(best),
                   result=best)


def iterate_patch(model, image, target, size=70, steps=200, batch_size=4, scale=(0.9, 1.1),
                  angle=20.0, lr=0.05, seed=None):
    """Train an adversarial patch (Brown et al. 2017), a square sticker that makes any photo the
    target; yields a `runs.Step` after every update (`train_patch` returns the final patch).

    Trained by expectation over transformation: every step pastes the patch on `batch_size`
    images drawn from the batch `image`, each at a random place, scale and rotation, and takes an Adam
    step on the mean log-probability of the target.

    Args:
        model: a classifier taking (N, 3, H, W) images in [0, 1].
        image: training images, float tensor (N, 3, H, W) in [0, 1] (e.g. `images.random_crops`).
        target: the class the patch should make the model say (an index or a name).
        size: side of the square patch in pixels (70 covers 9.8% of a 224 x 224 image).
        steps: number of Adam steps (positive int).
        batch_size: images per step.
        scale: range of random scales of the patch during training.
        angle: random rotations within +-angle degrees during training.
        lr: Adam's learning rate on the patch's pixel values.
        seed: an int for the same patch start, batches and placements on every run (None: torch's
            global random numbers).

    Yields:
        `Step`s: `losses` holds this step's "loss", its "success" (the fraction of this step's
        images classified as the target) and the "best success" so far; `image` is the patch
        (1, 3, size, size) in [0, 1] with the best success on its step (ties: later). Stopping
        early keeps it.

    Example:
        >>> for step in iterate_patch(model, images.random_crops(photos, 32), "toaster", steps=100):
        ...     print(step.step, step.losses["loss"])
        >>> patch = step.result

    Limit: a step's success is measured on that step's few images; judge a patch on images it
    was not trained on (`apply_patch` on held-out photos).
    """
    image = _device_of(model, _checks.images(image))
    target = int(_checks.class_indices(model, target, 1, "target")[0])
    size = _checks.positive_int(size, "size")
    steps = _checks.positive_int(steps, "steps")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    lr = _checks.positive_number(lr, "lr")
    scale = _scale_range(scale)
    generator = _checks.seed(seed)
    h, w = image.shape[-2:]
    if size * scale[1] * math.sqrt(2) > min(h, w):
        raise ValueError(f"a patch of {size} px (scale up to {scale[1]}, rotated) does not fit in "
                         f"{h}x{w} images; choose a smaller size")
    patch = torch.rand((1, 3, size, size), generator=generator).to(image.device).requires_grad_(True)
    optimizer = torch.optim.Adam([patch], lr=lr)

    def step(net):
        pick = torch.randint(len(image), (batch_size,), generator=generator)
        centers, scales, angles = _placement(batch_size, (h, w), size, scale, angle, generator)
        logits = net(_paste(image[pick.to(image.device)], patch, centers, scales, angles))
        loss = -logits.log_softmax(1)[:, target].mean()
        measured = patch.detach().clone()  # the success below is that of the patch before this step
        # the gradient of the patch only: backward() would also fill the .grad of any model
        # parameter that requires gradients
        patch.grad, = torch.autograd.grad(loss, patch)
        optimizer.step()
        with torch.no_grad():
            patch.clamp_(0, 1)
        return loss.item(), (logits.argmax(1) == target).float().mean().item(), measured

    def run():  # a generator: the checks above raise at the call, the work starts at the first step
        with _eval_mode(model, grad=False) as net:
            yield from _best_so_far(steps, lambda: step(net), lambda best: best.cpu())

    return run()


def train_patch(model, image, target, *args, **options):
    """`iterate_patch` run to its end: the patch (1, 3, size, size) in [0, 1] with the best
    success on its step. Same arguments as `iterate_patch`.

    Example:
        >>> patch = train_patch(model, images.random_crops(photos, 32), 859, size=70, steps=100)
    """
    return run_to_end(iterate_patch(model, image, target, *args, **options))


def iterate_universal(model, image, labels=None, eps=10 / 255, steps=100, batch_size=4,
                      lr=None, seed=None):
    """Find one perturbation that changes the model's prediction for many images
    (Moosavi-Dezfooli et al. 2017) by a projected-gradient variant of their algorithm; yields a
    `runs.Step` after every update (`universal_perturbation` returns the final perturbation).

    The paper accumulates DeepFool steps image by image; here every step takes a minibatch of
    `batch_size` images, moves the shared perturbation by `lr` along the sign of the gradient
    of a clamped margin loss (for each image, the true class's logit minus the largest other,
    floored at -5 so images already fooled stop pulling), and projects onto the L-inf ball of
    radius eps, as in stochastic-gradient versions of the method (Shafahi et al. 2020).
    The gradient of a batch is summed over passes of two images each, so a larger batch costs
    time, not memory.

    Args:
        model: a classifier taking (N, 3, H, W) images in [0, 1].
        image: training images, float tensor (N, 3, H, W) in [0, 1], all of one size.
        labels: the classes to move away from; None uses the model's predictions on `image`
            (the "fooling rate" of the paper counts changed predictions).
        eps: the L-inf budget in pixel units, in (0, 1].
        steps: number of minibatch steps (positive int).
        batch_size: images per step.
        lr: the step size; None gives eps / 10.
        seed: an int for the same batches on every run (None: torch's global random numbers).

    Yields:
        `Step`s: `losses` holds this step's "loss", its "success" (the fraction of this step's
        images whose class changed) and the "best success" so far; `result` is the perturbation
        (1, 3, H, W) in [-eps, eps] with the best success on its step (ties: later), and `image`
        shows it magnified to [0, 1] (grey: no change). Stopping early keeps it. Add it to
        images and clip: `(x + step.result).clamp(0, 1)`.

    Limit: a step's success is measured on that step's few images; judge the perturbation on
    images it was not trained on.
    """
    image = _device_of(model, _checks.images(image))
    eps = _check_eps(eps)
    steps = _checks.positive_int(steps, "steps")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    lr = eps / 10 if lr is None else _checks.positive_number(lr, "lr")
    generator = _checks.seed(seed)
    if labels is not None:
        labels = _checks.class_indices(model, labels, len(image), "labels").to(image.device)
    delta = torch.zeros((1, *image.shape[1:]), device=image.device)

    def step(net, labels):
        nonlocal delta
        pick = torch.randint(len(image), (batch_size,), generator=generator).to(image.device)
        total, hits, grad = 0.0, 0, torch.zeros_like(delta)
        for part in pick.split(_CHUNK):  # the memory of _CHUNK images, the step of the whole batch
            x = (image[part] + delta).clamp(0, 1).requires_grad_(True)
            logits = net(x)
            true = logits.gather(1, labels[part, None])[:, 0]
            other = logits.scatter(1, labels[part, None], float("-inf")).amax(1)
            margins = (true - other).clamp(min=-5)
            g, = torch.autograd.grad(margins.sum(), x)
            grad += g.sum(0, keepdim=True)
            total += margins.sum().item()
            hits += int((logits.argmax(1) != labels[part]).sum())
        measured = delta  # the success above is that of the perturbation before this step
        delta = (delta - lr * grad.sign()).clamp(-eps, eps)
        return total / batch_size, hits / batch_size, measured

    def run():  # a generator: the checks above raise at the call, the work starts at the first step
        with _eval_mode(model, grad=False) as net:
            known = labels
            if known is None:
                with torch.no_grad():
                    known = torch.cat([net(image[i:i + 8]).argmax(1) for i in range(0, len(image), 8)])
            yield from _best_so_far(steps, lambda: step(net, known), lambda best: (0.5 + best / (2 * eps)).cpu())

    return run()


def universal_perturbation(model, image, labels=None, *args, **options):
    """`iterate_universal` run to its end: the perturbation (1, 3, H, W) in [-eps, eps] with the
    best success on its step. Same arguments as `iterate_universal`.

    Example:
        >>> delta = universal_perturbation(model, images.random_crops(photos, 32), eps=10/255, steps=100)
    """
    return run_to_end(iterate_universal(model, image, labels, *args, **options))
