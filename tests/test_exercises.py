"""The exercises' automatic feedback (lecture_utils.exercises): every reference passes, typical
wrong implementations get the message for their mistake, broken functions get a clear message
instead of an exception, and check leaves every model as it was.

The wrong implementations below are written the way a student would write them, independently
of the variants inside the package that recognise them."""

import inspect
import math
import threading
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecture_utils.exercises import EXERCISES, Result, check, solution
from lecture_utils.exercises import _runner
from lecture_utils.exercises._fixtures import tiny_cnn
from lecture_utils.style import rgb_to_yiq, yiq_to_rgb

from .conftest import hook_count


def test_there_are_at_least_20_exercises_across_notebooks_01_to_10():
    notebooks = {ex.notebook[:2] for ex in EXERCISES.values()}
    assert len(EXERCISES) >= 20
    assert notebooks == {f"{n:02d}" for n in range(1, 11)}


@pytest.mark.parametrize("name", list(EXERCISES))
def test_the_reference_passes(name):
    result = check(name, solution(name))
    assert result.passed, result.message
    assert repr(result).startswith(f"✓ {name}: passed")


@pytest.mark.parametrize("name", list(EXERCISES))
def test_an_unfilled_skeleton_is_not_done_yet(name):
    namespace = {}
    exec(f"def skeleton{inspect.signature(solution(name))}:\n    # YOUR CODE HERE\n    raise NotImplementedError()", namespace)
    result = check(name, namespace["skeleton"])
    assert result.status == "todo" and not result.passed
    assert "not done yet" in repr(result) and "not done yet" in result._repr_html_()


# --- wrong implementations, one row per mistake: (exercise, function, part of the message) -----

def _grad(model, x, score):
    x = x.clone().requires_grad_(True)
    score(model(x)).backward()
    return x.grad


def _hooked(model, layer, x, keep="output"):
    store = []
    module = model.get_submodule(model.layers[layer])
    h = module.register_forward_hook(lambda m, i, o: store.append(o if keep == "output" else i[0]))
    logits = model(x)
    h.remove()
    return store[0], logits


# 01 conv_output_size
def size_no_plus_one(size, kernel, stride=1, padding=0):
    return math.floor((size + 2 * padding - kernel) / stride)


def size_padding_once(size, kernel, stride=1, padding=0):
    return int((size + padding - kernel) / stride) + 1


def size_rounds_up(size, kernel, stride=1, padding=0):
    return math.ceil((size + 2 * padding - kernel) / stride) + 1


def size_float(size, kernel, stride=1, padding=0):
    return (size + 2 * padding - kernel) / stride + 1


def size_no_stride(size, kernel, stride=1, padding=0):
    return size - kernel + 2 * padding + 1


# 01 normalize_filters
def filters_global(weights):
    return 0.5 + 0.5 * weights / weights.abs().max()


def filters_per_channel(weights):
    flat = weights.flatten(2)
    return (0.5 + 0.5 * flat / flat.abs().max(2, keepdim=True).values).view_as(weights)


def filters_min_max(weights):
    out = torch.empty_like(weights)
    for i, w in enumerate(weights):
        out[i] = (w - w.min()) / (w.max() - w.min())
    return out


def filters_max_not_abs(weights):
    return torch.stack([0.5 + w / (2 * w.max()) for w in weights])


def filters_not_shifted(weights):
    return weights / weights.abs().amax(dim=(1, 2, 3), keepdim=True)


# 01 layer_output
def layer_hook_left(model, images, layer):
    store = {}
    model.get_submodule(model.layers[layer]).register_forward_hook(lambda m, i, o: store.update(a=o))
    model(images)
    return store["a"]


def layer_input(model, images, layer):
    return _hooked(model, layer, images, keep="input")[0]


def layer_logits(model, images, layer):
    return _hooked(model, layer, images)[1]


def layer_train_mode(model, images, layer):
    model.train()
    return _hooked(model, layer, images)[0]


def layer_hook_not_in_finally(model, images, layer):
    out = []
    handle = model.get_submodule(model.layers[layer]).register_forward_hook(lambda m, i, o: out.append(o))
    with torch.no_grad():
        model(images)
    handle.remove()  # not reached when the forward pass raises
    return out[0]


# 02 receptive_field
def rf_stride_first(layers):
    rf, j = 1, 1
    for k, s in layers:
        j = j * s
        rf = rf + (k - 1) * j
    return rf, j


def rf_no_jump(layers):
    rf, j = 1, 1
    for k, s in layers:
        rf += k - 1
        j *= s
    return rf, j


def rf_sum_kernels(layers):
    return sum(k for k, _ in layers), math.prod(s for _, s in layers)


def rf_own_stride(layers):
    rf = 1
    for k, s in layers:
        rf += (k - 1) * s
    return rf, s


def rf_size_only(layers):
    rf, j = 1, 1
    for k, s in layers:
        rf += (k - 1) * j
        j *= s
    return rf


# 02 nearest_neighbors
def knn_farthest(features, query, k):
    sims = F.cosine_similarity(features, query[None], dim=1)
    return torch.argsort(sims)[:k]


def knn_euclidean(features, query, k):
    return torch.argsort(((features - query) ** 2).sum(1))[:k]


def knn_dot(features, query, k):
    sims = features @ (query / query.norm())
    return torch.argsort(sims, descending=True)[:k]


def knn_values(features, query, k):
    sims = F.cosine_similarity(features, query[None], dim=1)
    return torch.sort(sims, descending=True).values[:k]


def knn_manhattan(features, query, k):
    return (features - query).abs().sum(1).argsort()[:k]


def knn_numpy(features, query, k):
    f, q = features.numpy(), query.numpy()
    sims = f @ q / (np.linalg.norm(f, axis=1) * np.linalg.norm(q))
    return np.argsort(-sims)[:k]


# 03 saliency
def sal_no_abs(model, images, targets):
    g = _grad(model, images, lambda s: s[torch.arange(len(images)), targets].sum())
    return g.max(dim=1).values


def sal_no_max(model, images, targets):
    return _grad(model, images, lambda s: s[torch.arange(len(images)), targets].sum()).abs()


def sal_mean_channels(model, images, targets):
    return _grad(model, images, lambda s: s[torch.arange(len(images)), targets].sum()).abs().mean(1)


