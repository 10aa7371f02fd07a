"""Notebook 01: the size of a convolution's output, filters scaled for display, and one
layer's activations taken with a forward hook."""

import torch

from . import _fixtures as fx
from ._core import Case, Mistake, exercise

NOTEBOOK = "01_filters_and_activations"


# --- the output size of a convolution ----------------------------------------------------------

def conv_output_size(size, kernel, stride=1, padding=0):
    """Positions along one axis of a convolution's (or pooling's) output: floor((size + 2p - k) / s) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


SIZES = [(224, 11, 4, 2), (227, 11, 4, 0), (32, 3, 1, 1), (32, 3, 2, 1), (28, 5, 1, 0), (7, 3, 2, 0), (10, 4, 3, 1)]

exercise(
    name="conv_output_size", notebook=NOTEBOOK,
    title="the output size of a convolution", reference=conv_output_size, kind="int",
    cases=lambda: [Case(c, f"size {c[0]}, kernel {c[1]}, stride {c[2]}, padding {c[3]}") for c in SIZES],
    mistakes=(
        Mistake("The first window counts too: add 1 (a kernel as large as the padded input still gives one position).",
                variant=lambda n, k, s=1, p=0: (n + 2 * p - k) // s),
        Mistake("Padding goes on both sides: add 2 * padding, not padding.",
                variant=lambda n, k, s=1, p=0: (n + p - k) // s + 1),
        Mistake("The padding is missing: the padded input has size + 2 * padding pixels.",
                variant=lambda n, k, s=1, p=0: (n - k) // s + 1),
        Mistake("Round down, not up: a window that would stick out of the padded input is not computed.",
                variant=lambda n, k, s=1, p=0: -(-(n + 2 * p - k) // s) + 1),
        Mistake("The stride is missing: the window moves `stride` pixels at a time, so divide by it.",
                variant=lambda n, k, s=1, p=0: n + 2 * p - k + 1),
    ),
)


# --- filters scaled for display ----------------------------------------------------------------

def normalize_filters(weights):
    """Each filter (C_out, C_in, k, k) scaled on its own and symmetrically around zero, for
    display: 0.5 + 0.5 * w / max|w|, the maximum over that filter's values. A zero weight
    becomes mid-grey 0.5; the filter's largest |weight| becomes 0 or 1."""
    scale = weights.abs().amax(dim=(1, 2, 3), keepdim=True)
    return 0.5 + 0.5 * weights / scale


def _filter_cases():
    first = fx.tiny_cnn().net.conv1.weight.detach().clone()
    varied = fx.randn(12, 3, 5, 5, seed=1) * torch.linspace(0.2, 3.0, 12).view(12, 1, 1, 1) + 0.3
    return [Case((first,), "the first layer's 8 filters of the small network"),
            Case((varied,), "12 random 5 x 5 filters of different scales")]


def _symmetric(dims):
    return lambda w: 0.5 + 0.5 * w / w.abs().amax(dim=dims, keepdim=True)


exercise(
    name="normalize_filters", notebook=NOTEBOOK,
    title="first-layer filters scaled for display", reference=normalize_filters, cases=_filter_cases,
    mistakes=(
        Mistake("The filters were scaled together, by the largest |weight| of all of them. Scale each filter "
                "by its own: .amax over dims (1, 2, 3), keepdim=True.", variant=_symmetric((0, 1, 2, 3))),
        Mistake("Each colour channel was scaled on its own (dims (2, 3)), which changes the filter's colours. "
                "Scale the whole filter, all its channels, at once: dims (1, 2, 3).", variant=_symmetric((2, 3))),
        Mistake("This scales from the minimum to the maximum, so mid-grey is no longer a zero weight. Scale "
                "symmetrically: 0.5 + 0.5 * w / max|w|.",
                variant=lambda w: (w - w.amin(dim=(1, 2, 3), keepdim=True))
                / (w.amax(dim=(1, 2, 3), keepdim=True) - w.amin(dim=(1, 2, 3), keepdim=True))),
        Mistake("Divide by the largest ABSOLUTE weight, w.abs().amax(...): a filter whose most negative weight "
                "is larger than its most positive one would leave [0, 1].",
                variant=lambda w: 0.5 + 0.5 * w / w.amax(dim=(1, 2, 3), keepdim=True)),
        Mistake("Some values are outside [0, 1]: shift AND halve, 0.5 + 0.5 * w / max|w|, so that a zero weight "
                "is 0.5 and the largest |weight| 0 or 1.",
                test=lambda outs, cases: any(float(o.min()) < -1e-6 or float(o.max()) > 1 + 1e-6 for o in outs)),
    ),
)


# --- one layer's activations, with a hook -------------------------------------------------------

def layer_output(model, images, layer):
    """The output of the layer named `layer` (a key of model.layers) for `images`: (N, C, h, w).
    A forward hook keeps it; the hook is removed afterwards, also if the forward pass fails."""
    return _hooked(model, images, layer, lambda inputs, output: output)


def _layer_input(model, images, layer):
    return _hooked(model, images, layer, lambda inputs, output: inputs[0])


def _hooked(model, images, layer, pick):
    """What `pick(inputs, output)` takes from the layer's call in one forward pass; the hook
    goes afterwards, also if the pass fails."""
    module = model.get_submodule(model.layers[layer])
    kept = {}
    handle = module.register_forward_hook(lambda mod, inputs, output: kept.update(value=pick(inputs, output)))
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    return kept["value"]


def _layer_cases():
    model = fx.tiny_cnn()
    images = fx.photos("cat", "espresso")
    return [Case((model, images, "conv2"), "two photos, layer conv2 of a small network"),
            Case((model, images[1:], "conv1"), "one photo, layer conv1 of a small network")]


exercise(
    name="layer_output", notebook=NOTEBOOK,
    title="one layer's activations with a forward hook", reference=layer_output, cases=_layer_cases, hooks=True,
    model_case=lambda model: Case((model, fx.real_photo(model), fx.spatial_layer(model)), f"the cat on {model.name}", True),
    mistakes=(
        Mistake("This is the layer's input, not its output: a forward hook gets (module, inputs, output); keep `output`.",
                variant=_layer_input),
        Mistake("This is the model's output (the class scores), not the layer's: keep what the hook receives as "
                "`output`, and return that.",
                variant=lambda model, images, layer: model(images)),
    ),
)
