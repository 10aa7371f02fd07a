"""Is a map faithful? Take pixels away in the map's order and follow the class probability.

A map is faithful when the pixels it ranks first are the ones the model needs. Three tests of
that, each a curve of the target's probability (softmax) against the share of pixels changed:

- `deletion` (Petsiuk, Das and Saenko 2018): replace the most relevant pixels first by a
  baseline; a faithful map makes the probability fall fast (small area under the curve);
- `insertion` (same paper): start from the baseline and put the most relevant pixels back
  first; a faithful map makes the probability rise fast (large area);
- `road` (Rong et al. 2022, "Remove and debias"): remove pixels most relevant first (MoRF,
  should fall fast) or least relevant first (LeRF, should stay high), filling them by noisy
  linear imputation, each from its neighbours, so that the holes' shape gives the class away less
  than a grey or blurred patch does.

The baseline of deletion and insertion is the photo blurred (sigma 5 px, as Petsiuk et al.'s
insertion) by default, or its mean colour. Pixels the map ranks equal are taken in a random
(seeded) order, not top to bottom. `map` is (N, H, W), or (N, 3, H, W) per channel (reduced with
`attribution.as_heatmap`). Nothing here changes the model.
"""

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import spsolve

from . import _checks, attribution, images
from .attribution import as_heatmap
from .images import gaussian_blur

STEPS = 32  # points of a deletion or insertion curve after the start (Petsiuk et al. take 224)
ROAD_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # as the ROAD paper's figures
BASELINES = ("blur", "mean")
BLUR_SIGMA = 5.0
# Noisy linear imputation: each removed pixel is the weighted mean of its 8 neighbours (edge
# neighbours 1/6, corner ones 1/12), plus Gaussian noise of this size (ROAD's defaults).
NEIGHBOURS = [((0, 1), 1 / 6), ((0, -1), 1 / 6), ((1, 0), 1 / 6), ((-1, 0), 1 / 6),
              ((1, 1), 1 / 12), ((1, -1), 1 / 12), ((-1, 1), 1 / 12), ((-1, -1), 1 / 12)]
ROAD_NOISE = 0.01


class Curve(NamedTuple):
    """`probabilities` (N, len(fractions)): the target's probability after the share `fractions`
    of the pixels was changed. `area` (N,): the mean probability over the fractions (the
    trapezoid rule's area under the curve divided by the fractions' range)."""
    fractions: torch.Tensor
    probabilities: torch.Tensor

    @property
    def area(self):
        span = self.fractions[-1] - self.fractions[0]
        return torch.trapezoid(self.probabilities, self.fractions, dim=1) / span


def _inputs(model, image, target, map):
    image = _checks.images(image, "image").to(model.device)
    targets = _checks.class_indices(model, target, len(image), "target").to(model.device)
    if not torch.is_tensor(map) or not map.dtype.is_floating_point:
        raise TypeError(f"map must be a float tensor (N, H, W) or (N, 3, H, W); got {type(map).__name__}")
    if map.ndim == 4 and map.shape[1] == 3:
        map = as_heatmap(map)
    if map.ndim != 3 or tuple(map.shape) != (len(image), *image.shape[-2:]):
        raise ValueError(f"map must have the image's shape, (N, H, W) = {(len(image), *image.shape[-2:])} or "
                         f"(N, 3, H, W) per channel; got {tuple(map.shape)}")
    if not torch.isfinite(map).all():
        raise ValueError("map has NaN or infinite values")
    return image, targets, map.detach().to(model.device)


def _probabilities(model, images, target, batch_size):
    with torch.no_grad():
        return torch.cat([model(images[i:i + batch_size]).softmax(1)[:, target]
                          for i in range(0, len(images), batch_size)])


def ranking(map, seed=0):
    """Pixel indices of each (H, W) map of `map` (N, H, W), flattened, most relevant first; pixels
    of equal relevance in a random order drawn from `seed`."""
    n, h, w = map.shape
    generator = _checks.seed(seed)
    order = []
    for values in map.reshape(n, h * w).cpu():
        shuffle = torch.randperm(h * w, generator=generator)
        order.append(shuffle[values[shuffle].argsort(descending=True, stable=True)])
    return torch.stack(order)


