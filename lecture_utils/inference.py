"""A fast forward pass for viewing: logits and some layers' maps from one frozen TorchScript
trace, and CAM from the maps of that same pass.

The live explorer runs one network on one frame size many times a second. Eager PyTorch spends
much of a small network's time between operators; a trace frozen with `torch.jit.freeze`
(batch norms folded into the convolutions, weights as constants) runs the bundled network at
224 px in 21 ms against eager's 28 on 2 quiet cores, 22 against 35 on one busy core (ONNX Runtime:
22 there, so not worth a dependency; channels-last: slower). The layers' maps are outputs
of the traced graph, so no hook is left on anything and the caller's model is not touched: the
trace is made from a copy.
"""

import copy
import warnings

import torch

from .activations import forward_with_activations, resolve_layers
from .attribution import CAM_CLASSIFIER, cam_maps


class _WithMaps(torch.nn.Module):
    """(logits, maps of `names` as a tuple): what the trace records. The hooks that collect the
    maps run only while tracing; the traced graph has the maps as plain outputs."""

    def __init__(self, model, names):
        super().__init__()
        self.model, self.names = model, list(names)

    def forward(self, image):
        logits, maps = forward_with_activations(self.model, image, self.names)
        return logits, tuple(maps.values())


def frozen_forward(model, layers, size=224):
    """A function `image -> (logits, {layer: maps})` that computes what
    `forward_with_activations(model, image, layers)` does, faster, without gradients.

    Args:
        model: an `ImageNetModel` (see `load_model`); it is copied, never changed.
        layers: a short layer name or a list of them.
        size: the side of the square images it will take: a trace fixes the padding of every
            convolution for one input size (the batch size stays free).

    Returns:
        `forward(image)`: image (N, 3, size, size) in [0, 1] on the model's device ->
        (logits (N, 1000), ordered dict {layer: tensor (N, C, h, w)}).

    Limits: it computes with the model's weights of now (a later change to them is not seen),
    in eval mode, and refuses other image sizes; a network that does not trace raises here.

    Example:
        >>> forward = frozen_forward(model, ["stage4", "head"])
        >>> logits, maps = forward(load_image("cat", 224))
        >>> maps["stage4"].shape
        torch.Size([1, 80, 14, 14])
    """
    names = list(resolve_layers(model, layers))  # raises listing the valid names
    net = copy.deepcopy(model).eval().requires_grad_(False)
    example = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(model.device)
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns where shapes become constants (the padding); the size check below is
        # the answer to that. torch.jit's deprecation notice is not the reader's to act on.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", r"`torch\.jit\.\w+` is deprecated", FutureWarning)
        # check_trace=False: no second trace to compare (tests/test_inference.py compares with eager)
        frozen = torch.jit.freeze(torch.jit.trace(_WithMaps(net, names).eval(), example, check_trace=False))
    shape = (3, size, size)

    def forward(image):
        if image.ndim != 4 or tuple(image.shape[1:]) != shape:
            raise ValueError(f"this fast forward pass was traced for images (N, {', '.join(map(str, shape))}); "
                             f"got shape {tuple(image.shape)}: make another with frozen_forward(model, layers, "
                             f"size={image.shape[-1]}) or use forward_with_activations")
        with torch.no_grad():
            logits, maps = frozen(image.to(model.device))
        return logits, dict(zip(names, maps))

    return forward


def cam_layer(model):
    """The layer whose maps give CAM for `model` (its last spatial layer, before global average
    pooling and one linear layer), or None for a network without that head."""
    return CAM_CLASSIFIER[model.name][0] if model.name in CAM_CLASSIFIER else None


def cam_from_maps(model, maps, targets):
    """Grad-CAM of `targets` at `cam_layer(model)` without a backward pass, from that layer's
    maps (N, K, h, w) of a forward pass already made.

    Where the head is global average pooling then a linear layer, the gradient of class c's
    logit by the map A_k at any position is w_ck / (h w), so Grad-CAM's channel weights are the
    linear layer's row for c over h w: CAM (Zhou et al. 2016) divided by h w. Returns ReLU of it
    at the maps' own size, (N, h, w), equal to `attribution.grad_cam(model, image, targets,
    cam_layer(model))` before its upsampling (tests/test_inference.py).
    """
    if cam_layer(model) is None:
        raise ValueError(f"{model.name} has no global-average-pooling-then-linear head; "
                         f"use attribution.grad_cam for it")
    return cam_maps(model, maps, targets) / (maps.shape[2] * maps.shape[3])
