"""Intermediate activations by layer name, and top-k predictions.

Activations come from forward hooks that live only inside a context manager: they are removed
when the call returns, also when the forward pass raises, and they answer only to forward passes
of the thread that set them (a panel's run in the background and another panel's click may use
one network at the same time). The forward pass stops as soon as every requested layer has been
seen, so asking for a shallow layer costs a shallow forward.
"""

import contextlib
import threading
from collections import OrderedDict

import torch

from . import _checks


class _AllLayersSeen(Exception):
    """Raised inside the forward pass once every requested layer has its output."""


def resolve_layers(model, layers):
    """Map short layer names (or one name) to modules; unknown names raise listing valid ones."""
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError(f"no layer given; valid layers of {model.name}: {', '.join(model.layers)}")
    unknown = [n for n in names if n not in model.layers]
    if unknown:
        raise ValueError(
            f"unknown layer{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"for {model.name}; valid layers: {', '.join(model.layers)}"
        )
    return OrderedDict((n, model.get_submodule(model.layers[n])) for n in names)


@contextlib.contextmanager
def forward_hooks(modules, hook):
    """Register `hook(name, module, inputs, output)` on each of {name: module}, called for this
    thread's forward passes only; always removed."""
    handles, owner = [], threading.get_ident()

    def call(name, module, inputs, output):
        if threading.get_ident() == owner:
            return hook(name, module, inputs, output)
        return None

    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(
                lambda mod, inp, out, name=name: call(name, mod, inp, out)
            ))
        yield
    finally:
        for handle in handles:
            handle.remove()


def get_activations(model, image, layers, stop_early=True):
    """Run `image` through `model` and return the outputs of the named layers.

    Args:
        model: an `ImageNetModel` (see `load_model`).
        image: tensor (N, 3, H, W) in [0, 1] (one image or a batch).
        layers: a short layer name or a list of them (`list(model.layers)` lists all).
        stop_early: stop the forward pass once all layers are seen (set False if you also
            need the side effects of a full pass).

    Returns:
        An ordered dict {layer name: tensor (N, C, h, w)} in the order asked for. Gradients flow
        if `image` requires grad; wrap in `torch.no_grad()` for viewing only.

    Limits: for a module called several times in one pass, which call's output is kept is not
    defined; the layer tables name modules called once.

    Example:
        >>> acts = get_activations(model, load_image("cat", 224), ["stem", "stage4"])
        >>> acts["stage4"].shape
        torch.Size([1, 80, 14, 14])
    """
    return _run(model, image, layers, stop_early)[1]


def forward_with_activations(model, image, layers):
    """One full forward pass: (logits, {layer: activation}), with gradients as the inputs allow."""
    return _run(model, image, layers, stop_early=False)


def _run(model, image, layers, stop_early):
    modules = resolve_layers(model, layers)
    outputs, logits = {}, None

    def keep(name, module, inputs, output):
        outputs[name] = output
        if stop_early and len(outputs) == len(modules):
            raise _AllLayersSeen

    with forward_hooks(modules, keep):
        try:
            logits = model(image)
        except _AllLayersSeen:
            pass
    return logits, OrderedDict((n, outputs[n]) for n in modules)


def predict(model, image, k=5):
    """Top-k classes of one image: a list of (index, name, probability), most probable first.

    Example:
        >>> predict(model, load_image("espresso", 224), k=1)
        [(967, 'espresso', 0.94...)]
    """
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"predict takes one image (1, 3, H, W); got shape {tuple(image.shape)}")
    with torch.no_grad():
        return top_classes(model, model(image)[0], k)


def top_classes(model, logits, k=5):
    """The top-k classes of one image's logits (num_classes,): [(index, name, probability)]."""
    k = _checks.integer(k, "k", 1, len(model.categories))
    top = logits.detach().softmax(dim=0).topk(k)
    return [(int(i), model.categories[int(i)], float(p)) for p, i in zip(top.values, top.indices)]
