"""The unit atlas: for every unit of four layers of the bundled network, its channel image and
the nine photo patches that excite it most (the Deep Visualization Toolbox's and OpenAI
Microscope's two views of a unit, precomputed).

The atlas ships in `data/atlas/` and is read with `layers()`, `channel_images(layer)` (one
unit's: `unit_image(layer, channel)`) and `unit_patches(layer, channel)`. `python -m
lecture_utils atlas` rebuilds it (resumable): channel images by `optimize.channel_image` at the
recipe's defaults but `SIZE` px, and top patches from `CROPS_PER_PHOTO` random crops of each
photo of `photos()`, each patch the exact receptive field (`embedding.receptive_field`) of the
unit's strongest position in its crop.

    >>> atlas.channel_images("stage4").shape    # (80, 3, 128, 128), unit order
    >>> patches, images = atlas.unit_patches("stage4", 17)
"""

from functools import lru_cache
import hashlib
import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image
import torch

from . import _checks
from .activations import get_activations
from .datasets import cache_dir, gcompris_files, gcompris_photos
from .embedding import Patch, model_fingerprint, receptive_field
from .images import DATA_DIR, bundled_images, center_square, load_image
from . import optimize

LAYERS = ("stage3", "stage4", "stage5", "stage6")
SIZE = 128  # side of the channel images (the recipe's 224 would take about 3x as long)
CROP_SIZE = 224  # crops are shown to the network at its own size
PATCH_SIZE = 64  # side of a stored patch
TOP = 9  # patches per unit, each from a different photo
CROPS_PER_PHOTO = 8
PHOTO_SIDE = 320  # photos are scaled to this shorter side before cropping
COLUMNS = 16  # channel images per row of a layer's sprite
QUALITY = 90  # JPEG quality of the sprites
PHOTO_INSTALL = ("sudo apt-get install mate-backgrounds plasma-workspace-wallpapers ukui-wallpapers "
                 "lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 gcompris-qt-data  (or: make heldout)")


def folder():
    """Where the atlas lives: `data/atlas/` beside the bundled images."""
    return DATA_DIR / "atlas"


# ---------------------------------------------------------------- reading


@lru_cache(maxsize=None)
def _manifest(where):
    path = Path(where) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"no unit atlas in {where} (no manifest.json); build it with: "
                                f"python -m lecture_utils atlas")
    return json.loads(path.read_text())


def manifest(where=None):
    """The atlas's manifest: model, sizes, {layer: units}, photos, crops and file fingerprints."""
    return _manifest(str(where or folder()))


def layers(where=None):
    """The atlas's layers, shallow to deep."""
    return list(manifest(where)["layers"])


def _check_layer(layer, where):
    units = manifest(where)["layers"]
    if layer not in units:
        raise ValueError(f"the atlas has no layer {layer!r}; it holds: {', '.join(units)}")
    return units[layer]


def _tiles(path, count, side, columns):
    """The first `count` tiles of a JPEG sheet, as uint8 (count, 3, side, side): a quarter of
    the memory of floats, which the readers make of the few tiles asked for."""
    with Image.open(path) as image:
        sheet = np.asarray(image.convert("RGB"))  # (rows * side, columns * side, 3)
    rows = math.ceil(count / columns)
    tiles = sheet[:rows * side, :columns * side].reshape(rows, side, columns, side, 3)
    return torch.from_numpy(np.ascontiguousarray(tiles.transpose(0, 2, 4, 1, 3)).reshape(-1, 3, side, side)[:count])


@lru_cache(maxsize=2)  # the layers in use; each holds its tiles as uint8
def _channel_images(where, layer):
    m = manifest(where)
    return _tiles(Path(where) / f"{layer}.channels.jpg", m["layers"][layer], m["size"], COLUMNS)


def channel_images(layer, where=None):
    """Every unit's channel image of `layer`: a float tensor (C, 3, SIZE, SIZE) in [0, 1],
    in unit order."""
    _check_layer(layer, where)
    return _channel_images(str(where or folder()), layer).float() / 255


