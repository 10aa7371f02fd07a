"""Pictures of tensors: image grids, filter grids, activation grids, heatmaps, prediction bars.

Figures are built as `matplotlib.figure.Figure` objects without pyplot, so nothing global is
kept and a widget can redraw as often as it likes; notebooks display them (with
`%matplotlib inline`) and scripts save them with `fig.savefig(path)`. The array helpers
(`colorize`, `tile`, `png_bytes`) serve the widgets, which need fast PNG bytes, not figures.
"""

import io
import math

import matplotlib
import matplotlib.figure
import numpy as np
import torch
from matplotlib.text import Text
from PIL import Image

from . import _checks

# The PNG text chunk in which a figure shown in a notebook records the height of its smallest
# text, in the PNG's own pixels: the slide test scales it by the size the figure is drawn at on
# the projector (tests/test_browser.py), since the picture alone cannot say how large its text is.
TEXT_PX = "Text-px"


def smallest_text_px(fig):
    """The font size of the smallest text the figure draws, in pixels at its dpi (None: no text).
    Draws the figure first: tick labels get their text only then."""
    fig.draw_without_rendering()
    hidden = set()
    for ax in fig.axes:
        if not ax.axison:  # set_axis_off: its ticks and axis labels are not drawn
            hidden.update(map(id, ax.xaxis.findobj(Text) + ax.yaxis.findobj(Text)))
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if id(t) not in hidden and t.get_visible() and t.get_text().strip()]
    return min(sizes) * fig.dpi / 72 if sizes else None


class Figure(matplotlib.figure.Figure):
    """The figures of this module: matplotlib's, shown in a notebook as a PNG cut to its contents
    (as the inline backend does) that records its smallest text's height (TEXT_PX)."""

    def notebook_png(self):
        size = smallest_text_px(self)
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight",
                     metadata={TEXT_PX: "none" if size is None else f"{size:.2f}"})
        return buffer.getvalue()


def _show_in_notebooks():
    """Register Figure.notebook_png with IPython's PNG formatter, for this class only (the inline
    backend registers matplotlib's Figure, and IPython looks up the exact class first)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(Figure, Figure.notebook_png)


_show_in_notebooks()


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


def _axes_grid(n, ncols, size=2.0, title=None, aspect=1.0, fontsize=None, first_span=1):
    """`aspect`: a panel's height over its width (the images' own, to leave no blank rows).
    `first_span` k > 1: the first panel fills a k x k block at the top left, the others fill the
    remaining places row by row (ncols counts the block's columns too)."""
    if first_span > 1:
        ncols = max(ncols, first_span + 1)
        nrows = first_span + max(0, math.ceil((n - 1 - first_span * (ncols - first_span)) / ncols))
    else:
        ncols = min(n, ncols)
        nrows = math.ceil(n / ncols)
    extra = 0.4 if title else 0
    if fontsize:  # room for one line of panel titles per row
        extra += nrows * fontsize / 50
    fig = Figure(figsize=(size * ncols, size * aspect * nrows + extra), layout="constrained")
    if first_span > 1:
        grid = fig.add_gridspec(nrows, ncols)
        axes = np.array([fig.add_subplot(grid[:first_span, :first_span])]
                        + [fig.add_subplot(grid[r, c]) for r in range(nrows) for c in range(ncols)
                           if r >= first_span or c >= first_span])
    else:
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=fontsize and fontsize + 2)
    return fig, axes


def _aspect(image):
    """Height over width of an image tensor (…, H, W) or array (H, W, …)."""
    shape = tuple(image.shape)
    h, w = shape[-2:] if isinstance(image, torch.Tensor) else shape[:2]
    return h / w


