"""Notebook 09: the content loss, Gatys et al.'s style loss of one layer, colour preservation."""

import torch

from . import _fixtures as fx
from ._core import Case, Mistake, exercise
from ..style import rgb_to_yiq, yiq_to_rgb

NOTEBOOK = "09_style_transfer"


# --- content loss -------------------------------------------------------------------------------

def content_loss(content_weight, features, target_features):
    """content_weight * sum of the squared differences between the features of the image and
    those of the content photo (both (1, C, H, W)). Returns a number (a 0-dim tensor)."""
    return content_weight * (features - target_features).pow(2).sum()


def _content_cases():
    model = fx.tiny_cnn()
    noise = (0.5 + 0.1 * fx.randn(1, 3, *fx.SIZE, seed=16)).clamp(0, 1)
    mine = fx.features(model, noise, ["conv3"])["conv3"].requires_grad_(True)
    target = fx.features(model, fx.photo("palace"), ["conv3"])["conv3"]
    cat = fx.features(model, fx.photo("cat"), ["conv2"])["conv2"].requires_grad_(True)
    palace = fx.features(model, fx.photo("palace"), ["conv2"])["conv2"]
    return [Case((0.05, mine, target), "noise against a palace at conv3, weight 0.05"),
            Case((2.0, cat, palace), "a cat against a palace at conv2, weight 2")]


exercise(
    name="content_loss", notebook=NOTEBOOK, title="the content loss",
    reference=content_loss, kind="scalar", graph=True, cases=_content_cases,
    mistakes=(
        Mistake("The content weight is missing: multiply the sum by content_weight.",
                variant=lambda w, f, t: (f - t).pow(2).sum()),
        Mistake("This is the mean of the squared differences; the content loss is their SUM.",
                variant=lambda w, f, t: w * (f - t).pow(2).mean()),
        Mistake("This is the norm ||F - P||, not its square: .pow(2).sum(), no square root.",
                variant=lambda w, f, t: w * (f - t).norm()),
        Mistake("The differences are not squared: sum (F - P) ** 2 (absolute values are a different loss).",
                variant=lambda w, f, t: w * (f - t).abs().sum()),
    ),
)


# --- Gatys et al.'s style loss of one layer -------------------------------------------------------

def style_loss(features, style_features):
    """Gatys et al.'s style loss at one layer: E = ||G - A||^2 / (4 N^2 M^2), with G and A the
    UN-normalised Gram matrices (F F^T, (N, N)) of the image's and the style's features (both
    (1, N, H, W): N channels, M = H * W positions). Returns a number (a 0-dim tensor)."""
    _, n, h, w = features.shape
    f, s = features.reshape(n, h * w), style_features.reshape(n, h * w)
    g, a = f @ f.T, s @ s.T
    return (g - a).pow(2).sum() / (4 * n ** 2 * (h * w) ** 2)


def _style_variant(gram, scale, difference_first=False):
    def variant(features, style_features):
        _, n, h, w = features.shape
        f, s = features.reshape(n, h * w), style_features.reshape(n, h * w)
        if difference_first:
            d = f - s
            return (d @ d.T).pow(2).sum() * scale(n, h * w)
        return (gram(f) - gram(s)).pow(2).sum() * scale(n, h * w)
    return variant


plain = lambda f: f @ f.T  # noqa: E731
gatys = lambda n, m: 1 / (4 * n ** 2 * m ** 2)  # noqa: E731


def _style_cases():
    model = fx.tiny_cnn()
    noise = (0.5 + 0.1 * fx.randn(1, 3, *fx.SIZE, seed=17)).clamp(0, 1)
    return [Case((fx.features(model, noise, ["conv2"])["conv2"].requires_grad_(True),
                  fx.features(model, fx.photo("cafe_terrace"), ["conv2"])["conv2"]), "noise against a painting at conv2"),
            Case((fx.features(model, fx.photo("palace"), ["conv1"])["conv1"].requires_grad_(True),
                  fx.features(model, fx.photo("church_auvers"), ["conv1"])["conv1"]), "a palace against a painting at conv1")]