def unit_image(layer, channel, where=None):
    """One unit's channel image (`channel` of `layer`): (3, SIZE, SIZE) in [0, 1]. Only this
    unit's tile becomes floats (a live view changes unit often; stage6's are 38 MB in all)."""
    n = _check_layer(layer, where)
    _checks.integer(channel, "channel", 0, n - 1)
    return _channel_images(str(where or folder()), layer)[channel].float() / 255


def channel_sheet(layer, where=None):
    """The JPEG bytes of `layer`'s channel images on one sheet, COLUMNS to a row in unit order
    (what the atlas browser shows and a click on it picks from)."""
    _check_layer(layer, where)
    return (Path(where or folder()) / f"{layer}.channels.jpg").read_bytes()


@lru_cache(maxsize=2)  # the layers in use; each holds its tiles as uint8
def _layer_patches(where, layer):
    m = manifest(where)
    records = json.loads((Path(where) / f"{layer}.patches.json").read_text())
    tiles = _tiles(Path(where) / f"{layer}.patches.jpg", m["layers"][layer] * TOP, m["patch_size"], TOP)
    return records, tiles


def unit_patches(layer, channel, where=None):
    """The nine photo crops that excite one unit (`channel` of `layer`) most, each from a different photo, strongest
    first.

    Returns:
        (patches, images): `patches` a list of `embedding.Patch` (`image` the crop's index in
        `crops()`, `position` the unit's (row, col) in the layer's map, `value` its activation,
        `box` its receptive field in the 224 x 224 crop); `images` (9, 3, PATCH_SIZE,
        PATCH_SIZE), each box centred on grey and scaled to PATCH_SIZE.
    """
    n = _check_layer(layer, where)
    _checks.integer(channel, "channel", 0, n - 1)
    records, tiles = _layer_patches(str(where or folder()), layer)
    patches = [Patch(crop, (row, col), value, tuple(box)) for crop, row, col, value, *box in records[channel]]
    return patches, tiles[channel * TOP:(channel + 1) * TOP].float() / 255


def crops(where=None):
    """The crops the patches come from: a list of (photo, top, left, side, flipped), the photo
    named as `photos()` names it, the square (top, left, side) in that photo scaled to
    PHOTO_SIDE on its shorter side."""
    m = manifest(where)
    return [(m["photos"][p], top, left, side, bool(flip)) for p, top, left, side, flip in m["crops"]]


def crop_images(indices, where=None):
    """The crops of these indices (into `crops()`), (n, 3, 224, 224) in [0, 1], as the build saw them.
    Needs the photos (`photos()`)."""
    specs = crops(where)
    installed = set(photos())
    out = []
    for index in indices:
        name, top, left, side, flip = specs[_checks.integer(index, "index", 0, len(specs) - 1)]
        if name not in installed:
            raise FileNotFoundError(f"the atlas photo {name} is not installed; {PHOTO_INSTALL}")
        out.append(_crop(_photo(name), top, left, side, flip))
    return torch.cat(out)


def verify(where=None):
    """Problems with the shipped files: one line per file missing or not matching its
    fingerprint in the manifest (an empty list: all well)."""
    where = Path(where or folder())
    problems = []
    for name, digest in manifest(where)["files"].items():
        path = where / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name}: does not match the manifest's fingerprint")
    return problems


# ---------------------------------------------------------------- the photos and their crops


def photos():
    """The licensed photos the patches come from (`data/README.md` names each package and
    licence): the wallpapers and photos of five Debian wallpaper packages, the photos of five
    GCompris activities (`gcompris-qt-data`: objects, animals, monuments) and the bundled
    images. Returns their names, sorted: a file's path, `data/NAME` for a bundled image, or
    `FILE.rcc:/NAME` for a photo inside a GCompris resource file.

    Raises FileNotFoundError naming the install command when a package is missing."""
    plasma = []
    for theme in sorted(Path("/usr/share/wallpapers").glob("*/contents/images")):
        # each Plasma wallpaper at one size: 1920x1080 or 2560x1440 where there is one, else the smallest
        files = sorted(theme.iterdir())
        wide = [f for f in files if f.stem in ("1920x1080", "2560x1440")]
        plasma.append(wide[0] if wide else min(files, key=lambda f: f.stat().st_size))
    found = {
        "mate-backgrounds": sorted(Path("/usr/share/backgrounds/mate/nature").glob("*.jpg")),
        "plasma-workspace-wallpapers": plasma,
        "ukui-wallpapers": _package_images("ukui-wallpapers"),
        "lomiri-wallpapers": _package_images("lomiri-wallpapers-16.04") + _package_images("lomiri-wallpapers-20.04"),
        "gcompris-qt-data": [f"{rcc}:{name}" for rcc in gcompris_files() for name in gcompris_photos(rcc)],
    }
    missing = [name for name, files in found.items() if not files]
    if missing:
        raise FileNotFoundError(f"the atlas photos of {', '.join(missing)} are not installed: {PHOTO_INSTALL}")
    names = [str(f) for files in found.values() for f in files]
    names += [f"data/{next(DATA_DIR.glob(f'{name}.*')).name}" for name in bundled_images()]
    return sorted(names)