def sal_loss(model, images, targets):
    return _grad(model, images, lambda s: F.cross_entropy(s, targets, reduction="sum")).abs().max(1).values


def sal_mean_loss(model, images, targets):
    return _grad(model, images, lambda s: F.cross_entropy(s, targets)).abs().amax(1)


def sal_all_scores(model, images, targets):
    return _grad(model, images, lambda s: s.sum()).abs().max(1).values


def sal_normalised(model, images, targets):
    x = ((images - model.mean) / model.std).requires_grad_(True)
    model.net(x)[torch.arange(len(x)), targets].sum().backward()
    return x.grad.abs().max(1).values


def sal_in_place(model, images, targets):
    images.requires_grad_(True)
    model(images)[torch.arange(len(images)), targets].sum().backward()
    return images.grad.abs().amax(1)


# 03 smoothgrad
def sg_average_gradients(model, image, target, noise):
    grads = [_grad(model, image + n, lambda s: s[0, target]) for n in noise]
    return torch.stack(grads).mean(0).abs().amax(1)


def sg_accumulated(model, image, target, noise):
    x = image.clone().requires_grad_(True)
    total = 0
    for n in noise:
        model(x + n)[0, target].backward()
        total = total + x.grad.abs().amax(1)
    return total / len(noise)


def sg_sum(model, image, target, noise):
    return sum(_grad(model, image + n, lambda s: s[0, target]).abs().amax(1) for n in noise)


def sg_no_noise(model, image, target, noise):
    return sum(_grad(model, image, lambda s: s[0, target]).abs().amax(1) for n in noise) / len(noise)


# 03 grad_cam
def _cam_parts(model, image, target, layer):
    acts, logits = _hooked(model, layer, image.clone().requires_grad_(True))
    grads = torch.autograd.grad(logits[0, target], acts)[0]
    return acts.detach(), grads


def cam_no_relu(model, image, target, layer):
    a, g = _cam_parts(model, image, target, layer)
    return torch.einsum("nk,nkhw->nhw", g.mean((2, 3)), a)


def cam_summed_weights(model, image, target, layer):
    a, g = _cam_parts(model, image, target, layer)
    return torch.einsum("nk,nkhw->nhw", g.sum((2, 3)), a).clamp(min=0)


def cam_activation_weights(model, image, target, layer):
    a, g = _cam_parts(model, image, target, layer)
    return torch.einsum("nk,nkhw->nhw", a.mean((2, 3)), a).clamp(min=0)


def cam_elementwise(model, image, target, layer):
    a, g = _cam_parts(model, image, target, layer)
    return (a * g).sum(1).clamp(min=0)


def cam_upsampled(model, image, target, layer):
    a, g = _cam_parts(model, image, target, layer)
    cam = (a * g.mean((2, 3), keepdim=True)).sum(1, keepdim=True).clamp(min=0)
    return F.interpolate(cam, size=image.shape[-2:], mode="bilinear")[:, 0]


def cam_hook_not_in_finally(model, image, target, layer):
    acts = []
    handle = model.get_submodule(model.layers[layer]).register_forward_hook(lambda m, i, o: acts.append(o))
    score = model(image.clone().requires_grad_(True))[0, target]
    handle.remove()
    (g,) = torch.autograd.grad(score, acts[0])
    return (g.mean((2, 3), keepdim=True) * acts[0]).sum(1).relu().detach()


# 03 occlusion
def _prob(model, x, target):
    with torch.no_grad():
        return F.softmax(model(x), dim=1)[0, target].item()


def occ_reversed(model, image, target, top, left, size, fill=0.5):
    x = image.clone()
    x[:, :, top:top + size, left:left + size] = fill
    return _prob(model, x, target) - _prob(model, image, target)


def occ_logits(model, image, target, top, left, size, fill=0.5):
    x = image.clone()
    x[:, :, top:top + size, left:left + size] = fill
    with torch.no_grad():
        return (model(image)[0, target] - model(x)[0, target]).item()


def occ_swapped(model, image, target, top, left, size, fill=0.5):
    x = image.clone()
    x[:, :, left:left + size, top:top + size] = fill
    return _prob(model, image, target) - _prob(model, x, target)


def occ_black(model, image, target, top, left, size, fill=0.5):
    x = image.clone()
    x[:, :, top:top + size, left:left + size] = 0
    return _prob(model, image, target) - _prob(model, x, target)


def occ_in_place(model, image, target, top, left, size, fill=0.5):
    before = _prob(model, image, target)
    image[:, :, top:top + size, left:left + size] = fill
    return before - _prob(model, image, target)


# 03 integrated_gradients
def _path(model, image, target, alphas):
    return [_grad(model, a * image, lambda s: s[0, target]) for a in alphas]


def ig_no_input(model, image, target, steps):
    return sum(_path(model, image, target, [(k + 0.5) / steps for k in range(steps)])) / steps


def ig_left_sum(model, image, target, steps):
    return image * sum(_path(model, image, target, [k / steps for k in range(steps)])) / steps


def ig_linspace(model, image, target, steps):
    return image * sum(_path(model, image, target, np.linspace(0, 1, steps).tolist())) / steps


def ig_no_divide(model, image, target, steps):
    return image * sum(_path(model, image, target, [(k + 0.5) / steps for k in range(steps)]))


def ig_accumulated(model, image, target, steps):
    x = torch.zeros_like(image, requires_grad=True)
    total = 0
    for k in range(steps):
        model(x + (k + 0.5) / steps * image)[0, target].backward()  # x.grad never zeroed
        total = total + x.grad.clone()
    return image * total / steps


# 04 class_image_step
def _step(model, image, target, l2, centre=0.5, sign=1, undo=-1, norm=True, clip=True, ox=0, oy=0, lr=1.0):
    x = image.roll(oy, 2).roll(ox, 3).clone().requires_grad_(True)
    (model(x)[0, target] + l2 * ((x - centre) ** 2).sum()).backward()
    g = x.grad
    with torch.no_grad():
        x = x + sign * lr * (g / g.norm() if norm else g)
        if undo:
            x = x.roll(undo * oy, 2).roll(undo * ox, 3)
        return x.clamp(0, 1) if clip else x


