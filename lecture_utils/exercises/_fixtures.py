"""What check runs the students' functions on: bundled photos and tiny networks with fixed,
seeded weights, each built once.

The networks are `ImageNetModel`s like the real ones (RGB in [0, 1] in, normalisation with
ImageNet's mean and std inside, `.layers`, `.categories`), so a function written for the
tiny network also works on `load_model()`. They are small enough that a check takes well
under a second.
"""

import functools
from collections import OrderedDict

import torch
from torch import nn

from ..images import load_image
from ..models import IMAGENET_MEAN, IMAGENET_STD, ImageNetModel

SIZE = (32, 40)  # photos for the tiny network: not square, so swapped axes show
PHOTOS = ("cat", "palace", "espresso", "daisy", "rocket", "astronaut", "grace_hopper", "bricks",
          "church_auvers", "cafe_terrace")


@functools.lru_cache(maxsize=None)
def tiny_cnn():
    """conv-relu, conv-batchnorm-relu (stride 2), conv-relu, average pool, linear: 10 classes.

    Layers "conv1" (8 channels, full size), "conv2" and "conv3" (16 channels, half size), "fc".
    In eval mode with no gradients for its weights, as `load_model` returns a model.
    """
    generator = torch.Generator().manual_seed(2024)

    def conv(cin, cout, stride=1):
        layer = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        with torch.no_grad():
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * (2 / (9 * cin)) ** 0.5)
            layer.bias.copy_(0.05 * torch.randn(cout, generator=generator))
        return layer

    norm = nn.BatchNorm2d(16)
    with torch.no_grad():  # running statistics that differ from a fresh layer's: train() would show
        norm.running_mean.copy_(0.1 * torch.randn(16, generator=generator))
        norm.running_var.copy_(0.5 + torch.rand(16, generator=generator))
        norm.weight.copy_(1 + 0.2 * torch.randn(16, generator=generator))
        norm.bias.copy_(0.1 * torch.randn(16, generator=generator))
    fc = nn.Linear(16, 10)
    net = nn.Sequential(OrderedDict(
        conv1=conv(3, 8), relu1=nn.ReLU(),
        conv2=conv(8, 16, stride=2), norm2=norm, relu2=nn.ReLU(),
        conv3=conv(16, 16), relu3=nn.ReLU(),
        pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(), fc=fc,
    ))
    layers = OrderedDict(conv1="relu1", conv2="relu2", conv3="relu3", fc="fc")
    categories = ["apple", "bicycle", "cup", "daisy", "espresso", "fox", "guitar", "house", "ibex", "jeep"]
    model = ImageNetModel("tiny_cnn", net, layers, categories, IMAGENET_MEAN, IMAGENET_STD).eval()
    # A classifier on the pooled features standardised over the bundled photos: random weights
    # alone would call every photo the same class (the features share a large common part).
    with torch.no_grad():
        pooled = net[:-1]((photos(*PHOTOS) - model.mean) / model.std)
        weight = torch.randn(10, 16, generator=generator) / pooled.std(0).clamp_min(1e-3)
        fc.weight.copy_(weight)
        fc.bias.copy_(-weight @ pooled.mean(0))
    return model.requires_grad_(False)


@functools.lru_cache(maxsize=None)
def _photo(name, size):
    return load_image(name, size=size)


def photo(name, size=SIZE):
    """A bundled photo, (1, 3, H, W) in [0, 1] (a fresh copy each time)."""
    return _photo(name, tuple(size)).clone()


def photos(*names, size=SIZE):
    """Several bundled photos as one batch (N, 3, H, W)."""
    return torch.cat([photo(name, size) for name in names])


def randn(*shape, seed=0):
    """Seeded Gaussian noise (the global random state is left alone)."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def features(model, image, layers):
    """The activations of `layers` for `image`, detached: {layer: (N, C, h, w)}."""
    from ..activations import get_activations

    with torch.no_grad():
        return {name: a.detach() for name, a in get_activations(model, image, list(layers)).items()}


def real_photo(model):
    """The cat at 96 x 128 px on the model's device, for check(..., model=) runs."""
    return photo("cat", (96, 128)).to(model.device)


def top_class(model, image):
    """The model's answer for one image, an int."""
    with torch.no_grad():
        return int(model(image).argmax(1)[0])


def spatial_layer(model):
    """The deepest layer of `model.layers` with a spatial map (for check(..., model=) runs)."""
    probe = torch.zeros(1, 3, 64, 64, device=model.device)
    for name in reversed(list(model.layers)):
        if features(model, probe, [name])[name].ndim == 4:
            return name
    raise ValueError(f"{model.name} has no layer with a spatial map")


def near(value, reference, rtol=1e-3, atol=1e-5):
    """Same shape and close values (atol relative to the reference's largest |value|)."""
    reference = reference.detach().double()
    return value.shape == reference.shape and torch.allclose(
        value.double(), reference, rtol=rtol, atol=atol * float(reference.abs().max()) + 1e-12)
