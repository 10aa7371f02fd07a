"""The wheel, installed in a fresh environment outside the checkout, holds every module and the data
the library loads by name (issue 37: an editable install hides what a wheel leaves out).

The fresh environment gets the dependencies from this test's environment through a .pth file
holding its site-packages: a path line of a .pth only extends sys.path (the .pth files in that
folder are not run), so the editable install of lecture_utils stays off and the repository stays
off sys.path.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from lecture_utils.images import IMAGE_SUFFIXES

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = (".py", ".sh")  # in data/: how its files were made; they stay out of the wheel

SMOKE = """
import importlib, json, sys
from pathlib import Path

modules, photos, styles, venv, checkout = json.loads(Path(sys.argv[1]).read_text())
import lecture_utils
package = Path(lecture_utils.__file__).resolve().parent
assert package.is_relative_to(Path(venv).resolve()), f"lecture_utils imported from {package}, not the fresh venv"
assert checkout not in [str(Path(entry or '.').resolve()) for entry in sys.path], sys.path
for name in modules:
    importlib.import_module(name)

from lecture_utils import atlas, fast_style, images, load_image, load_model, optimize, predict
assert images.DATA_DIR == package / "data", images.DATA_DIR
assert images.bundled_images() == photos, images.bundled_images()
model = load_model(device="cpu")
labels = [name for _, name, _ in predict(model, load_image("cat", 224), k=3)]
assert labels[0] in ("Egyptian cat", "tiger cat", "tabby"), labels
assert optimize.class_image(model, "lemon", steps=2, size=64).shape == (1, 3, 64, 64)
assert atlas.verify() == [], atlas.verify()
patches, tiles = atlas.unit_patches(atlas.layers()[0], 0)
assert len(patches) == len(tiles) == 9, (len(patches), tiles.shape)
assert fast_style.shipped_styles() == styles, fast_style.shipped_styles()
net = fast_style.load_style_network(styles[0], device="cpu")
photo = load_image("cat", 64)
assert fast_style.stylize(net, photo).shape == photo.shape
print("smoke ok")
"""


def run(*command, **options):
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, **options)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the wheel, the source it was built from): a copy of the working tree as git sees it (tracked
    and untracked files, not ignored ones), so that a stale build/ in the checkout can neither add
    nor hide a file."""
    tmp = tmp_path_factory.mktemp("wheel")
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, text=True)
    if listing.returncode:
        pytest.skip(f"the wheel is built from git's list of the working tree's files: {listing.stderr.strip()}")
    source = tmp / "source"
    for name in filter(None, listing.stdout.split("\0")):
        if (ROOT / name).is_file():  # a tracked file deleted in the working tree is still listed
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    # Without build isolation when setuptools is here: no network needed.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", tmp / "dist", source)
    [wheel] = (tmp / "dist").glob("lecture_utils-*.whl")
    return wheel, source


def package_files(source):
    """What the wheel must hold, from the source's files: every file of lecture_utils/ (modules and
    package data) and, as lecture_utils/data/, every file of data/ but the scripts."""
    files = {p.relative_to(source).as_posix() for p in (source / "lecture_utils").rglob("*") if p.is_file()}
    data = {f"lecture_utils/data/{p.relative_to(source / 'data').as_posix()}"
            for p in (source / "data").rglob("*") if p.is_file() and p.suffix not in SCRIPTS}
    return files, data


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_the_data(built):
    wheel, source = built
    names = set(zipfile.ZipFile(wheel).namelist())
    files, data = package_files(source)
    assert any(name.startswith("lecture_utils/optimize/") for name in files)  # the subpackage once left out
    assert {"lecture_utils/imagenet_classes.txt", "lecture_utils/data/cat.jpg", "lecture_utils/data/atlas/manifest.json"} <= files | data
    assert not files - names, f"modules or package data missing from the wheel (pyproject.toml): {sorted(files - names)}"
    assert not data - names, f"data/ files missing from the wheel (setup.py's DATA_FILES): {sorted(data - names)}"
    extra = sorted(n for n in names - files - data if not n.startswith("lecture_utils-"))
    assert not extra, f"the wheel holds files the checkout's package and data/ do not: {extra}"
    size = wheel.stat().st_size / 1e6
    assert size < 30, f"the wheel is {size:.0f} MB"


@pytest.mark.slow
def test_the_installed_wheel_works_outside_the_checkout(built, tmp_path):
    wheel, source = built
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "deps.pth").write_text("".join(f"{path}\n" for path in sorted(deps)))

    names = zipfile.ZipFile(wheel).namelist()
    modules = sorted(name[:-3].replace("/", ".").removesuffix(".__init__") for name in names
                     if name.startswith("lecture_utils/") and name.endswith(".py"))
    photos = sorted(p.stem for p in (source / "data").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    styles = sorted(p.stem for p in (source / "data" / "fast_style").glob("*.pt"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "LECTURE_UTILS_DATA")}
    (tmp_path / "smoke.py").write_text(SMOKE)
    (tmp_path / "expected.json").write_text(json.dumps([modules, photos, styles, str(venv), str(ROOT)]))
    out = run(python, "smoke.py", "expected.json", cwd=tmp_path, env=dict(env, PYTHONNOUSERSITE="1"))
    assert "smoke ok" in out
