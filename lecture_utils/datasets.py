"""Labelled image collections for the feature-space notebook, and the download of Imagenette.

A `Collection` holds N small photos as a uint8 tensor (N, 3, H, W), their labels and the class
names. Two sources:

- Fashion-MNIST (Zalando, MIT licence): 70,000 greyscale 28 x 28 photos of clothing in 10
  classes. Debian ships it (`apt-get install dataset-fashion-mnist`, files in
  /usr/share/datasets/fashion-mnist); `make data` installs it. Works with no network.
- GCompris's photos (`gcompris-qt-data`; licences per file, see data/README.md; `make data`
  installs it): 224 colour photos
  of six kinds of things (animals, fish, household objects, monuments, renewable energy,
  tools), read from the resource files of the educational suite's activities. Works with no
  network; the default.
- Imagenette (fast.ai, a 10-class subset of ImageNet; its images keep ImageNet's terms: for
  non-commercial research and teaching): `python -m lecture_utils fetch imagenette` downloads
  the 160 px version once (about 99 MB) into the cache folder.

`load_collection()` uses GCompris's photos; Imagenette or Fashion-MNIST when asked for.
"""

import gzip
import hashlib
import io
from functools import lru_cache
import os
import shutil
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import _checks
from .images import center_square, load_image
from .qt_resources import read_resources

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")  # where Debian's package puts it
FASHION_MNIST_ENV = "LECTURE_UTILS_FASHION_MNIST"
FASHION_MNIST_CLASSES = ["T-shirt/top", "trouser", "pullover", "dress", "coat",
                         "sandal", "shirt", "sneaker", "bag", "ankle boot"]
FASHION_MNIST_INSTALL = "sudo apt-get install dataset-fashion-mnist  (or: make data)"

IMAGENETTE_URL = "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz"
IMAGENETTE_DIR = "imagenette2-160"
# The archive has been re-packed over the years; these are the published MD5 sums of its
# versions: torchvision.datasets.Imagenette (2023-), and fastai's data/checks.txt (two versions,
# 98,948,031 and 99,003,388 bytes). A download whose MD5 is none of them is refused.
IMAGENETTE_MD5 = (
    "e793b78cc4c9e9a4ccc0c1155377a412",
    "c475f8f7617a200ba35b9facc48443c3",
    "e28cd4207d545c64f2372bcb64753d01",
)
IMAGENETTE_CLASSES = {
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn",
    "n03417042": "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball",
    "n03888605": "parachute",
}


@dataclass
class Collection:
    """Labelled photos: `images` uint8 (N, 3, H, W), `labels` long (N,), `classes` (names).

    `float_images(indices, size)` gives float images in [0, 1] scaled to size x size.
    `fingerprint` is a SHA-256 of the pixels and labels: caches of codes are keyed by it.
    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    classes: list
    source: str = ""
    _fingerprint: str = field(default=None, repr=False)

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise TypeError(f"images must be uint8 of shape (N, 3, H, W); got {self.images.dtype} "
                            f"{tuple(self.images.shape)}")
        if len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self):
        return len(self.images)

    @property
    def fingerprint(self):
        if self._fingerprint is None:
            self._fingerprint = _checks.fingerprint(self.images, self.labels.to(torch.int64))
        return self._fingerprint

    def float_images(self, indices=None, size=None):
        """Images as float (n, 3, size, size) in [0, 1]; all of them when `indices` is None."""
        images = self.images if indices is None else self.images[indices]
        images = images.float() / 255.0
        if size is not None and images.shape[-2:] != (size, size):
            images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False,
                                   antialias=images.shape[-1] > size).clamp(0, 1)
        return images

    def label_names(self):
        return [self.classes[int(i)] for i in self.labels]


def cache_dir():
    """The folder for downloads and cached codes: $LECTURE_UTILS_CACHE, else
    $XDG_CACHE_HOME/lecture_utils, else ~/.cache/lecture_utils (created on first use)."""
    if os.environ.get("LECTURE_UTILS_CACHE"):
        return Path(os.environ["LECTURE_UTILS_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "lecture_utils"


def _per_class(labels, per_class, classes):
    """The first `per_class` indices of each class, in class order (a fixed, balanced subset)."""
    _checks.positive_int(per_class, "per_class")
    chosen = []
    for c in range(classes):
        where = np.flatnonzero(labels == c)[:per_class]
        chosen.extend(where.tolist())
    return np.array(chosen, dtype=np.int64)


# ---------------------------------------------------------------- Fashion-MNIST


def fashion_mnist_dir():
    """Where the Fashion-MNIST files are: $LECTURE_UTILS_FASHION_MNIST or Debian's folder."""
    return Path(os.environ.get(FASHION_MNIST_ENV) or FASHION_MNIST_DIR)