def step_descent(model, image, target, lr, l2_reg, ox, oy):
    return _step(model, image, target, -l2_reg, sign=-1, ox=ox, oy=oy, lr=lr)


def step_l2_added(model, image, target, lr, l2_reg, ox, oy):
    return _step(model, image, target, l2_reg, ox=ox, oy=oy, lr=lr)


def step_l2_black(model, image, target, lr, l2_reg, ox, oy):
    return _step(model, image, target, -l2_reg, centre=0.0, ox=ox, oy=oy, lr=lr)


def step_no_undo(model, image, target, lr, l2_reg, ox, oy):
    return _step(model, image, target, -l2_reg, undo=0, ox=ox, oy=oy, lr=lr)


def step_not_clipped(model, image, target, lr, l2_reg, ox, oy):
    return _step(model, image, target, -l2_reg, clip=False, ox=ox, oy=oy, lr=lr)


def step_in_place(model, image, target, lr, l2_reg, ox, oy):
    out = _step(model, image, target, -l2_reg, ox=ox, oy=oy, lr=lr)
    image.copy_(out)
    return image


def step_swapped_jitter(model, image, target, lr, l2_reg, ox, oy):
    return _step(model, image, target, -l2_reg, ox=oy, oy=ox, lr=lr)


# 05 fgsm
def _loss_grad(model, images, labels):
    return _grad(model, images, lambda s: F.cross_entropy(s, labels))


def fgsm_minus(model, images, labels, eps):
    return torch.clamp(images - eps * torch.sign(_loss_grad(model, images, labels)), 0, 1)


def fgsm_no_sign(model, images, labels, eps):
    return torch.clamp(images + eps * _loss_grad(model, images, labels), 0, 1)


def fgsm_no_clip(model, images, labels, eps):
    return images + eps * torch.sign(_loss_grad(model, images, labels))


def fgsm_score(model, images, labels, eps):
    g = _grad(model, images, lambda s: s[torch.arange(len(s)), labels].sum())
    return (images + eps * g.sign()).clamp(0, 1)


def fgsm_normalised(model, images, labels, eps):
    z = ((images - model.mean) / model.std).requires_grad_(True)
    F.cross_entropy(model.net(z), labels).backward()
    return ((z + eps * z.grad.sign()).detach() * model.std + model.mean).clamp(0, 1)


def fgsm_two_eps(model, images, labels, eps):
    return (images + 2 * eps * _loss_grad(model, images, labels).sign()).clamp(0, 1)


def fgsm_in_place(model, images, labels, eps):
    images += eps * _loss_grad(model, images, labels).sign()
    return images.clamp_(0, 1)


# 05 make_fooling_image
def fool_accumulates(model, image, target, lr, max_steps):
    x = image.clone().requires_grad_(True)
    for _ in range(max_steps):
        scores = model(x)
        if scores.argmax().item() == target:
            break
        scores[0, target].backward()
        with torch.no_grad():
            x += lr * x.grad / x.grad.norm()
            x.clamp_(0, 1)
    return x.detach()


def fool_never_stops(model, image, target, lr, max_steps):
    x = image.clone()
    for _ in range(max_steps):
        g = _grad(model, x, lambda s: s[0, target])
        x = (x + lr * g / g.norm()).clamp(0, 1)
    return x


def fool_descends(model, image, target, lr, max_steps):
    x = image.clone()
    for _ in range(max_steps):
        with torch.no_grad():
            if model(x).argmax().item() == target:
                break
        g = _grad(model, x, lambda s: s[0, target])
        x = (x - lr * g / g.norm()).clamp(0, 1)
    return x


def fool_not_clipped(model, image, target, lr, max_steps):
    x = image.clone()
    for _ in range(max_steps):
        with torch.no_grad():
            if model(x).argmax().item() == target:
                break
        g = _grad(model, x, lambda s: s[0, target])
        x = x + 3 * lr * g / g.norm()
    return x


def fool_in_place(model, image, target, lr, max_steps):
    for _ in range(max_steps):
        with torch.no_grad():
            if model(image).argmax().item() == target:
                break
        g = _grad(model, image, lambda s: s[0, target])
        image.add_(lr * g / g.norm()).clamp_(0, 1)
    return image


def fool_checks_after_step(model, image, target, lr, max_steps):
    x = image.clone()
    for _ in range(max_steps):
        g = _grad(model, x, lambda s: s[0, target])
        x = (x + lr * g / g.norm()).clamp(0, 1)
        with torch.no_grad():
            if model(x).argmax().item() == target:
                break
    return x


def fool_ignores_max_steps(model, image, target, lr, max_steps):
    x = image.clone()
    while True:
        with torch.no_grad():
            if model(x).argmax().item() == target:
                return x
        g = _grad(model, x, lambda s: s[0, target])
        x = (x + lr * g / g.norm()).clamp(0, 1)


def fool_forever(model, image, target, lr, max_steps):
    x = image.clone()
    while model(x).argmax().item() != target:  # no step is taken: an endless loop
        pass
    return x


# 05 project
def project_no_clip(x_adv, x, eps):
    return x + torch.clamp(x_adv - x, -eps, eps)


def project_clamp_image(x_adv, x, eps):
    return torch.clamp(torch.clamp(x_adv, -eps, eps), 0, 1)


def project_two_eps(x_adv, x, eps):
    return torch.clamp(x + torch.clamp(x_adv - x, -2 * eps, 2 * eps), 0, 1)


def project_scaled(x_adv, x, eps):
    delta = x_adv - x
    return (x + delta / delta.abs().max() * eps).clamp(0, 1)


def project_returns_delta(x_adv, x, eps):
    return torch.clamp(x_adv - x, -eps, eps)


# 06 make_step
def _dream(model, image, layer, step_size, ox, oy, norm=True, undo=True, sign=1, swap=False, clip=True):
    shifts = (ox, oy) if swap else (oy, ox)
    x = torch.roll(image, shifts, (2, 3)).clone().requires_grad_(True)
    acts, _ = _hooked(model, layer, x)
    (acts ** 2).mean().backward()
    g = x.grad
    x = x.detach() + sign * (step_size / g.abs().mean() if norm else step_size) * g
    if undo:
        x = torch.roll(x, (-shifts[0], -shifts[1]), (2, 3))
    return x.clamp(0, 1) if clip else x


