"""Notebook 10: instance normalisation."""

import torch

from . import _fixtures as fx
from ._core import Case, Mistake, exercise

NOTEBOOK = "10_fast_style_transfer"


def instance_norm(x, eps=1e-5):
    """Instance normalisation (Ulyanov et al. 2016) without the learned scale and shift: each
    image's each channel minus its mean over the positions, divided by sqrt(variance + eps)
    (the biased variance, as nn.InstanceNorm2d). x (N, C, H, W); returns the same shape."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps)


def _norm_variant(dims=(2, 3), unbiased=False, eps_inside=True, centre=True):
    def variant(x, eps=1e-5):
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, keepdim=True, unbiased=unbiased)
        top = x - mean if centre else x
        return top / (torch.sqrt(var + eps) if eps_inside else torch.sqrt(var) + eps)
    return variant


def _cases():
    x = fx.randn(3, 4, 6, 5, seed=18) * torch.tensor([1.0, 3.0, 0.5, 0.004]).view(1, 4, 1, 1) \
        + torch.tensor([0.0, 2.0, -1.0, 0.3]).view(1, 4, 1, 1)
    x = x * torch.tensor([1.0, 2.0, 0.3]).view(3, 1, 1, 1)  # each image its own contrast
    acts = fx.features(fx.tiny_cnn(), fx.photos("cat", "palace"), ["conv2"])["conv2"]
    return [Case((x, 1e-5), "3 images of 4 channels with very different scales"),
            Case((acts, 1e-3), "the conv2 features of two photos, eps 1e-3")]


exercise(
    name="instance_norm", notebook=NOTEBOOK, title="instance normalisation",
    reference=instance_norm, cases=_cases,
    mistakes=(
        Mistake("This is batch normalisation: the statistics were taken over the batch too (dims 0, 2, 3). "
                "Instance norm takes them per image and channel, over the positions only: dims (2, 3).",
                variant=_norm_variant(dims=(0, 2, 3))),
        Mistake("This is layer normalisation: the statistics were taken over all channels (dims 1, 2, 3). "
                "Instance norm takes them per channel: dims (2, 3).", variant=_norm_variant(dims=(1, 2, 3))),
        Mistake("The variance is the unbiased one (divided by n - 1); instance norm uses the biased variance, "
                "x.var(dim=(2, 3), unbiased=False).", variant=_norm_variant(unbiased=True)),
        Mistake("eps goes inside the square root: divide by sqrt(var + eps), not sqrt(var) + eps (it matters "
                "for channels with almost no variance).", variant=_norm_variant(eps_inside=False)),
        Mistake("The mean was not subtracted: each channel should have mean 0 afterwards.",
                variant=_norm_variant(centre=False)),
        Mistake("Only the height (or the width) was used: the statistics are over all positions, dims (2, 3).",
                test=lambda outs, cases: any(all(fx.near(o, _norm_variant(dims=(d,))(*c.args)) for o, c in zip(outs, cases))
                                             for d in (2, 3))),
    ),
)