def _read_idx(path, ndim):
    """Read a gzipped IDX file (the MNIST format): a big-endian header, then uint8 values."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    if magic != 0x0800 + ndim:
        raise ValueError(f"{path} is not an IDX file of {ndim} dimension(s) (magic {magic:#x})")
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: {values.size} values for shape {shape}")
    return values.reshape(shape)


def fashion_mnist(per_class=60, split="test"):
    """A balanced subset of Fashion-MNIST: the first `per_class` photos of each of 10 classes.

    Args:
        per_class: photos per class (the test split has 1,000 per class).
        split: "test" (10,000 photos) or "train" (60,000).

    Returns:
        A `Collection` of 10 * per_class greyscale photos, 28 x 28, repeated to 3 channels.

    Raises:
        FileNotFoundError naming the install command when the files are not there.
    """
    _checks.one_of(split, "split", ("test", "train"))
    prefix = "t10k" if split == "test" else "train"
    folder = fashion_mnist_dir()
    paths = [folder / f"{prefix}-images-idx3-ubyte.gz", folder / f"{prefix}-labels-idx1-ubyte.gz"]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST is not installed (missing {', '.join(missing)}). Install it with:  "
            f"{FASHION_MNIST_INSTALL}  or point ${FASHION_MNIST_ENV} at a folder holding the "
            f"four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist"
        )
    images, labels = _read_idx(paths[0], 3), _read_idx(paths[1], 1)
    chosen = _per_class(labels, per_class, len(FASHION_MNIST_CLASSES))
    pixels = torch.from_numpy(images[chosen].copy())[:, None].expand(-1, 3, -1, -1).contiguous()
    return Collection("Fashion-MNIST", pixels, torch.from_numpy(labels[chosen].astype(np.int64)),
                      list(FASHION_MNIST_CLASSES),
                      source="Fashion-MNIST (Zalando SE, MIT licence), Debian package dataset-fashion-mnist")


# ---------------------------------------------------------------- held-out nature photos

NATURE_DIR = Path("/usr/share/backgrounds/mate/nature")  # Debian's mate-backgrounds (GPL-2+)
NATURE_INSTALL = "sudo apt-get install mate-backgrounds  (or: make heldout)"


def nature_photos():
    """The 12 nature photos of Debian's `mate-backgrounds` (flowers, a meadow, a dune, rain
    drops, ...): photos no one in this project chose, for judging an attack or a network on
    photos it was not made from (notebook 05, the adversarial tests, notebook 10's networks).

    Returns:
        Their paths, sorted by name (load one with `load_image(path)`).

    Raises:
        FileNotFoundError naming the install command when they are not there.
    """
    photos = sorted(NATURE_DIR.glob("*.jpg"))
    if not photos:
        raise FileNotFoundError(f"the held-out nature photos are not installed (no *.jpg in "
                                f"{NATURE_DIR}). Install them with:  {NATURE_INSTALL}")
    return photos


# ---------------------------------------------------------------- GCompris's photos

GCOMPRIS = Path("/usr/share/gcompris-qt/rcc")  # Debian's gcompris-qt-data (data/README.md: licences)
GCOMPRIS_PHOTOS = ("categorization", "erase", "explore_farm_animals", "explore_monuments", "explore_world_animals")
GCOMPRIS_INSTALL = "sudo apt-get install gcompris-qt-data  (or: make data)"
# The kind of thing a photo shows, from the folder it sits in inside its activity's resources:
# the activities sort them so ("erase" and the two "explore" activities hold animals).
GCOMPRIS_KINDS = {"fishes": "fish", "monuments": "monument", "egypt": "monument", "france": "monument",
                  "germany": "monument", "india": "monument", "usa": "monument", "wonders": "monument",
                  "others": "household object", "renewable": "renewable energy", "tools": "tool",
                  "animals": "animal", "erase/resource": "animal"}


def gcompris_files():
    """The resource files of the GCompris activities that hold photos (those installed)."""
    return [GCOMPRIS / f"{activity}.rcc" for activity in GCOMPRIS_PHOTOS if (GCOMPRIS / f"{activity}.rcc").exists()]


@lru_cache(maxsize=None)
def gcompris_photos(rcc):
    """{name: bytes} of the photos in a GCompris resource file (not its icons: both sides >= 200 px)."""
    from PIL import Image

    photos = {}
    for name, data in read_resources(rcc, (".jpg", ".jpeg", ".png", ".webp")).items():
        with Image.open(io.BytesIO(data)) as image:
            if min(image.size) >= 200:
                photos[name] = data
    return photos


def gcompris_kind(name):
    """The kind of thing (a value of GCOMPRIS_KINDS) a photo of `gcompris_photos` shows, from its
    folder; None for the two that are drawings (alphabets, numbers)."""
    folder = name.rsplit("/", 1)[0]
    for key, kind in GCOMPRIS_KINDS.items():
        if folder.endswith("/" + key):
            return kind
    return None


def gcompris(size=160):
    """GCompris's colour photos of things, labelled by kind: 57 animals, 26 fish, 15 household
    objects, 70 monuments, 28 renewable-energy sites (wind, sun, water) and 28 tools. Three
    monuments appear in two activities as the same photo; each is kept once (a photo and its copy
    would be each other's nearest neighbour, flattering any feature space).

    Args:
        size: each photo is scaled (shorter side) and centre-cropped to size x size.

    Returns:
        A `Collection` of the 224 photos, in the order of their resource files and names.

    Raises:
        FileNotFoundError naming the install command when the package is not there.
    """
    size = _checks.positive_int(size, "size")
    kinds = sorted(set(GCOMPRIS_KINDS.values()))
    images, thumbs, labels = [], [], []
    for rcc in gcompris_files():
        for name, data in sorted(gcompris_photos(rcc).items()):
            kind = gcompris_kind(name)
            if kind is not None:
                photo = (center_square(load_image(_reduced(data, size)), size) * 255).round()
                images.append(photo[0].to(torch.uint8))
                thumbs.append(F.interpolate(photo / 255, size=(16, 16), mode="area").flatten())
                labels.append(kinds.index(kind))
    if not images:
        raise FileNotFoundError(f"GCompris's photos are not installed (no resource files in {GCOMPRIS}). "
                                f"Install them with:  {GCOMPRIS_INSTALL}")
    images, labels = torch.stack(images), torch.tensor(labels)
    keep = _first_copies(torch.stack(thumbs))
    return Collection("GCompris photos", images[keep], labels[keep], kinds,
                      source="GCompris's photos of things (Debian package gcompris-qt-data; per file GPL-3+, "
                             "CC-BY, CC-BY-SA or public domain)")


def _reduced(data, size):
    """The photo in `data` shrunk by the largest whole factor that keeps its shorter side at least
    twice `size`: a 1920 x 1080 photo is not turned into floats (25 MB, and several times that while
    resizing) only to become 160 x 160."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as photo:
        photo = photo.convert("RGB")
        return photo.reduce(max(1, min(photo.size) // (2 * size)))


def _first_copies(thumbs, tolerance=1.5):
    """Indices of the photos that are not a copy of an earlier one, given their 16 x 16 thumbnails
    (N, 768) in [0, 1]: no earlier thumbnail lies within `tolerance` (Euclidean; the copies here
    are 0.06-0.8 apart, depending on the size they were scaled to, different photos 3 or more)."""
    distance = torch.cdist(thumbs, thumbs)
    return [i for i in range(len(thumbs)) if not (distance[i, :i] < tolerance).any()]


# ---------------------------------------------------------------- Imagenette


def imagenette_dir():
    """Where `fetch_imagenette` puts the extracted archive (it may not exist yet)."""
    return cache_dir() / IMAGENETTE_DIR


def imagenette(per_class=60, size=128, split="val", root=None):
    """A balanced subset of Imagenette (fetched before with `python -m lecture_utils fetch imagenette`).

    Args:
        per_class: photos per class (the first ones by file name, so the subset is fixed).
        size: each photo is scaled (shorter side) and centre-cropped to size x size.
        split: "val" (3,925 photos) or "train".
        root: the extracted folder (default: `imagenette_dir()`).

    Returns:
        A `Collection` of 10 * per_class colour photos.
    """
    from PIL import Image

    root = Path(root) if root is not None else imagenette_dir()
    folder = root / split
    if not folder.is_dir():
        raise FileNotFoundError(f"Imagenette is not in {root}; fetch it once with a network:  "
                                f"python -m lecture_utils fetch imagenette")
    wnids = sorted(p.name for p in folder.iterdir() if p.is_dir())
    images, labels = [], []
    for label, wnid in enumerate(wnids):
        files = sorted(p for p in (folder / wnid).iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
        for path in files[:per_class]:
            with Image.open(path) as image:
                image = image.convert("RGB")
                scale = size / min(image.size)
                image = image.resize((max(size, round(image.width * scale)), max(size, round(image.height * scale))),
                                     Image.BILINEAR, reducing_gap=None)
                left, top = (image.width - size) // 2, (image.height - size) // 2
                image = image.crop((left, top, left + size, top + size))
                images.append(torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1))
            labels.append(label)
    if not images:
        raise FileNotFoundError(f"no photos under {folder}; fetch again:  python -m lecture_utils fetch imagenette")
    return Collection("Imagenette", torch.stack(images), torch.tensor(labels),
                      [IMAGENETTE_CLASSES.get(w, w) for w in wnids],
                      source="Imagenette 160 px (fast.ai; images from ImageNet, non-commercial research and teaching)")


COLLECTIONS = ("gcompris", "imagenette", "fashion_mnist")


def load_collection(name="gcompris", per_class=60):
    """A collection by name: "gcompris" (GCompris's photos, all 224), "imagenette" (fetched
    before; `per_class` photos of each class) or "fashion_mnist" (`per_class` of each)."""
    _checks.one_of(name, "collection", COLLECTIONS)
    if name == "gcompris":
        return gcompris()
    return imagenette(per_class) if name == "imagenette" else fashion_mnist(per_class)


def _md5(path, chunk=1 << 20):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url, path, progress=True, chunk=1 << 16):
    """Download `url` to `path` atomically: a partial file never sits at `path`.

    Shows a tqdm progress bar when `progress`. Returns `path`.
    """
    from tqdm.auto import tqdm

    path = Path(path)
    with _checks.atomic_path(path) as partial, open(partial, "wb") as out, urllib.request.urlopen(url) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=path.name, disable=not progress) as bar:
            for block in iter(lambda: response.read(chunk), b""):
                out.write(block)
                bar.update(len(block))
    return path


def fetch_imagenette(url=None, md5="published", progress=True):
    """Download, verify and extract Imagenette (160 px) into the cache folder, once.

    Args:
        url: where the .tgz archive is (default IMAGENETTE_URL; tests pass a file:// URL).
        md5: the accepted MD5 sums of the archive (one string or several); "published" (the
            default) accepts those of IMAGENETTE_MD5; None skips the check.
        progress: show a progress bar.

    Returns:
        The extracted folder (holding train/ and val/). Nothing is left behind on failure:
        the archive is checked, then extracted into a temporary folder that is renamed at the end.

    Raises:
        ValueError when the archive's MD5 is not an accepted one, or it is not a tar archive of
        the expected layout; OSError/URLError when the download fails.
    """
    target = imagenette_dir()
    if (target / "val").is_dir():
        return target
    url = url or IMAGENETTE_URL
    accepted = IMAGENETTE_MD5 if md5 == "published" else (md5,) if isinstance(md5, str) else md5
    target.parent.mkdir(parents=True, exist_ok=True)
    archive = target.parent / (IMAGENETTE_DIR + ".tgz")
    download(url, archive, progress)
    try:
        if accepted is not None:
            actual = _md5(archive)
            if actual not in accepted:
                raise ValueError(f"the download from {url} has MD5 {actual}, not one of the published "
                                 f"{', '.join(accepted)}; it was deleted. Try again later.")
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".extract-"))
        try:
            _extract(archive, staging)
            extracted = staging / IMAGENETTE_DIR
            if not (extracted / "val").is_dir():
                raise ValueError(f"the archive from {url} holds no {IMAGENETTE_DIR}/val folder")
            os.replace(extracted, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        archive.unlink(missing_ok=True)
    return target


def _extract(archive, folder):
    """Extract a .tgz safely: regular files and folders only, none outside `folder`."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                if not (member.isfile() or member.isdir()):
                    raise ValueError(f"the archive holds {member.name!r}, which is not a plain file")
                if member.name.startswith("/") or ".." in Path(member.name).parts:
                    raise ValueError(f"the archive holds a path outside its folder: {member.name!r}")
            tar.extractall(folder, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ValueError(f"the archive is damaged or not a .tgz ({type(error).__name__}: {error})") from None