def _package_images(package):
    listing = Path(f"/var/lib/dpkg/info/{package}.list")
    if not listing.exists():
        return []
    return sorted(Path(line) for line in listing.read_text().split()
                  if line.lower().endswith((".jpg", ".jpeg", ".png")) and Path(line).is_file())


@lru_cache(maxsize=128)
def _photo(name):
    """A photo by its name in `photos()`, scaled to PHOTO_SIDE on its shorter side."""
    if ".rcc:" in name:
        rcc, inside = name.split(":", 1)
        source = gcompris_photos(Path(rcc))[inside]
    else:
        source = DATA_DIR / name[len("data/"):] if name.startswith("data/") else Path(name)
    return load_image(source, size=PHOTO_SIDE)


def _crop(photo, top, left, side, flip):
    crop = center_square(photo[..., top:top + side, left:left + side], CROP_SIZE)
    return crop.flip(-1) if flip else crop


def _crop_specs(names, seed=0):
    """CROPS_PER_PHOTO random squares of each photo (a side of 35-100% of its shorter side,
    half of them mirrored): [(photo index, top, left, side, flip)]."""
    generator = torch.Generator().manual_seed(seed)
    specs = []
    for index, name in enumerate(names):
        h, w = _photo(name).shape[-2:]
        for _ in range(CROPS_PER_PHOTO):
            r = torch.rand(4, generator=generator).tolist()
            side = max(1, round(min(h, w) * (0.35 + 0.65 * r[0])))
            specs.append((index, int(r[1] * (h - side + 1)), int(r[2] * (w - side + 1)), side, int(r[3] < 0.5)))
    return specs


# ---------------------------------------------------------------- building