def dream_raw_step(model, image, layer, step_size, ox, oy):
    return _dream(model, image, layer, step_size, ox, oy, norm=False)


def dream_no_unshift(model, image, layer, step_size, ox, oy):
    return _dream(model, image, layer, step_size, ox, oy, undo=False)


def dream_descends(model, image, layer, step_size, ox, oy):
    return _dream(model, image, layer, step_size, ox, oy, sign=-1)


def dream_swapped(model, image, layer, step_size, ox, oy):
    return _dream(model, image, layer, step_size, ox, oy, swap=True)


def dream_not_clipped(model, image, layer, step_size, ox, oy):
    return _dream(model, image, layer, 20 * step_size, ox, oy, clip=False)


def dream_in_place(model, image, layer, step_size, ox, oy):
    image.data = _dream(model, image, layer, step_size, ox, oy)
    return image


def dream_hook_not_in_finally(model, image, layer, step_size, ox, oy):
    acts = []
    handle = model.get_submodule(model.layers[layer]).register_forward_hook(lambda m, i, o: acts.append(o))
    x = image.roll((oy, ox), (2, 3)).requires_grad_(True)
    model(x)
    handle.remove()
    acts[0].backward(acts[0].detach())
    x = x.detach() + step_size / x.grad.abs().mean() * x.grad
    return x.roll((-oy, -ox), (2, 3)).clamp(0, 1)


# 07 total_variation
def tv_wrong_axes(image, beta=2.0):
    dx = image[:, 1:, :-1] - image[:, :-1, :-1]
    dy = image[:, :-1, 1:] - image[:, :-1, :-1]
    return ((dx ** 2 + dy ** 2) ** (beta / 2)).sum()


def tv_ignores_beta(image, beta=2.0):
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    return (dx ** 2 + dy ** 2).sum()


def tv_only_horizontal(image, beta=2.0):
    d = torch.diff(image, dim=3)[..., :-1, :]
    return (d.abs() ** beta).sum()


def tv_mean(image, beta=2.0):
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    return ((dx ** 2 + dy ** 2) ** (beta / 2)).mean()


def tv_separate(image, beta=2.0):
    return (torch.diff(image, dim=3).abs() ** beta).sum() + (torch.diff(image, dim=2).abs() ** beta).sum()


def tv_separate_cropped(image, beta=2.0):
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    return (dx.abs() ** beta).sum() + (dy.abs() ** beta).sum()


def tv_item(image, beta=2.0):
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    return ((dx ** 2 + dy ** 2) ** (beta / 2)).sum().item()


# 07 inversion_loss
def _tv(image):
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    return (dx ** 2 + dy ** 2).sum()


def inv_not_normalised(model, image, layer, target_features, tv_weight):
    f, _ = _hooked(model, layer, image)
    return F.mse_loss(f, target_features, reduction="sum") + tv_weight * _tv(image)


def inv_relative_error(model, image, layer, target_features, tv_weight):
    f, _ = _hooked(model, layer, image)
    return torch.linalg.norm(f - target_features) / torch.linalg.norm(target_features) + tv_weight * _tv(image)


def inv_mse(model, image, layer, target_features, tv_weight):
    f, _ = _hooked(model, layer, image)
    return F.mse_loss(f, target_features) + tv_weight * _tv(image)


def inv_tv_subtracted(model, image, layer, target_features, tv_weight):
    f, _ = _hooked(model, layer, image)
    return ((f - target_features) ** 2).sum() / (target_features ** 2).sum() - tv_weight * _tv(image)


def inv_detached(model, image, layer, target_features, tv_weight):
    with torch.no_grad():
        f, _ = _hooked(model, layer, image)
        return ((f - target_features) ** 2).sum() / (target_features ** 2).sum() + tv_weight * _tv(image)


def inv_features_without_grad(model, image, layer, target_features, tv_weight):
    with torch.no_grad():  # the value is right; the feature term has no gradient
        f, _ = _hooked(model, layer, image)
    return ((f - target_features) ** 2).sum() / (target_features ** 2).sum() + tv_weight * _tv(image)


def inv_feature_term_item(model, image, layer, target_features, tv_weight):
    f, _ = _hooked(model, layer, image)
    match = (torch.linalg.norm(f - target_features) ** 2 / torch.linalg.norm(target_features) ** 2).item()
    return match + tv_weight * _tv(image)


def inv_divided_by_norm(model, image, layer, target_features, tv_weight):
    f, _ = _hooked(model, layer, image)
    return ((f - target_features) ** 2).sum() / torch.linalg.norm(target_features) + tv_weight * _tv(image)


def inv_hook_not_in_finally(model, image, layer, target_features, tv_weight):
    f, _ = _hooked(model, layer, image)  # no try/finally in _hooked
    return ((f - target_features) ** 2).sum() / (target_features ** 2).sum() + tv_weight * _tv(image)


# 08 gram_matrix
def gram_unnormalised(features):
    n, c, h, w = features.shape
    f = features.view(n, c, -1)
    return torch.bmm(f, f.permute(0, 2, 1))


def gram_chw(features):
    n, c, h, w = features.shape
    f = features.view(n, c, -1)
    return torch.bmm(f, f.permute(0, 2, 1)) / (c * h * w)


def gram_positions(features):
    n, c, h, w = features.shape
    f = features.view(n, c, -1)
    return torch.bmm(f.permute(0, 2, 1), f) / (h * w)


def gram_viewed(features):
    n, c, h, w = features.shape
    return torch.bmm(features.view(n, c, h * w), features.view(n, h * w, c)) / (h * w)


def gram_batch_mixed(features):
    n, c, h, w = features.shape
    f = features.transpose(0, 1).reshape(c, -1)
    return f @ f.T / (h * w)