def show_images(images, titles=None, ncols=4, size=2.5, title=None, fontsize=None, aspect=1.0, first_span=1):
    """A figure with one image (tensor (1, 3, H, W) or (H, W, 3) array) per panel.

    size: a panel's width in inches; aspect: a panel's height over its width ("image": the first
    image's own, so that rows of wide images leave no blank bands); fontsize: of the titles
    (None: 9 points, small; 12 or more reads on a projector). first_span: k > 1 draws the first
    image large, over a k x k block of panels at the top left (a photo beside smaller results,
    in a landscape figure); the others fill the places to its right, then the rows below.
    """
    aspect = _aspect(images[0]) if aspect == "image" else aspect
    fig, axes = _axes_grid(len(images), ncols, size, title, aspect, fontsize, first_span)
    for i, image in enumerate(images):
        axes[i].imshow(_rgb_array(image))
        if titles:
            axes[i].set_title(titles[i], fontsize=fontsize or 9)
    return fig


def image_table(rows, row_labels=None, col_labels=None, titles=None, size=2.4, fontsize=13, large_first=False):
    """A table of pictures: `rows` is a list of rows, each a list of images (tensors or arrays).

    Row labels go on the left, column labels above the first row, and `titles` (a list of rows
    of str, or None) above each picture (under the column label in the first row). size: a
    column's width in inches; a row is as high as its first picture needs.

    large_first: each row becomes a block instead, its first picture large (as wide as the row's
    others together) above the others side by side, and the blocks stand side by side: a
    landscape figure for a few rows of three (a query over its two answers). A row label then
    heads its block, and column label c heads picture c of every block.
    """
    if large_first:
        return _image_blocks(rows, row_labels, col_labels, titles, size, fontsize)
    nrows, ncols = len(rows), max(len(r) for r in rows)
    aspect = _aspect(rows[0][0])
    lines = (1 if col_labels else 0) + (max(t.count("\n") + 1 for r in titles for t in r) if titles else 0)
    fig = Figure(figsize=(size * ncols + (1.2 if row_labels else 0),
                          nrows * (size * aspect + lines * fontsize / 60) + 0.2), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c >= len(row):
                continue
            ax.imshow(_rgb_array(row[c]))
            heading = [col_labels[c]] if r == 0 and col_labels else []
            if titles and titles[r][c]:
                heading.append(titles[r][c])
            if heading:
                ax.set_title("\n".join(heading), fontsize=fontsize)
        if row_labels:
            axes[r, 0].set_ylabel(row_labels[r], fontsize=fontsize)
    return fig


def _image_blocks(rows, row_labels, col_labels, titles, size, fontsize, gap=0.25):
    """image_table(large_first=True): per row a block, its first picture above the others."""
    k = max(len(r) for r in rows) - 1
    aspect = _aspect(rows[0][0])

    def heading(r, c):
        lines = [row_labels[r]] if c == 0 and row_labels else []
        lines += [col_labels[c]] if col_labels and col_labels[c] else []
        return "\n".join(lines + ([titles[r][c]] if titles and titles[r][c] else []))

    def count(text):
        return text.count("\n") + 1 if text else 0

    lines = (max(count(heading(r, 0)) for r in range(len(rows)))
             + max(count(heading(r, c)) for r, row in enumerate(rows) for c in range(1, len(row))))
    fig = Figure(figsize=(len(rows) * k * size + (len(rows) - 1) * gap,
                          (k + 1) * size * aspect + lines * fontsize / 60 + 0.2), layout="constrained")
    ratios = ([size] * k + [gap]) * len(rows)
    grid = fig.add_gridspec(2, len(ratios) - 1, width_ratios=ratios[:-1], height_ratios=[k, 1])
    for r, row in enumerate(rows):
        left = r * (k + 1)
        axes = [fig.add_subplot(grid[0, left:left + k])] + [fig.add_subplot(grid[1, left + j]) for j in range(k)]
        for c, (ax, picture) in enumerate(zip(axes, row)):
            ax.imshow(_rgb_array(picture))
            ax.set_axis_off()
            if heading(r, c):
                ax.set_title(heading(r, c), fontsize=fontsize)
    return fig


def heatmap_grid(maps, images=None, titles=None, ncols=3, size=3.2, cmap="inferno", opacity=0.55,
                 shared=False, centered=False, percentile=100.0, label=None, photo=None, fontsize=13):
    """Per-pixel maps, each with a colour bar that gives its values; over the images if given.

    maps: a list of (H, W) or (1, H, W) tensors; images: None, one image for all maps, or one per
    map (tensors (1, 3, H', W'); a map is stretched over its image). shared: one colour scale
    (and one colour bar) for all; centered: the scale is symmetric around zero (use a
    diverging cmap such as "RdBu_r", so white is zero); percentile: values above this
    percentile saturate (100: none). label: what the colour bars measure. photo: an image
    drawn first, in a panel of its own titled "photo".
    """
    maps = [torch.as_tensor(m).detach().float().cpu().reshape(m.shape[-2:]) for m in maps]
    if images is not None and not isinstance(images, (list, tuple)):
        images = [images] * len(maps)

    def limits(values):
        values = values.abs() if centered else values
        top = float(torch.quantile(values.flatten(), percentile / 100)) if percentile < 100 else float(values.max())
        low = -top if centered else min(float(values.min()), 0.0)
        return low, max(top, low + 1e-12)

    common = limits(torch.cat([m.flatten() for m in maps])) if shared else None
    panels = ([None] if photo is not None else []) + list(range(len(maps)))
    aspect = _aspect(maps[0] if images is None else images[0])
    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    width = size * ncols + (0.7 if shared else 0.6 * ncols)
    fig = Figure(figsize=(width, nrows * (size * aspect + (fontsize / 45 if titles else 0.1))),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    shown = []
    for ax, i in zip(axes, panels):
        if i is None:
            ax.imshow(_rgb_array(photo))
            ax.set_title("photo", fontsize=fontsize)
            continue
        heat = maps[i]
        vmin, vmax = common or limits(heat)
        if images is not None:
            rgb = _rgb_array(images[i])
            ax.imshow(rgb)
            extent = (-0.5, rgb.shape[1] - 0.5, rgb.shape[0] - 0.5, -0.5)
            image = ax.imshow(heat.numpy(), cmap=cmap, vmin=vmin, vmax=vmax, alpha=opacity, extent=extent,
                              interpolation="bilinear")
        else:
            image = ax.imshow(heat.numpy(), cmap=cmap, vmin=vmin, vmax=vmax)
        shown.append(image)
        if titles:
            ax.set_title(titles[i], fontsize=fontsize)
        if not shared:
            bar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
            bar.formatter.set_powerlimits((-2, 3))
            bar.ax.tick_params(labelsize=fontsize - 2)
            bar.ax.yaxis.get_offset_text().set_fontsize(fontsize - 2)
            bar.solids.set_alpha(1)
    if shared:
        bar = fig.colorbar(shown[-1], ax=list(axes), shrink=0.9, pad=0.01)
        bar.ax.tick_params(labelsize=fontsize - 2)
        bar.solids.set_alpha(1)
        if label:
            bar.set_label(label, fontsize=fontsize)
    elif label:
        fig.suptitle(f"colour bars: {label}", fontsize=fontsize)
    return fig


def curves(x, series, xlabel=None, ylabel=None, title=None, lines=None, size=(8.5, 3.4), fontsize=13):
    """Line plot of {label: values} against `x`; `lines` {label: y} draws dashed horizontal lines."""
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    x = torch.as_tensor(x).detach().float().cpu().numpy()
    for name, values in series.items():
        ax.plot(x, torch.as_tensor(values).detach().float().cpu().numpy(), marker=".", label=name)
    for name, y in (lines or {}).items():
        ax.axhline(float(y), linestyle="--", color="grey", label=name)
    ax.set_xlabel(xlabel or "", fontsize=fontsize)
    ax.set_ylabel(ylabel or "", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize - 2)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=fontsize - 2)
    if title:
        ax.set_title(title, fontsize=fontsize)
    return fig


def curve_panels(x, panels, xlabel=None, ylabel=None, dashed=(), size=(12.0, 4.6), fontsize=17):
    """Side by side, one line plot per panel: `panels` {panel title: {label: values against x}}.
    Labels in `dashed` are drawn dashed and grey (a control); one legend, beside the last panel."""
    fig = Figure(figsize=size, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    x = torch.as_tensor(x).detach().float().cpu().numpy()
    for ax, (title, series) in zip(axes, panels.items()):
        for name, values in series.items():
            style = dict(linestyle="--", color="grey") if name in dashed else dict(linewidth=2.5)
            ax.plot(x, torch.as_tensor(values).detach().float().cpu().numpy(), label=name, **style)
        ax.set_title(title, fontsize=fontsize)
        ax.set_xlabel(xlabel or "", fontsize=fontsize)
        ax.tick_params(labelsize=fontsize - 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel or "", fontsize=fontsize)
    axes[-1].legend(fontsize=fontsize - 1, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return fig


def score_table(values, row_labels, col_labels, better, size=(12.0, 5.0), fontsize=17):
    """A table of numbers (rows x columns), each cell coloured by its rank in its column: green
    the best, red the worst, as `better` says per column ("lower" or "higher"); equal numbers
    share a colour."""
    values = np.asarray(values, dtype=float)
    # lower is better; as shown, to two decimals: a cell's rank is how many in its column are
    # better, so numbers shown equal share a colour
    signed = values.round(2) * np.array([1.0 if way == "lower" else -1.0 for way in better])
    ranks = (signed[None, :, :] < signed[:, None, :]).sum(1) / max(len(values) - 1, 1)
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    ax.imshow(ranks, cmap="RdYlGn_r", vmin=-0.3, vmax=1.3, aspect="auto")
    for (r, c), value in np.ndenumerate(values):
        ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=fontsize)
    ax.set_xticks(range(len(col_labels)), col_labels, fontsize=fontsize)
    ax.set_yticks(range(len(row_labels)), row_labels, fontsize=fontsize)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    return fig


def filter_grid(weight, ncols=8, size=0.6, title=None):
    """First-layer filters (C_out, 3, k, k) as small RGB images, each scaled on its own and
    symmetrically around zero: mid-grey (0.5, 0.5, 0.5) is a zero weight, and the filter's
    largest |weight| reaches 0 or 1 in its channel."""
    weight = torch.as_tensor(weight).detach().float().cpu()
    if weight.ndim != 4 or weight.shape[1] != 3:
        raise ValueError(f"expected RGB filters of shape (C_out, 3, k, k); got {tuple(weight.shape)}")
    scale = weight.abs().amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-12)
    filters = (0.5 + 0.5 * weight / scale).permute(0, 2, 3, 1).numpy()
    fig, axes = _axes_grid(len(filters), ncols, size, title)
    for ax, f in zip(axes, filters):
        ax.imshow(f, interpolation="nearest")
    return fig


def activation_grid(activation, channels=None, ncols=8, size=1.2, cmap="viridis", title=None,
                    image=None, fontsize=None, scale="own", image_span=1):
    """Channel maps of one image's activation (1, C, h, w) or (C, h, w), each scaled on its own.

    `channels` picks which to show (default: the first 2 * ncols). Each panel is titled with
    its channel index. `image`: the input, drawn first (titled "input") to compare with;
    `image_span` k > 1 draws it large, over a k x k block of panels at the top left, and the maps
    fill the places to its right, then the rows below (ncols counts the block's columns too).
    Panels have the maps' own aspect; fontsize: of the titles (None: 7 points).
    `scale`: each map's colour range: "own" (its minimum to its maximum), "zero" (0 to m, m its
    largest |value|; for maps after a ReLU: the lowest colour is exactly zero) or "symmetric"
    (-m to m; for signed maps with a diverging `cmap` such as "RdBu_r": the middle colour is zero).
    """
    _checks.one_of(scale, "scale", ("own", "zero", "symmetric"))
    activation = torch.as_tensor(activation).detach().float().cpu()
    if activation.ndim == 4:
        activation = activation[0]
    channels = list(range(min(len(activation), 2 * ncols))) if channels is None else list(channels)
    panels = ([None] if image is not None else []) + channels
    aspect = activation.shape[1] / activation.shape[2]
    span = image_span if image is not None else 1
    fig, axes = _axes_grid(len(panels), ncols, size, title, aspect, fontsize, first_span=span)
    for ax, c in zip(axes, panels):
        if c is None:
            ax.imshow(_rgb_array(image), aspect="auto" if span == 1 else "equal")
            ax.set_title("input", fontsize=fontsize or 7, pad=2)
            continue
        values = activation[c].numpy()
        top = float(np.abs(values).max()) or 1.0
        limits = {"own": (None, None), "zero": (0.0, top), "symmetric": (-top, top)}[scale]
        ax.imshow(values, cmap=cmap, interpolation="nearest", vmin=limits[0], vmax=limits[1])
        ax.set_title(f"ch {c}", fontsize=fontsize or 7, pad=2)
    return fig


def overlay(image, heatmap, opacity=0.5, cmap="jet"):
    """An image with a heatmap (h, w), resized to the image, blended on top: (H, W, 3) in [0, 1]."""
    rgb = _rgb_array(image)
    heat = torch.as_tensor(heatmap).detach().float().cpu()
    heat = torch.nn.functional.interpolate(heat[None, None], size=rgb.shape[:2], mode="bilinear",
                                           align_corners=False)[0, 0]
    colored = colorize(heat, cmap).astype(np.float32) / 255.0
    return (1.0 - opacity) * rgb + opacity * colored


def _bars(ax, predictions, fontsize=8):
    """Horizontal probability bars, most probable on top, each labelled with its percentage."""
    names = [name for _, name, _ in predictions][::-1]
    probs = [p for _, _, p in predictions][::-1]
    ax.barh(range(len(names)), probs, color="tab:blue")
    ax.set_yticks(range(len(names)), names, fontsize=fontsize)
    ax.set_xlim(0, 1)
    ax.tick_params(axis="x", labelsize=fontsize - 1)
    for y, p in enumerate(probs):
        inside = p > 0.85  # a long bar carries its label inside, in white
        ax.text(p - 0.02 if inside else p + 0.02, y, f"{p:.0%}", va="center", fontsize=fontsize - 1,
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


def show_predictions(images, predictions, size=2.2, fontsize=8, ncols=1):
    """Each image beside bars of its top-k [(index, name, probability), ...], `ncols` such pairs
    per row (2 for four images: a 2 x 2 grid that fills a slide).

    size: the height of a row in inches (a pair is 2.6 times as wide); fontsize: of the class
    names (12 or more reads on a projector).
    """
    n = len(images)
    ncols = _checks.positive_int(ncols, "ncols")
    nrows = -(-n // ncols)
    fig = Figure(figsize=(2.6 * size * ncols + 0.6 * ncols, size * nrows), layout="constrained")
    axes = fig.subplots(nrows, 2 * ncols, squeeze=False, width_ratios=[1, 1.6] * ncols)
    for k in range(nrows * ncols):
        ax_image, ax_bars = axes[k // ncols, 2 * (k % ncols)], axes[k // ncols, 2 * (k % ncols) + 1]
        if k >= n:
            ax_image.set_axis_off(), ax_bars.set_axis_off()
            continue
        ax_image.imshow(_rgb_array(images[k]))
        ax_image.set_axis_off()
        _bars(ax_bars, predictions[k], fontsize)
        if k + ncols >= n:  # the lowest chart of its column
            ax_bars.set_xlabel("probability", fontsize=fontsize)
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


def thumbnail_map(points, images, labels=None, classes=None, canvas=1100, thumb=30, size=7.5, title=None,
                  fontsize=8):
    """The lecture's t-SNE picture: every image drawn as a thumbnail at its 2-D point.

    Args:
        points: (N, 2) coordinates (e.g. from `embedding.tsne`).
        images: (N, 3, H, W) tensor, uint8 or float in [0, 1].
        labels, classes: optional class per image and class names: each thumbnail gets a frame
            in its class's colour and a legend names them.
        canvas: side of the painted picture in pixels; thumb: side of a thumbnail.
        fontsize: of the legend (the title is 2 points larger).
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
                  loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=fontsize, frameon=False)
    if title:
        ax.set_title(title, fontsize=fontsize + 2)
    return fig


def neighbor_rows(query, rows, size=1.3, title=None, fontsize=None):
    """A grid: one row per space, the query first, then its neighbours with captions.

    Args:
        query: the query image (tensor (1, 3, H, W) / (3, H, W)).
        rows: list of (row title, images (k, 3, H, W), captions list of k str).
        fontsize: of the captions (None: 7 points; row titles and the title are larger).
    """
    small = fontsize or 7
    k = max(len(images) for _, images, _ in rows)
    extra = small / 20 if fontsize else 0.0  # room for larger captions and row titles
    fig = Figure(figsize=(size * (k + 1) + 0.6 + extra, (size + extra / 1.5) * len(rows) + (0.4 if title else 0.1)),
                 layout="constrained")
    axes = fig.subplots(len(rows), k + 1, squeeze=False)
    query = _uint8_images(torch.as_tensor(query).reshape(1, *query.shape[-3:]))[0]
    for (row_title, images, captions), row_axes in zip(rows, axes):
        for ax in row_axes:
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        row_axes[0].imshow(query)
        row_axes[0].set_ylabel(row_title, fontsize=small + 2)
        row_axes[0].set_title("query", fontsize=small + 1)
        for ax, picture, caption in zip(row_axes[1:], _uint8_images(images), captions):
            ax.imshow(picture)
            ax.set_title(caption, fontsize=small)
    if title:
        fig.suptitle(title, fontsize=small + 3 if fontsize else None)
    return fig


def patch_grid(crops_by_channel, display=48, size=None, title=None, fontsize=12):
    """Maximally activating patches of one layer: a row per channel, strongest patch first.

    Args:
        crops_by_channel: {channel: float tensor (n, 3, S, S)}, e.g. from `embedding.top_patches`,
            or a list of (row label, crops) pairs; an int label reads "ch N", a str label as it is.
        display: pixels per patch in the picture (patches are scaled to it); the figure is
            sized so that a patch takes about `display` pixels at 100 dpi.
    """
    items = list(crops_by_channel.items() if isinstance(crops_by_channel, dict) else crops_by_channel)
    rows = []
    for _, crops in items:
        scaled = torch.nn.functional.interpolate(crops.float(), size=(display, display), mode="bilinear",
                                                 antialias=crops.shape[-1] > display, align_corners=False)
        rows.append(_uint8_images(scaled))
    n = max(len(r) for r in rows)
    grid = tile([p for r in rows for p in r], ncols=n, pad=2, fill=255)
    side = (display + 2) / 100
    size = size or (side * n + 0.2 + fontsize / 10, side * len(rows) + (0.5 if title else 0.1))
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    ax.imshow(grid)
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0)
    ax.set_yticks([2 + display / 2 + i * (display + 2) for i in range(len(rows))],
                  [c if isinstance(c, str) else f"ch {c}" for c, _ in items], fontsize=fontsize)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
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


def adversarial_triptych(image, adversarial, before, after, titles=("image", "adversarial"), size=3.0,
                         change=None, change_title=None, fontsize=13):
    """Image, change, adversarial image; under the two images their top-k bars.

    `before` and `after` are `predict` results, [(index, name, probability), ...]; the titles
    name each image's top class and its probability. `change` None shows adversarial - image,
    magnified so that its largest value is black or white; or give the middle picture (an
    image, e.g. the gradient's sign as the lecture's panda figure shows it) and its title.
    """
    if change is None:
        change, scale = perturbation_image(adversarial - image)
        linf = float((adversarial - image).abs().max()) * 255
        change_title = change_title or f"change x {scale:.0f}\n(at most {linf:.1f}/255)"
    else:
        change = _rgb_array(change)
    fig = Figure(figsize=(3 * size * 1.15, size * 1.35), layout="constrained")
    axes = fig.subplots(2, 3, height_ratios=[2, 1])
    pictures = [_rgb_array(image), change, _rgb_array(adversarial)]
    names = [f"{titles[0]}:\n{before[0][1]} ({before[0][2]:.0%})", change_title or "",
             f"{titles[1]}:\n{after[0][1]} ({after[0][2]:.0%})"]
    for ax, picture, name in zip(axes[0], pictures, names):
        ax.imshow(picture)
        ax.set_title(name, fontsize=fontsize)
        ax.set_axis_off()
    _bars(axes[1, 0], before, fontsize - 1)
    _bars(axes[1, 2], after, fontsize - 1)
    axes[1, 1].set_axis_off()
    return fig


def attack_curves(eps_values, success, confidence, title=None, size=(9.0, 3.4), fontsize=12):
    """Success rate and confidence against eps (a log axis), one line per attack.

    `eps_values`: budgets in pixel units; `success`/`confidence`: {attack name: [value per eps]}.
    """
    fig = Figure(figsize=size, layout="constrained")
    ax_success, ax_conf = fig.subplots(1, 2)
    grey = [e * 255 for e in eps_values]
    for name in success:
        ax_success.plot(grey, success[name], marker="o", label=name)
        ax_conf.plot(grey, confidence[name], marker="o", label=name)
    ax_success.set_ylabel("predictions flipped", fontsize=fontsize)
    ax_conf.set_ylabel("mean probability of the\noriginal class", fontsize=fontsize)
    for ax in (ax_success, ax_conf):
        ax.set_xscale("log")
        ax.set_xticks(grey, [f"{g:g}" for g in grey])
        ax.minorticks_off()
        ax.set_xlabel("eps (grey levels of 255)", fontsize=fontsize)
        ax.tick_params(labelsize=fontsize - 2)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    ax_success.legend(fontsize=fontsize - 2)
    if title:
        fig.suptitle(title, fontsize=fontsize + 1)
    return fig


def large_beside_small(small, large, small_titles=None, large_titles=None, size=1.8, large_height=None,
                       fontsize=14):
    """Small pictures in a grid on the left, one or more large ones side by side on the right.

    For a result beside its inputs (style transfer: the content photo and the style image
    stacked small, the result large), a landscape figure that fills a slide.

    Args:
        small: the small pictures, a list of rows (each a list of images, or one image: a row of
            one); None in a row leaves its place empty.
        large: one image or a list of them, side by side, each `large_height` inches high.
        small_titles, large_titles: str above each picture, shaped like `small` and `large`.
        size: a small row's picture height in inches; a small column is as wide as its widest
            picture at that height.
        large_height: the large pictures' height in inches (None: the small rows' together).
        fontsize: of every title.
    """
    small = [list(row) if isinstance(row, (list, tuple)) else [row] for row in small]
    large = list(large) if isinstance(large, (list, tuple)) else [large]
    if small_titles is not None:
        small_titles = [list(r) if isinstance(r, (list, tuple)) else [r] for r in small_titles]
    if large_titles is not None and isinstance(large_titles, str):
        large_titles = [large_titles]
    nrows, ncols = len(small), max(len(row) for row in small)
    title = fontsize / 72 * 1.5  # inches: one line of title and its gap
    small_lines = max((t.count("\n") + 1 for row in small_titles or [] for t in row if t), default=0)
    large_lines = max((t.count("\n") + 1 for t in large_titles or [] if t), default=0)
    large_height = large_height or nrows * size + (nrows - 1) * small_lines * title
    col_widths = [size * max(1 / _aspect(row[c]) for row in small if c < len(row) and row[c] is not None)
                  for c in range(ncols)]
    large_widths = [large_height / _aspect(image) for image in large]
    height = max(nrows * (size + small_lines * title), large_height + large_lines * title) + 0.1
    fig = Figure(figsize=(sum(col_widths) + sum(large_widths) + 0.15 * (ncols + len(large)), height),
                 layout="constrained")
    grid = fig.add_gridspec(nrows, ncols + len(large), width_ratios=col_widths + large_widths)
    for r, row in enumerate(small):
        for c, image in enumerate(row):
            if image is None:
                continue
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(_rgb_array(image))
            ax.set_axis_off()
            if small_titles and small_titles[r][c]:
                ax.set_title(small_titles[r][c], fontsize=fontsize)
    for j, image in enumerate(large):
        ax = fig.add_subplot(grid[:, ncols + j])
        ax.imshow(_rgb_array(image))
        ax.set_axis_off()
        if large_titles and large_titles[j]:
            ax.set_title(large_titles[j], fontsize=fontsize)
    return fig