exercise(
    name="style_loss", notebook=NOTEBOOK, title="Gatys et al.'s style loss of one layer",
    reference=style_loss, kind="scalar", graph=True, cases=_style_cases,
    mistakes=(
        Mistake("The factor 1 / (4 N^2 M^2) is missing (N channels, M = H * W positions).",
                variant=_style_variant(plain, lambda n, m: 1.0)),
        Mistake("These Gram matrices were already averaged over the positions, and then divided by 4 N^2 M^2 "
                "too: Gatys et al. use the plain F F^T here.",
                variant=_style_variant(lambda f: f @ f.T / f.shape[1], gatys)),
        Mistake("The factor is 1 / (4 N^2 M^2), with both N and M squared; this divides by 4 N M.",
                variant=_style_variant(plain, lambda n, m: 1 / (4 * n * m))),
        Mistake("This is the Gram matrix of the DIFFERENCE of the features. The style loss compares the two "
                "Gram matrices: G(image) - G(style), then squares.",
                variant=_style_variant(plain, gatys, difference_first=True)),
        Mistake("This is the norm ||G - A||, not its square.",
                variant=lambda f, s: (_style_variant(plain, lambda n, m: 1.0)(f, s)).sqrt() * gatys(f.shape[1], f.shape[2] * f.shape[3])),
    ),
)


# --- colour preservation ------------------------------------------------------------------------

def preserve_colors(stylized, content):
    """The luminance (Y of YIQ) of `stylized` with the colours (I and Q) of `content`, back in
    RGB and clipped to [0, 1]. Both (1, 3, H, W); `rgb_to_yiq` and `yiq_to_rgb` convert."""
    y = rgb_to_yiq(stylized)[:, :1]
    iq = rgb_to_yiq(content)[:, 1:]
    return yiq_to_rgb(torch.cat([y, iq], dim=1)).clamp(0, 1)


def _colour_cases():
    return [Case((fx.photo("cafe_terrace"), fx.photo("palace")), "a painting's pixels with a palace's colours"),
            Case((fx.photo("church_auvers", (24, 24)), fx.photo("daisy", (24, 24))), "a painting with a daisy's colours")]


def _mixed(luma_from, i_from, q_from):
    def variant(stylized, content):
        images = {"s": rgb_to_yiq(stylized), "c": rgb_to_yiq(content)}
        yiq = torch.cat([images[luma_from][:, :1], images[i_from][:, 1:2], images[q_from][:, 2:]], dim=1)
        return yiq_to_rgb(yiq).clamp(0, 1)
    return variant


exercise(
    name="preserve_colors", notebook=NOTEBOOK, title="colour preservation",
    reference=preserve_colors, cases=_colour_cases,
    mistakes=(
        Mistake("The roles are swapped: the LUMINANCE (Y) comes from the stylised image, the colours (I, Q) from "
                "the content.", variant=_mixed("c", "s", "s")),
        Mistake("This is still YIQ: convert back to RGB with yiq_to_rgb before returning.",
                test=lambda outs, cases: all(fx.near(o, torch.cat([rgb_to_yiq(c.args[0])[:, :1], rgb_to_yiq(c.args[1])[:, 1:]], 1))
                                             for o, c in zip(outs, cases))),
        Mistake("Some values are outside [0, 1]: clip the RGB result, .clamp(0, 1) (YIQ's mixtures can leave "
                "the RGB cube).",
                test=lambda outs, cases: any(float(o.min()) < 0 or float(o.max()) > 1 for o in outs)),
        Mistake("Only one of the two colour channels comes from the content: take both I and Q (channels 1 and 2).",
                test=lambda outs, cases: any(all(fx.near(o, v(*c.args)) for o, c in zip(outs, cases))
                                             for v in (_mixed("s", "c", "s"), _mixed("s", "s", "c")))),
        Mistake("This is the plain RGB luminance mix (channel 0 of RGB is red, not Y). Convert with rgb_to_yiq "
                "first: Y is channel 0 of YIQ.",
                variant=lambda s, c: torch.cat([s[:, :1], c[:, 1:]], dim=1)),
    ),
)