def build(model, where=None, *, work=None, batch_size=8, progress=True):
    """Build the atlas for `model` (the bundled network) into `where` (default `folder()`).

    Resumable: the sweep over the crops and every batch of `batch_size` channel images are saved in
    `work` (default: the cache folder, per model fingerprint) as they finish, and a rerun
    starts where the last one stopped. The atlas's files are written at the end, the manifest
    last, so a stopped build never leaves a half-written atlas.
    """
    from tqdm.auto import tqdm

    where = Path(where or folder())
    fingerprint = model_fingerprint(model)
    work = Path(work or cache_dir() / "atlas-work" / fingerprint[:16])
    work.mkdir(parents=True, exist_ok=True)
    names = photos()
    specs = _crop_specs(names)
    sweep_key = _checks.fingerprint(json.dumps([names, specs]))[:12]  # other photos or crops: a new sweep
    units = {layer: get_activations(model, torch.zeros(1, 3, 64, 64), [layer])[layer].shape[1] for layer in LAYERS}
    batches = [(layer, start) for layer, n in units.items() for start in range(0, n, batch_size)]
    with tqdm(total=len(batches) + 1, desc="unit atlas", unit="batch", disable=not progress) as bar:
        sweep = _cached(work / f"sweep-{sweep_key}.pt", lambda: _sweep(model, names, specs))
        bar.update()
        images = {layer: [] for layer in LAYERS}
        for layer, start in batches:
            chosen = list(range(start, min(start + batch_size, units[layer])))
            images[layer].append(_cached(work / f"channels-{layer}-{start:04d}.pt",
                                         lambda: _make_channel_images(model, layer, chosen)))
            bar.update()
    where.mkdir(parents=True, exist_ok=True)
    files = {}
    for layer in LAYERS:
        records, patches = _top_patches(model, layer, sweep[layer], names, specs)
        files[f"{layer}.channels.jpg"] = _sheet(torch.cat(images[layer]), COLUMNS)
        files[f"{layer}.patches.jpg"] = _sheet(patches, TOP)
        files[f"{layer}.patches.json"] = json.dumps(records, separators=(",", ":")).encode()
    for name, data in files.items():
        _write(data, where / name)
    manifest = {
        "model": model.name, "fingerprint": fingerprint, "size": SIZE, "patch_size": PATCH_SIZE,
        "crop_size": CROP_SIZE, "photo_side": PHOTO_SIDE, "layers": units,
        "photos": names, "crops": specs,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    _write(json.dumps(manifest).encode(), where / "manifest.json")
    _manifest.cache_clear(), _channel_images.cache_clear(), _layer_patches.cache_clear()
    return where


def _cached(path, compute):
    if path.exists():
        return torch.load(path)
    value = compute()
    _checks.save_atomic(value, path)
    return value


def _write(data, path):
    with _checks.atomic_path(path) as partial:
        Path(partial).write_bytes(data)


def _make_channel_images(model, layer, units):
    return optimize.channel_image(model, layer, units, size=SIZE).cpu()


def _sweep(model, names, specs, batch_size=32):
    """Each unit's strongest activation in each crop and where: {layer: (max (N, C), argmax (N, C))}."""
    maxima = {layer: [] for layer in LAYERS}
    with torch.no_grad():
        for start in range(0, len(specs), batch_size):
            images = torch.cat([_crop(_photo(names[p]), *rest) for p, *rest in specs[start:start + batch_size]])
            for layer, acts in get_activations(model, images.to(model.device), list(LAYERS)).items():
                maxima[layer].append(acts.flatten(2).max(2))
    return {layer: (torch.cat([m.values for m in ms]).cpu(), torch.cat([m.indices for m in ms]).cpu())
            for layer, ms in maxima.items()}


def _top_patches(model, layer, sweep, names, specs):
    """Per unit the TOP crops, one per photo, that excite it most, and their receptive fields."""
    values, argmax = sweep
    width = get_activations(model, torch.zeros(1, 3, CROP_SIZE, CROP_SIZE), [layer])[layer].shape[-1]
    rf = receptive_field(model, layer, CROP_SIZE)
    photo_of = torch.tensor([spec[0] for spec in specs])
    records, tiles = [], []
    for unit in range(values.shape[1]):
        chosen, seen = [], set()
        for crop in torch.sort(values[:, unit], descending=True, stable=True).indices.tolist():
            if int(photo_of[crop]) not in seen:
                seen.add(int(photo_of[crop]))
                chosen.append(crop)
                if len(chosen) == TOP:
                    break
        unit_records = []
        for crop in chosen:
            row, col = divmod(int(argmax[crop, unit]), width)
            box = rf.box(row, col)
            p, *rest = specs[crop]
            tiles.append(_patch(_crop(_photo(names[p]), *rest)[0], box))
            unit_records.append([crop, row, col, round(float(values[crop, unit]), 5), *box])
        records.append(unit_records)
    return records, torch.stack(tiles)


def _patch(image, box):
    """The box of an image (3, H, W), centred on a grey square and scaled to PATCH_SIZE."""
    top, left, bottom, right = box
    h, w = bottom - top, right - left
    side = max(h, w)
    canvas = torch.full((3, side, side), 0.5)
    canvas[:, (side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = image[:, top:bottom, left:right]
    return center_square(canvas[None], PATCH_SIZE)[0]


def _sheet(tiles, columns):
    """Tiles (n, 3, s, s) in rows of `columns` on white, as JPEG bytes."""
    n, _, side, _ = tiles.shape
    rows = math.ceil(n / columns)
    sheet = torch.ones(3, rows * side, columns * side)
    for i, tile in enumerate(tiles):
        sheet[:, (i // columns) * side:(i // columns + 1) * side, (i % columns) * side:(i % columns + 1) * side] = tile
    pixels = (sheet.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=QUALITY)
    return buffer.getvalue()