def _baseline(image, baseline):
    _checks.one_of(baseline, "baseline", BASELINES)
    if baseline == "blur":
        return gaussian_blur(image, BLUR_SIGMA)
    return image.mean(dim=(2, 3), keepdim=True).expand_as(image)


def _curve(model, image, target, map, steps, baseline, batch_size, seed, insert):
    image, targets, map = _inputs(model, image, target, map)
    steps = _checks.positive_int(steps, "steps")
    fill = _baseline(image, baseline)
    n, _, h, w = image.shape
    counts = torch.linspace(0, h * w, steps + 1).round().long().to(image.device)
    order = ranking(map, seed).to(image.device)
    rows = []
    for i in range(n):
        # position[p] = when pixel p is taken: changed at step k when position < counts[k]
        position = torch.empty(h * w, dtype=torch.long, device=image.device)
        position[order[i]] = torch.arange(h * w, device=image.device)
        start, end = (fill[i], image[i]) if insert else (image[i], fill[i])
        row = []
        for first in range(0, steps + 1, batch_size):  # a batch's images at a time: memory for one batch only
            taken = (position[None] < counts[first:first + batch_size, None]).view(-1, 1, h, w)
            row.append(_probabilities(model, torch.where(taken, end, start), targets[i], batch_size))
        rows.append(torch.cat(row))
    return Curve(counts.cpu().float() / (h * w), torch.stack(rows).cpu())


def deletion(model, image, target, map, steps=STEPS, baseline="blur", batch_size=8, seed=0):
    """The deletion curve: the target's probability as the map's most relevant pixels are
    replaced by the baseline, `steps` equal shares at a time. A `Curve`; lower area is better."""
    return _curve(model, image, target, map, steps, baseline, batch_size, seed, insert=False)


def insertion(model, image, target, map, steps=STEPS, baseline="blur", batch_size=8, seed=0):
    """The insertion curve: from the baseline, the map's most relevant pixels put back first,
    `steps` equal shares at a time. A `Curve`; higher area is better."""
    return _curve(model, image, target, map, steps, baseline, batch_size, seed, insert=True)


