"""Pictures of tensors: image grids, filter grids, activation grids, heatmaps, prediction bars.

Figures are built as `matplotlib.figure.Figure` objects without pyplot, so nothing global is
kept and a widget can redraw as often as it likes; notebooks display them (with
`%matplotlib inline`) and scripts save them with `fig.savefig(path)`. The array helpers
(`colorize`, `tile`, `png_bytes`) serve the widgets, which need fast PNG bytes, not figures.
"""

import io
import math

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image


def _rgb_array(image):
    """(H, W, 3) float array in [0, 1] from a tensor (1, 3, H, W) / (3, H, W) or an array."""
    if isinstance(image, torch.Tensor):
        image = image.detach().float().cpu()
        if image.ndim == 4:
            image = image[0]
        image = image.permute(1, 2, 0).numpy()
    return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)


def normalize(values, per_item=False):
    """Scale a tensor or array to [0, 1] (per leading item if `per_item`); constants give 0.5."""
    values = torch.as_tensor(values).detach().float().cpu()
    dims = tuple(range(1, values.ndim)) if per_item else tuple(range(values.ndim))
    low = values.amin(dim=dims, keepdim=True)
    span = values.amax(dim=dims, keepdim=True) - low
    return torch.where(span > 0, (values - low) / span.clamp(min=1e-12), torch.full_like(values, 0.5))


def colorize(values, cmap="viridis", vmin=None, vmax=None):
    """A 2-D map as a (H, W, 3) uint8 RGB array through a matplotlib colormap."""
    values = torch.as_tensor(values).detach().float().cpu().numpy()
    vmin = values.min() if vmin is None else vmin
    vmax = values.max() if vmax is None else vmax
    scaled = (values - vmin) / (vmax - vmin) if vmax > vmin else np.full_like(values, 0.5)
    rgba = matplotlib.colormaps[cmap](np.clip(scaled, 0.0, 1.0))
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def tile(images, ncols=None, pad=1, fill=1.0):
    """Arrange equally sized (H, W, C) arrays in a grid with `pad` pixels of `fill` between them."""
    images = [np.asarray(im) for im in images]
    n = len(images)
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    h, w = images[0].shape[:2]
    channels = images[0].shape[2:] if images[0].ndim == 3 else ()
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, *channels), fill, dtype=images[0].dtype)
    for i, im in enumerate(images):
        r, c = divmod(i, ncols)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = im
    return grid