# 08 texture_loss
def _gram(f):
    n, c, h, w = f.shape
    f = f.view(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def texture_unweighted(features, target_grams, weights):
    return sum(((_gram(features[k]) - a) ** 2).sum() for k, a in target_grams.items())


def texture_last_layer(features, target_grams, weights):
    for k, a in target_grams.items():
        loss = weights[k] * ((_gram(features[k]) - a) ** 2).sum()
    return loss


def texture_mean(features, target_grams, weights):
    return sum(weights[k] * F.mse_loss(_gram(features[k]), a) for k, a in target_grams.items())


def texture_raw_gram(features, target_grams, weights):
    total = 0
    for k, a in target_grams.items():
        f = features[k].flatten(2)
        total = total + weights[k] * ((f @ f.transpose(1, 2) - a) ** 2).sum()
    return total


def texture_norm(features, target_grams, weights):
    return sum(weights[k] * torch.dist(_gram(features[k]), a) for k, a in target_grams.items())


# 09 content_loss
def content_unweighted(content_weight, features, target_features):
    return torch.sum((features - target_features) ** 2)


def content_mean(content_weight, features, target_features):
    return content_weight * F.mse_loss(features, target_features)


def content_norm(content_weight, features, target_features):
    return content_weight * torch.norm(features - target_features)


def content_abs(content_weight, features, target_features):
    return content_weight * F.l1_loss(features, target_features, reduction="sum")


def content_half(content_weight, features, target_features):
    return content_weight * 0.5 * ((features - target_features) ** 2).sum()  # Gatys et al.'s 1/2


# 09 style_loss
def _plain_gram(f):
    f = f.flatten(2)[0]
    return f @ f.t()


def style_no_factor(features, style_features):
    return ((_plain_gram(features) - _plain_gram(style_features)) ** 2).sum()


def style_normalised_gram(features, style_features):
    _, n, h, w = features.shape
    m = h * w
    g, a = _plain_gram(features) / m, _plain_gram(style_features) / m
    return ((g - a) ** 2).sum() / (4 * n ** 2 * m ** 2)


def style_4nm(features, style_features):
    _, n, h, w = features.shape
    return ((_plain_gram(features) - _plain_gram(style_features)) ** 2).sum() / (4 * n * h * w)


def style_no_four(features, style_features):
    _, n, h, w = features.shape
    return ((_plain_gram(features) - _plain_gram(style_features)) ** 2).sum() / (n ** 2 * (h * w) ** 2)


def style_gram_of_difference(features, style_features):
    _, n, h, w = features.shape
    return (_plain_gram(features - style_features) ** 2).sum() / (4 * n ** 2 * (h * w) ** 2)


# 09 preserve_colors
def colors_swapped(stylized, content):
    a, b = rgb_to_yiq(content), rgb_to_yiq(stylized)
    return yiq_to_rgb(torch.cat([a[:, :1], b[:, 1:]], 1)).clamp(0, 1)


def colors_not_clipped(stylized, content):
    a, b = rgb_to_yiq(stylized), rgb_to_yiq(content)
    return yiq_to_rgb(torch.cat([a[:, :1], b[:, 1:]], 1))


def colors_yiq(stylized, content):
    yiq = rgb_to_yiq(content)
    yiq[:, 0] = rgb_to_yiq(stylized)[:, 0]
    return yiq


def colors_only_i(stylized, content):
    yiq = rgb_to_yiq(stylized)
    yiq[:, 1] = rgb_to_yiq(content)[:, 1]
    return yiq_to_rgb(yiq).clamp(0, 1)


# 10 instance_norm
def norm_batch(x, eps=1e-5):
    return F.batch_norm(x, None, None, training=True, eps=eps)


def norm_layer(x, eps=1e-5):
    return F.layer_norm(x, x.shape[1:], eps=eps)


def norm_unbiased(x, eps=1e-5):
    return (x - x.mean((2, 3), keepdim=True)) / (x.var((2, 3), keepdim=True) + eps).sqrt()


def norm_eps_outside(x, eps=1e-5):
    return (x - x.mean((2, 3), keepdim=True)) / (x.std((2, 3), keepdim=True, unbiased=False) + eps)


def norm_no_centre(x, eps=1e-5):
    return x / (x.var((2, 3), keepdim=True, unbiased=False) + eps).sqrt()


def norm_rows_only(x, eps=1e-5):
    return (x - x.mean(2, keepdim=True)) / (x.var(2, keepdim=True, unbiased=False) + eps).sqrt()


WRONG = [
    ("conv_output_size", size_no_plus_one, "add 1"),
    ("conv_output_size", size_padding_once, "2 * padding, not padding"),
    ("conv_output_size", size_rounds_up, "Round down, not up"),
    ("conv_output_size", size_float, "use //"),
    ("conv_output_size", size_no_stride, "The stride is missing"),
    ("normalize_filters", filters_global, "scaled together"),
    ("normalize_filters", filters_per_channel, "Each colour channel was scaled on its own"),
    ("normalize_filters", filters_min_max, "mid-grey is no longer a zero weight"),
    ("normalize_filters", filters_max_not_abs, "largest ABSOLUTE weight"),
    ("normalize_filters", filters_not_shifted, "outside [0, 1]"),
    ("layer_output", layer_hook_left, "left 1 hook on the model"),
    ("layer_output", layer_input, "the layer's input, not its output"),
    ("layer_output", layer_logits, "the model's output (the class scores)"),
    ("layer_output", layer_train_mode, "training mode"),
    ("layer_output", layer_hook_not_in_finally, "hook on the model when the forward pass raised"),
    ("receptive_field", rf_stride_first, "multiplied in before the layer's kernel was counted"),
    ("receptive_field", rf_no_jump, "not 1: add (k - 1) * jump"),
    ("receptive_field", rf_sum_kernels, "Kernel sizes do not simply add up"),
    ("receptive_field", rf_own_stride, "Only the layer's own stride"),
    ("receptive_field", rf_size_only, "return a tuple of 2 ints"),
    ("nearest_neighbors", knn_farthest, "LEAST similar"),
    ("nearest_neighbors", knn_euclidean, "Euclidean distance"),
    ("nearest_neighbors", knn_dot, "largest dot products"),
    ("nearest_neighbors", knn_values, "return their indices"),
    ("nearest_neighbors", knn_numpy, "NumPy array"),
    ("nearest_neighbors", knn_manhattan, "returned the indices ["),
    ("saliency", sal_no_abs, "absolute value is missing"),
    ("saliency", sal_no_max, "one value per pixel"),
    ("saliency", sal_mean_channels, "summed or averaged"),
    ("saliency", sal_loss, "gradient of the loss"),
    ("saliency", sal_mean_loss, "gradient of the loss"),
    ("saliency", sal_all_scores, "all classes' scores"),
    ("saliency", sal_normalised, "normalised image"),
    ("saliency", sal_in_place, "switched on gradients for its input `images`"),
    ("smoothgrad", sg_average_gradients, "averaged before the absolute value"),
    ("smoothgrad", sg_accumulated, "pile up"),
    ("smoothgrad", sg_sum, "sum of the maps"),
    ("smoothgrad", sg_no_noise, "noise is not used"),
    ("grad_cam", cam_no_relu, "ReLU is missing"),
    ("grad_cam", cam_summed_weights, "summed over the positions"),
    ("grad_cam", cam_activation_weights, "activations' own means"),
    ("grad_cam", cam_elementwise, "position by position"),
    ("grad_cam", cam_upsampled, "upsampled"),
    ("grad_cam", cam_hook_not_in_finally, "hook on the model when the forward pass raised"),
    ("occlusion", occ_reversed, "sign is reversed"),
    ("occlusion", occ_logits, "These are logits"),
    ("occlusion", occ_swapped, "Rows and columns are swapped"),
    ("occlusion", occ_black, "painted black"),
    ("occlusion", occ_in_place, "changed its input `image` in place"),
    ("integrated_gradients", ig_no_input, "multiplied by (image - baseline)"),
    ("integrated_gradients", ig_left_sum, "left ends"),
    ("integrated_gradients", ig_linspace, "torch.linspace(0, 1, steps)"),
    ("integrated_gradients", ig_no_divide, "divide by `steps`"),
    ("integrated_gradients", ig_accumulated, "pile up"),
    ("class_image_step", step_descent, "goes downhill"),
    ("class_image_step", step_l2_added, "L2 term has the wrong sign"),
    ("class_image_step", step_l2_black, "pulls towards black"),
    ("class_image_step", step_no_undo, "jitter was not undone"),
    ("class_image_step", step_not_clipped, "outside [0, 1]"),
    ("class_image_step", step_in_place, "changed its input `image` in place"),
    ("class_image_step", step_swapped_jitter, "ox and oy are swapped"),
    ("fgsm", fgsm_minus, "LOWERS the loss"),
    ("fgsm", fgsm_no_sign, "sign is missing"),
    ("fgsm", fgsm_no_clip, "outside [0, 1]"),
    ("fgsm", fgsm_score, "gradient of the class SCORE"),
    ("fgsm", fgsm_normalised, "normalised space"),
    ("fgsm", fgsm_two_eps, "more than eps"),
    ("fgsm", fgsm_in_place, "changed its input `images` in place"),
    ("make_fooling_image", fool_accumulates, "pile up"),
    ("make_fooling_image", fool_never_stops, "does not stop when the model is fooled"),
    ("make_fooling_image", fool_descends, "go downhill"),
    ("make_fooling_image", fool_not_clipped, "outside [0, 1]"),
    ("make_fooling_image", fool_in_place, "changed its input `image` in place"),
    ("make_fooling_image", fool_checks_after_step, "BEFORE each step"),
    ("make_fooling_image", fool_ignores_max_steps, "went on after max_steps steps"),
    ("project", project_no_clip, "clip to the valid range too"),
    ("project", project_clamp_image, "image itself was clipped to [-eps, eps]"),
    ("project", project_two_eps, "more than eps"),
    ("project", project_scaled, "whole change was scaled down"),
    ("make_step", dream_raw_step, "not L1-normalised"),
    ("make_step", dream_no_unshift, "jitter was not undone"),
    ("make_step", dream_descends, "goes downhill"),
    ("make_step", dream_swapped, "ox and oy are swapped"),
    ("make_step", dream_not_clipped, "outside [0, 1]"),
    ("make_step", dream_in_place, "changed its input `image` in place"),
    ("make_step", dream_hook_not_in_finally, "hook on the model when the forward pass raised"),
    ("total_variation", tv_wrong_axes, "wrong axes"),
    ("total_variation", tv_ignores_beta, "beta was ignored"),
    ("total_variation", tv_only_horizontal, "Only the horizontal differences"),
    ("total_variation", tv_mean, "This is the mean"),
    ("total_variation", tv_separate, "raised to the power on their own"),
    ("total_variation", tv_separate_cropped, "raised to the power on their own"),
    ("total_variation", tv_item, "Python number"),
    ("inversion_loss", inv_not_normalised, "not normalised"),
    ("inversion_loss", inv_relative_error, "relative error"),
    ("inversion_loss", inv_mse, "mean squared error"),
    ("inversion_loss", inv_tv_subtracted, "TV term has the wrong sign"),
    ("inversion_loss", inv_detached, "no gradient"),
    ("inversion_loss", inv_features_without_grad, "its gradient with respect to `image` is not"),
    ("inversion_loss", inv_feature_term_item, "its gradient with respect to `image` is not"),
    ("inversion_loss", inv_divided_by_norm, "The feature term is wrong (the TV term is right)"),
    ("inversion_loss", inv_hook_not_in_finally, "hook on the model when the forward pass raised"),
    ("gram_matrix", gram_unnormalised, "not normalised"),
    ("gram_matrix", gram_chw, "C * H * W"),
    ("gram_matrix", gram_positions, "matrix of positions"),
    ("gram_matrix", gram_viewed, "mixes channels and positions"),
    ("gram_matrix", gram_batch_mixed, "batch were mixed"),
    ("texture_loss", texture_unweighted, "layer weights are missing"),
    ("texture_loss", texture_last_layer, "Only the last layer counts"),
    ("texture_loss", texture_mean, "mean of the squared differences"),
    ("texture_loss", texture_raw_gram, "not normalised by the number of positions"),
    ("texture_loss", texture_norm, "not its square"),
    ("content_loss", content_unweighted, "content weight is missing"),
    ("content_loss", content_mean, "mean of the squared differences"),
    ("content_loss", content_norm, "not its square"),
    ("content_loss", content_abs, "not squared"),
    ("content_loss", content_half, "1/2 of the reference's, on every input: a factor 2 is missing"),
    ("style_loss", style_no_factor, "factor 1 / (4 N^2 M^2) is missing"),
    ("style_loss", style_normalised_gram, "already averaged over the positions"),
    ("style_loss", style_4nm, "divides by 4 N M"),
    ("style_loss", style_gram_of_difference, "DIFFERENCE of the features"),
    ("style_loss", style_no_four, "4 times the reference's, on every input: a factor 1/4 is missing"),
    ("preserve_colors", colors_swapped, "roles are swapped"),
    ("preserve_colors", colors_not_clipped, "outside [0, 1]"),
    ("preserve_colors", colors_yiq, "still YIQ"),
    ("preserve_colors", colors_only_i, "Only one of the two colour channels"),
    ("instance_norm", norm_batch, "batch normalisation"),
    ("instance_norm", norm_layer, "layer normalisation"),
    ("instance_norm", norm_unbiased, "unbiased"),
    ("instance_norm", norm_eps_outside, "eps goes inside the square root"),
    ("instance_norm", norm_no_centre, "mean was not subtracted"),
    ("instance_norm", norm_rows_only, "Only the height"),
]


@pytest.mark.parametrize("name, wrong, expected", WRONG, ids=[f"{n}-{w.__name__}" for n, w, _ in WRONG])
def test_a_typical_mistake_gets_its_message(name, wrong, expected):
    result = check(name, wrong)
    assert result.status == "failed", result.message
    assert expected in result.message, result.message


def test_the_messages_name_the_mistake_not_a_neighbouring_one():
    index = check("nearest_neighbors", knn_manhattan).message
    assert "returned the indices [59, 9, 7, 19, 27]" in index and "the reference's are [16, 9, 34, 37, 1]" in index
    assert "total_variation" not in check("inversion_loss", inv_divided_by_norm).message


def test_every_exercise_has_at_least_three_wrong_implementations_in_the_table():
    counts = {name: sum(row[0] == name for row in WRONG) for name in EXERCISES}
    assert min(counts.values()) >= 3, counts


# --- broken functions: a clear message, never an exception ---------------------------------------

def raises(model, images, targets):
    scores = model(images)
    return scores[:, targets, 5]


def returns_none(model, images, targets):
    x = images.clone().requires_grad_(True)
    model(x)[:, 0].sum().backward()


def returns_numpy(model, images, targets):
    x = images.clone().requires_grad_(True)
    model(x).gather(1, targets[:, None]).sum().backward()
    return x.grad.abs().amax(1).numpy()


def grad_is_none(model, images, targets):
    x = images.clone().requires_grad_(True)
    y = x * 1.0
    model(y).gather(1, targets[:, None]).sum().backward()
    return y.grad.abs().amax(1)


def endless(model, images, targets):
    while True:
        pass


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.parametrize("fn, expected", [
    (raises, "raised IndexError"),
    (returns_none, "returned None. Is the `return` line missing?"),
    (returns_numpy, "returned a NumPy array"),
    (grad_is_none, "x.grad is None"),
])
def test_a_broken_function_gets_a_clear_message(fn, expected):
    result = check("saliency", fn)
    assert result.status == "failed" and expected in result.message, result.message
    assert "Traceback" not in result.message and len(result.message) < 400


def test_the_message_names_the_line_of_the_students_code():
    result = check("saliency", raises)
    assert "raised IndexError at line 3 of raises (`return scores[:, targets, 5]`)" in result.message


def test_a_function_past_the_time_limit_is_stopped():
    start = time.perf_counter()
    result = check("saliency", endless, time_limit=0.3)
    assert time.perf_counter() - start < 3
    assert result.status == "failed" and "did not finish within 0.3 s" in result.message


def test_an_endless_loop_inside_a_loop_body_is_stopped_too():
    result = check("make_fooling_image", fool_forever, time_limit=0.3)
    assert "did not finish within 0.3 s" in result.message


def test_outside_the_main_thread_the_time_limit_still_holds():
    box = []
    worker = threading.Thread(target=lambda: box.append(_runner.run(lambda: time.sleep(2), (), 0.2)))
    worker.start()
    worker.join(5)
    assert box and "did not finish within 0.2 s" in box[0].problem


def test_check_wants_the_function_not_its_result():
    result = check("gram_matrix", solution("gram_matrix")(torch.ones(1, 2, 3, 3)))
    assert "check takes your function itself" in result.message


def test_an_unknown_exercise_lists_the_names():
    with pytest.raises(ValueError, match="unknown exercise 'salency'; exercises: conv_output_size"):
        check("salency", sal_no_abs)


def test_the_result_shows_as_one_line_of_escaped_html():
    result = Result("demo", "failed", "a <b> tag and `code`")
    html = result._repr_html_()
    assert "&lt;b&gt;" in html and "<code>code</code>" in html and "✗ demo" in html
    assert not result and repr(result) == "✗ demo: a <b> tag and `code`"


# --- check leaves models alone -------------------------------------------------------------------

def vandal(model, images, targets):
    """Right values, bad manners: a hook left, training mode, weights changed and asking for grads."""
    expected = solution("saliency")(model, images, targets)
    model.get_submodule(list(model.layers.values())[0]).register_forward_hook(lambda *a: None)
    model.train()
    with torch.no_grad():
        next(model.parameters()).mul_(2)
    model.requires_grad_(True)
    return expected


def test_check_never_changes_the_model_it_is_given(model):
    state = {k: v.clone() for k, v in model.state_dict().items()}
    hooks, training = hook_count(model), [m.training for m in model.modules()]
    flags = [p.requires_grad for p in model.parameters()]
    for fn in (vandal, solution("saliency")):
        result = check("saliency", fn, model=model)
    assert result.passed, result.message
    assert hook_count(model) == hooks and [m.training for m in model.modules()] == training
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_a_function_that_changes_the_model_is_told_so_and_our_network_is_put_back():
    net = tiny_cnn()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    result = check("saliency", vandal)
    assert "left 1 hook on the model" in result.message
    assert hook_count(net) == 0 and not net.training and not any(p.requires_grad for p in net.parameters())
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    assert check("saliency", solution("saliency")).passed


@pytest.mark.parametrize("name", [n for n, ex in EXERCISES.items() if ex.model_case])
def test_the_reference_passes_on_the_bundled_model_too(name, model):
    result = check(name, solution(name), model=model)
    assert result.passed, result.message


def test_an_exercise_without_a_model_refuses_one(model):
    with pytest.raises(ValueError, match="takes no model"):
        check("gram_matrix", solution("gram_matrix"), model=model)


def test_check_restores_the_number_of_threads_and_the_grad_mode():
    threads = torch.get_num_threads()
    torch.set_num_threads(3)  # not 1, the number check runs with
    try:
        with torch.no_grad():
            assert check("saliency", solution("saliency")).passed  # gradients are switched on inside
        assert check("saliency", vandal).status == "failed"
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(threads)


def test_a_hook_the_caller_put_on_our_network_survives_a_check():
    module = tiny_cnn().net.relu1  # where vandal puts its hook too
    handle = module.register_forward_hook(lambda *a: None)
    try:
        for fn in (vandal, layer_hook_not_in_finally):  # hooks left, on our network or its failing copy
            assert "hook" in check("saliency" if fn is vandal else "layer_output", fn).message
        assert handle.id in module._forward_hooks and hook_count(tiny_cnn()) == 1
    finally:
        handle.remove()
    assert check("layer_output", solution("layer_output")).passed


# --- right answers written another way pass too ---------------------------------------------------

def sal_per_image_loop(model, images, targets):
    maps = []
    for img, t in zip(images, targets):
        x = img[None].clone().requires_grad_(True)
        model(x)[0, t].backward()
        maps.append(x.grad.abs().max(1).values)
    return torch.cat(maps)


def sg_one_batch(model, image, target, noise):
    x = (image + noise).requires_grad_(True)
    model(x)[:, target].sum().backward()
    return x.grad.abs().amax(1).mean(0, keepdim=True)


def cam_tensor_hook(model, image, target, layer):
    store = {}

    def hook(module, inputs, output):
        store["a"] = output
        output.register_hook(lambda g: store.update(g=g))

    handle = model.get_submodule(model.layers[layer]).register_forward_hook(hook)
    try:
        model(image.clone().requires_grad_())[0, target].backward()
    finally:
        handle.remove()
    return F.relu(torch.einsum("k,khw->hw", store["g"].mean((2, 3))[0], store["a"][0].detach()))[None]


def ig_one_batch(model, image, target, steps):
    alphas = (torch.arange(steps) + 0.5) / steps
    x = (alphas.view(-1, 1, 1, 1) * image).requires_grad_(True)
    model(x)[:, target].sum().backward()
    return image * x.grad.mean(0, keepdim=True)


def fool_zeroing_grad(model, image, target, lr, max_steps):
    x = image.clone().requires_grad_(True)
    for _ in range(max_steps):
        scores = model(x)
        if scores.argmax() == target:
            break
        scores[0, target].backward()
        with torch.no_grad():
            x += lr * x.grad / x.grad.norm()
            x.clamp_(0, 1)
            x.grad.zero_()
    return x.detach()


def dream_mean_objective(model, image, layer, step_size, ox, oy):
    from lecture_utils import get_activations

    x = image.roll(ox, -1).roll(oy, -2).clone().requires_grad_()
    get_activations(model, x, [layer])[layer].pow(2).mean().backward()
    x = x.detach() + step_size / x.grad.abs().mean() * x.grad
    return x.roll(-ox, -1).roll(-oy, -2).clamp(0, 1)


def project_tensor_bounds(x_adv, x, eps):
    return torch.clamp(x_adv, min=torch.clamp(x - eps, 0, 1), max=torch.clamp(x + eps, 0, 1))


def texture_einsum(features, target_grams, weights):
    total = torch.tensor(0.0)
    for layer, a in target_grams.items():
        f = features[layer]
        g = torch.einsum("nchw,ndhw->ncd", f, f) / (f.shape[2] * f.shape[3])
        total = total + weights[layer] * F.mse_loss(g, a, reduction="sum")
    return total


def occlusion_float(model, image, target, top, left, size, fill=0.5):
    mask = torch.zeros_like(image, dtype=torch.bool)
    mask[..., top:top + size, left:left + size] = True
    with torch.no_grad():
        p = model(torch.cat([image, torch.where(mask, torch.full_like(image, fill), image)])).softmax(1)[:, target]
    return float(p[0] - p[1])


def inv_mse_sum(model, image, layer, target_features, tv_weight):
    features = {}
    handle = model.get_submodule(model.layers[layer]).register_forward_hook(lambda m, i, o: features.update(f=o))
    try:
        model(image)
    finally:
        handle.remove()
    match = F.mse_loss(features["f"], target_features, reduction="sum") / target_features.norm() ** 2
    return match + tv_weight * _tv(image)


def fool_counted_while(model, image, target, lr, max_steps):
    x, steps = image.clone(), 0
    while steps < max_steps and model(x).argmax(1).item() != target:
        g = _grad(model, x, lambda s: s[0, target])
        x, steps = (x.detach() + lr * g / g.norm()).clamp(0, 1), steps + 1
    return x.detach()


def rf_as_list(layers):
    size, jump = 1, 1
    for k, s in layers:
        size, jump = size + (k - 1) * jump, jump * s
    return [size, jump]


RIGHT = [("saliency", sal_per_image_loop), ("smoothgrad", sg_one_batch), ("grad_cam", cam_tensor_hook),
         ("integrated_gradients", ig_one_batch), ("make_fooling_image", fool_zeroing_grad),
         ("make_fooling_image", fool_counted_while), ("inversion_loss", inv_mse_sum),
         ("make_step", dream_mean_objective), ("project", project_tensor_bounds),
         ("texture_loss", texture_einsum), ("occlusion", occlusion_float), ("receptive_field", rf_as_list),
         ("instance_norm", lambda x, eps=1e-5: F.instance_norm(x, eps=eps)),
         ("content_loss", lambda w, f, t: w * F.mse_loss(f, t, reduction="sum"))]


@pytest.mark.parametrize("name, right", RIGHT, ids=[f"{n}-{getattr(f, '__name__', n)}" for n, f in RIGHT])
def test_a_right_answer_written_another_way_passes(name, right):
    result = check(name, right)
    assert result.passed, result.message