def impute(image, removed, noise=ROAD_NOISE, seed=None):
    """Noisy linear imputation (Rong et al. 2022): the pixels of `image` (3, H, W) where
    `removed` (H, W, bool) is true, each set to the weighted mean of its 8 neighbours (solved for
    all removed pixels at once, a sparse linear system), plus Gaussian noise of std `noise`."""
    c, h, w = image.shape
    removed = removed.cpu().numpy().reshape(-1)
    pixels = image.detach().cpu().double().numpy().reshape(c, -1)
    missing = np.flatnonzero(removed)
    if missing.size == 0:
        return image.clone()
    unknown = np.full(h * w, -1)
    unknown[missing] = np.arange(missing.size)
    rows, cols, values = [np.arange(missing.size)], [np.arange(missing.size)], []
    diagonal = np.zeros(missing.size)
    rhs = np.zeros((missing.size, c))
    y, x = np.divmod(missing, w)
    for (dy, dx), weight in NEIGHBOURS:
        inside = (y + dy >= 0) & (y + dy < h) & (x + dx >= 0) & (x + dx < w)
        me, other = np.flatnonzero(inside), (y + dy) * w + (x + dx)
        other = other[inside]
        diagonal[me] -= weight
        free = removed[other]
        rows.append(me[free]), cols.append(unknown[other[free]])
        values.append(np.full(free.sum(), weight))
        rhs[me[~free]] -= weight * pixels[:, other[~free]].T
    matrix = coo_matrix((np.concatenate([diagonal] + values), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(missing.size, missing.size)).tocsc()
    solved = torch.from_numpy(spsolve(matrix, rhs).reshape(missing.size, c)).float()
    noise_draw = torch.randn(c, missing.size, generator=_checks.seed(seed))
    out = image.detach().cpu().reshape(c, -1).clone()
    out[:, missing] = solved.t() + noise * noise_draw
    return out.reshape(c, h, w).to(image.device)


def road(model, image, target, map, most_relevant_first=True, fractions=ROAD_FRACTIONS, noise=ROAD_NOISE,
         seed=0):
    """ROAD (Rong et al. 2022): the target's probability after the share `fraction` of the pixels,
    most relevant first (MoRF; lower is better) or least relevant first (LeRF; higher is better),
    was removed by `impute`. A pixel counts as removed when its map value (scaled to [0, 1]; for
    LeRF, 1 minus it) reaches the map's (1 - fraction) quantile, as the paper's code has it.
    Returns a `Curve` over `fractions`, with the unchanged image's probability first (fraction 0)."""
    image, targets, map = _inputs(model, image, target, map)
    fractions = [_checks.number(f, "fraction", 0, 1, open_low=True, open_high=True) for f in fractions]
    rows = []
    for i in range(len(image)):
        m = map[i] - map[i].min()
        m = (m / m.max().clamp(min=1e-12)).cpu().numpy().astype(np.float32)
        m = m if most_relevant_first else 1 - m
        filled = [image[i]]
        for k, fraction in enumerate(fractions):
            removed = m >= np.percentile(m, 100 * (1 - fraction))
            filled.append(impute(image[i], torch.from_numpy(removed), noise,
                                 None if seed is None else seed + k))
        rows.append(_probabilities(model, torch.stack(filled), targets[i], len(filled)))
    return Curve(torch.tensor([0.0, *fractions]), torch.stack(rows).cpu())


# ------------------------------------------------------------- the table notebook 03 shows

TABLE_FILE = "faithfulness.json"
TABLE_PHOTOS = ("cat", "espresso", "daisy", "palace", "rocket")  # bundled photos, each its top class
# The metrics of `areas`: their names in figures, and which way is better
METRICS = {"deletion": ("deletion", "lower"), "insertion": ("insertion", "higher"),
           "road_morf": ("ROAD MoRF", "lower"), "road_lerf": ("ROAD LeRF", "higher")}
RANDOM = "random order"  # the control: a map of uniform noise


def areas(model, image, target, map, seed=0):
    """The four metrics' areas for one map: {metric: (N,) tensor} (`METRICS` says which way is better)."""
    return {"deletion": deletion(model, image, target, map, seed=seed).area,
            "insertion": insertion(model, image, target, map, seed=seed).area,
            "road_morf": road(model, image, target, map, True, seed=seed).area,
            "road_lerf": road(model, image, target, map, False, seed=seed).area}


def build_table(model, out=None, photos=TABLE_PHOTOS, progress=True):
    """Every method of `attribution.METHODS` (at its defaults; SmoothGrad's noise seeded) and the
    random-order control on `photos` (centre 224 px squares, each for the model's top class),
    scored by `areas`; saved as JSON to `out` (default data/faithfulness.json), atomically.
    Returns the path. Used by `python -m lecture_utils faithfulness` (about 5 minutes on 2 cores):
    notebook 03 reads the table, since computing it there would take longer than a notebook may."""
    out = Path(out) if out else images.DATA_DIR / TABLE_FILE
    batch = torch.cat([images.center_square(images.load_image(name), 224) for name in photos]).to(model.device)
    with torch.no_grad():
        targets = model(batch).argmax(1)
    maps = {name: attribution.attribute(model, name, batch, targets, seed=0) for name in attribution.METHODS}
    maps[RANDOM] = torch.rand(batch.shape[0], *batch.shape[2:], generator=torch.Generator().manual_seed(0))
    table = {"model": model.name, "photos": dict(zip(photos, (model.categories[t] for t in targets))),
             "settings": {"steps": STEPS, "baseline": "blur", "blur_sigma": BLUR_SIGMA,
                          "road_fractions": list(ROAD_FRACTIONS), "road_noise": ROAD_NOISE, "seed": 0},
             "areas": {}}
    for name, map in maps.items():
        scores = areas(model, batch, targets, map)
        table["areas"][name] = {photo: {metric: round(float(scores[metric][i]), 4) for metric in METRICS}
                                for i, photo in enumerate(photos)}
        if progress:
            print(f"{name}: done", flush=True)
    with _checks.atomic_path(out) as partial:
        Path(partial).write_text(json.dumps(table, indent=1) + "\n")
    return out


def load_table(path=None):
    """The table `build_table` wrote (default data/faithfulness.json), as a dict."""
    path = Path(path) if path else images.DATA_DIR / TABLE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no faithfulness table at {path}; make it with `python -m lecture_utils faithfulness`")
    return json.loads(path.read_text())