def png_bytes(array, height=None):
    """PNG bytes of a (H, W, 3) uint8 array, scaled with nearest neighbours to `height` pixels."""
    image = Image.fromarray(array)
    if height and image.height != height:
        image = image.resize((max(1, round(image.width * height / image.height)), height), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _axes_grid(n, ncols, size=2.0, title=None):
    ncols = min(n, ncols)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(size * ncols, size * nrows + (0.4 if title else 0)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig, axes


def show_images(images, titles=None, ncols=4, size=2.5, title=None):
    """A figure with one image (tensor (1, 3, H, W) or (H, W, 3) array) per panel."""
    fig, axes = _axes_grid(len(images), ncols, size, title)
    for i, image in enumerate(images):
        axes[i].imshow(_rgb_array(image))
        if titles:
            axes[i].set_title(titles[i], fontsize=9)
    return fig


def filter_grid(weight, ncols=8, size=0.6, title=None):
    """First-layer filters (C_out, 3, k, k) as small RGB images, each scaled to [0, 1] on its own."""
    weight = torch.as_tensor(weight).detach().float().cpu()
    if weight.ndim != 4 or weight.shape[1] != 3:
        raise ValueError(f"expected RGB filters of shape (C_out, 3, k, k); got {tuple(weight.shape)}")
    filters = normalize(weight, per_item=True).permute(0, 2, 3, 1).numpy()
    fig, axes = _axes_grid(len(filters), ncols, size, title)
    for ax, f in zip(axes, filters):
        ax.imshow(f, interpolation="nearest")
    return fig


def activation_grid(activation, channels=None, ncols=8, size=1.2, cmap="viridis", title=None):
    """Channel maps of one image's activation (1, C, h, w) or (C, h, w), each scaled on its own.

    `channels` picks which to show (default: the first 2 * ncols). Each panel is titled with
    its channel index.
    """
    activation = torch.as_tensor(activation).detach().float().cpu()
    if activation.ndim == 4:
        activation = activation[0]
    channels = list(range(min(len(activation), 2 * ncols))) if channels is None else list(channels)
    fig, axes = _axes_grid(len(channels), ncols, size, title)
    for ax, c in zip(axes, channels):
        ax.imshow(activation[c].numpy(), cmap=cmap, interpolation="nearest")
        ax.set_title(str(c), fontsize=7, pad=2)
    return fig


def overlay(image, heatmap, alpha=0.5, cmap="jet"):
    """An image with a heatmap (h, w), resized to the image, blended on top: (H, W, 3) in [0, 1]."""
    rgb = _rgb_array(image)
    heat = torch.as_tensor(heatmap).detach().float().cpu()
    heat = torch.nn.functional.interpolate(heat[None, None], size=rgb.shape[:2], mode="bilinear",
                                           align_corners=False)[0, 0]
    colored = colorize(heat, cmap).astype(np.float32) / 255.0
    return (1.0 - alpha) * rgb + alpha * colored


def _bars(ax, predictions):
    """Horizontal probability bars, most probable on top, each labelled with its percentage."""
    names = [name for _, name, _ in predictions][::-1]
    probs = [p for _, _, p in predictions][::-1]
    ax.barh(range(len(names)), probs, color="tab:blue")
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlim(0, 1)
    ax.tick_params(axis="x", labelsize=7)
    for y, p in enumerate(probs):
        inside = p > 0.85  # a long bar carries its label inside, in white
        ax.text(p - 0.02 if inside else p + 0.02, y, f"{p:.0%}", va="center", fontsize=7,
                ha="right" if inside else "left", color="white" if inside else "black")


def prediction_bars(predictions, title=None, size=(4.0, 1.8)):
    """Horizontal bars of [(index, name, probability), ...] as `predict` returns them."""
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    _bars(ax, predictions)
    ax.set_xlabel("probability", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def figure_png(fig, dpi=80):
    """PNG bytes of a figure (for ipywidgets.Image)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def show_predictions(images, predictions, size=2.2):
    """One row per image: the image, then bars of its top-k [(index, name, probability), ...]."""
    n = len(images)
    fig = Figure(figsize=(3.2 * size, size * n), layout="constrained")
    axes = fig.subplots(n, 2, squeeze=False, width_ratios=[1, 1.6])
    for (ax_image, ax_bars), image, preds in zip(axes, images, predictions):
        ax_image.imshow(_rgb_array(image))
        ax_image.set_axis_off()
        _bars(ax_bars, preds)
    axes[-1, 1].set_xlabel("probability", fontsize=8)
    return fig


def gradient_image(attribution, percentile=99.5):
    """A signed per-channel attribution (1, 3, H, W) as an RGB array: grey is zero.

    Scaled so that the `percentile` of absolute values reaches the ends of the range: a few
    extreme pixels would otherwise leave the rest grey.
    """
    values = torch.as_tensor(attribution).detach().float().cpu()
    values = values[0] if values.ndim == 4 else values
    scale = torch.quantile(values.abs().flatten(), percentile / 100).clamp(min=1e-12)
    return (0.5 + 0.5 * values / scale).clamp(0, 1).permute(1, 2, 0).numpy()


def heatmap_image(heatmap, cmap="inferno", percentile=99.5):
    """A per-pixel map (H, W) as an RGB array in [0, 1], the top `percentile` saturated."""
    values = torch.as_tensor(heatmap).detach().float().cpu()
    values = values[0] if values.ndim == 3 else values
    vmax = float(torch.quantile(values.flatten(), percentile / 100))
    return colorize(values, cmap, vmin=float(values.min()), vmax=vmax).astype(np.float32) / 255.0


# ---------------------------------------------------------------- feature space (notebook 02)


def _uint8_images(images):
    """(N, H, W, 3) uint8 array from a tensor (N, 3, H, W), uint8 or float in [0, 1]."""
    images = torch.as_tensor(images).detach().cpu()
    if images.dtype != torch.uint8:
        images = (images.float().clamp(0, 1) * 255).round().to(torch.uint8)
    return images.permute(0, 2, 3, 1).numpy()


def thumbnail_map(points, images, labels=None, classes=None, canvas=1100, thumb=30, size=7.5, title=None):
    """The lecture's t-SNE picture: every image drawn as a thumbnail at its 2-D point.

    Args:
        points: (N, 2) coordinates (e.g. from `embedding.tsne`).
        images: (N, 3, H, W) tensor, uint8 or float in [0, 1].
        labels, classes: optional class per image and class names: each thumbnail gets a frame
            in its class's colour and a legend names them.
        canvas: side of the painted picture in pixels; thumb: side of a thumbnail.
    """
    points = torch.as_tensor(points).float()
    pictures = _uint8_images(torch.nn.functional.interpolate(
        torch.as_tensor(images).float() / (255.0 if torch.as_tensor(images).dtype == torch.uint8 else 1.0),
        size=(thumb, thumb), mode="bilinear", antialias=True, align_corners=False))
    low, high = points.min(0).values, points.max(0).values
    scaled = ((points - low) / (high - low).clamp(min=1e-12) * (canvas - thumb)).round().long().numpy()
    painting = np.full((canvas, canvas, 3), 255, dtype=np.uint8)
    colors = matplotlib.colormaps["tab10"]
    for i, (x, y) in enumerate(scaled):
        top = canvas - thumb - y  # t-SNE's y axis points up
        tile_ = pictures[i].copy()
        if labels is not None:
            rgb = (np.array(colors(int(labels[i]) % 10)[:3]) * 255).astype(np.uint8)
            tile_[:2], tile_[-2:], tile_[:, :2], tile_[:, -2:] = rgb, rgb, rgb, rgb
        painting[top: top + thumb, x: x + thumb] = tile_
    fig = Figure(figsize=(size, size), layout="constrained")
    ax = fig.subplots()
    ax.imshow(painting)
    ax.set_axis_off()
    if labels is not None and classes is not None:
        from matplotlib.patches import Patch

        present = sorted(set(int(label) for label in labels))
        ax.legend(handles=[Patch(color=colors(c % 10), label=classes[c]) for c in present],
                  loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    return fig


def neighbor_rows(query, rows, size=1.3, title=None):
    """A grid: one row per space, the query first, then its neighbours with captions.

    Args:
        query: the query image (tensor (1, 3, H, W) / (3, H, W)).
        rows: list of (row title, images (k, 3, H, W), captions list of k str).
    """
    k = max(len(images) for _, images, _ in rows)
    fig = Figure(figsize=(size * (k + 1) + 0.6, size * len(rows) + (0.4 if title else 0.1)),
                 layout="constrained")
    axes = fig.subplots(len(rows), k + 1, squeeze=False)
    query = _uint8_images(torch.as_tensor(query).reshape(1, *query.shape[-3:]))[0]
    for (row_title, images, captions), row_axes in zip(rows, axes):
        for ax in row_axes:
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        row_axes[0].imshow(query)
        row_axes[0].set_ylabel(row_title, fontsize=9)
        row_axes[0].set_title("query", fontsize=8)
        for ax, picture, caption in zip(row_axes[1:], _uint8_images(images), captions):
            ax.imshow(picture)
            ax.set_title(caption, fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def patch_grid(crops_by_channel, display=48, size=None, title=None):
    """Maximally activating patches of one layer: a row per channel, strongest patch first.

    Args:
        crops_by_channel: {channel: float tensor (n, 3, S, S)}, e.g. from `embedding.top_patches`.
        display: pixels per patch in the picture (patches are scaled to it).
    """
    rows = []
    for crops in crops_by_channel.values():
        scaled = torch.nn.functional.interpolate(crops.float(), size=(display, display), mode="bilinear",
                                                 antialias=crops.shape[-1] > display, align_corners=False)
        rows.append(_uint8_images(scaled))
    n = max(len(r) for r in rows)
    grid = tile([p for r in rows for p in r], ncols=n, pad=2, fill=255)
    size = size or (0.55 * n + 0.6, 0.55 * len(rows) + 0.5)
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    ax.imshow(grid)
    ax.set_xticks([])
    ax.set_yticks([2 + display / 2 + i * (display + 2) for i in range(len(rows))],
                  [f"ch {c}" for c in crops_by_channel], fontsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


# ---------------------------------------------------------------- adversarial examples


def perturbation_image(delta, scale=None):
    """A signed change (1, 3, H, W) as an RGB array in [0, 1]: grey is no change.

    `scale` None magnifies so the largest change reaches black or white; returns (array, scale)
    so a title can say how much it was magnified ("x 64").
    """
    values = torch.as_tensor(delta).detach().float().cpu()
    values = values[0] if values.ndim == 4 else values
    if scale is None:
        scale = 0.5 / max(float(values.abs().max()), 1e-12)
    return (0.5 + scale * values).clamp(0, 1).permute(1, 2, 0).numpy(), scale


def adversarial_triptych(image, adversarial, before, after, titles=("image", "adversarial"), size=2.6):
    """Image, magnified change, adversarial image; under the two images their top-k bars.

    `before` and `after` are `predict` results, [(index, name, probability), ...].
    """
    change, scale = perturbation_image(adversarial - image)
    linf = float((adversarial - image).abs().max()) * 255
    fig = Figure(figsize=(3 * size * 1.25, size * 1.75), layout="constrained")
    axes = fig.subplots(2, 3, height_ratios=[1.4, 1])
    pictures = [_rgb_array(image), change, _rgb_array(adversarial)]
    names = [f"{titles[0]}: {before[0][1]}", f"change x {scale:.0f} (max {linf:.1f}/255)",
             f"{titles[1]}: {after[0][1]}"]
    for ax, picture, name in zip(axes[0], pictures, names):
        ax.imshow(picture)
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
    _bars(axes[1, 0], before)
    _bars(axes[1, 2], after)
    axes[1, 1].set_axis_off()
    return fig


def attack_curves(eps_values, success, confidence, title=None, size=(7.5, 2.8)):
    """Success rate and confidence against eps, one line per attack.

    `eps_values`: budgets in pixel units; `success`/`confidence`: {attack name: [value per eps]}.
    """
    fig = Figure(figsize=size, layout="constrained")
    ax_success, ax_conf = fig.subplots(1, 2)
    grey = [e * 255 for e in eps_values]
    for name in success:
        ax_success.plot(grey, success[name], marker="o", label=name)
        ax_conf.plot(grey, confidence[name], marker="o", label=name)
    ax_success.set_ylabel("predictions flipped")
    ax_conf.set_ylabel("mean probability of the\noriginal class")
    for ax in (ax_success, ax_conf):
        ax.set_xlabel("eps (grey levels of 255)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    ax_success.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
