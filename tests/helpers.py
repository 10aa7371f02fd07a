"""Small fixed-weight networks wrapped like the real models, for exact tests."""

from collections import OrderedDict

import torch
from torch import nn

from lecture_utils.models import ImageNetModel, folded


class Boom(nn.Module):
    """Raises when `armed`, to test clean-up after a failing forward pass."""

    armed = False

    def forward(self, x):
        if self.armed:
            raise RuntimeError("boom")
        return x


def tiny_model(num_classes=4):
    """conv(3->2, 1x1) -> relu -> boom -> pool -> linear(2->num_classes), weights fixed."""
    conv = nn.Conv2d(3, 2, kernel_size=1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 2.0]]).view(2, 3, 1, 1))
        conv.bias.copy_(torch.tensor([0.0, -0.5]))
    fc = nn.Linear(2, num_classes)
    with torch.no_grad():
        fc.weight.copy_(torch.arange(2 * num_classes, dtype=torch.float32).view(num_classes, 2) / 10)
        fc.bias.zero_()
    net = nn.Sequential(OrderedDict(
        conv=conv, relu=nn.ReLU(), boom=Boom(), pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(), fc=fc
    ))
    layers = OrderedDict(conv="conv", relu="relu", boom="boom", fc="fc")
    categories = [f"class{i}" for i in range(num_classes)]
    # mean 0, std 1: the network sees pixel values as they are
    return ImageNetModel("tiny", net, layers, categories, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)).eval()


class ForwardCounter:
    """Counts forward passes of a model, and of `folded(model)`, the copy the gradient loops run,
    while in a `with` block (pre-hooks, removed on exit)."""

    def __init__(self, model):
        self.networks, self.calls = {model, folded(model)}, 0

    def __enter__(self):
        self.handles = [n.register_forward_pre_hook(lambda *a: setattr(self, "calls", self.calls + 1))
                        for n in self.networks]
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()
