"""Regenerate the README's table of notebooks and its thumbnails (`make readme`).

For every notebooks/NN_*.ipynb: a thumbnail of about 160 px cut from one of the notebook's
stored PNG outputs (saved as docs/thumbnails/NN_*.png), the notebook's name with its Binder
badge, and its one-line description. The table in README.md between the lines
`<!-- notebooks:start -->` and `<!-- notebooks:end -->` is rewritten; descriptions already in
the README (any row that links notebooks/NAME.ipynb; the description is its last cell) are
kept, and a new notebook without one gets its first heading. Every Binder link in the README
uses one repository: the GitHub repository of `git remote get-url origin` when that is a GitHub
address (so a fork's badges point at the fork), else the one on the README's line
`<!-- BINDER_REPO: owner/name -->`, which is rewritten to match.

Run it after a notebook is added or re-executed:  python tools/notebook_table.py
`--check` writes nothing and exits 1 when the README's table misses a notebook, or a notebook's
thumbnail is missing or is not the picture its notebook's figure gives now (for CI).
"""

import base64
import io
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
THUMBS = ROOT / "docs" / "thumbnails"
WIDTH, MAX_HEIGHT = 160, 160
START, END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"
BRANCH = "main"  # the branch every Binder and Colab link opens, and Colab's install cell installs
REPO_LINE = re.compile(r"<!-- BINDER_REPO: (\S+) -->")
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
COLAB = "colab"  # the tag of the cells that open and set up a notebook on Colab (tools/notebooks.py)

# A notebook's thumbnail is cut from the figure of its code cell tagged THUMBNAIL (the source
# says which: `# %% tags=["thumbnail"]`), the picture at CROPS' index among that cell's PNG
# outputs and the part of it CROPS names (left, top, right, bottom as fractions; the whole
# picture when not named). A notebook without the tag: its largest PNG output. White margins
# are trimmed.
THUMBNAIL = "thumbnail"
CROPS = {
    "00_start_here": (0, (0.0, 0.0, 0.5, 0.5)),  # the cat and its top classes
    "01_filters_and_activations": (0, (0.0, 0.0, 0.5, 1.0)),  # averages of stage2's top patches: edges, blobs
    "02_feature_space": (1, (0.0, 0.05, 0.64, 1.0)),  # t-SNE of the head codes, without legend
    "03_what_the_network_looks_at": (0, (0.0, 0.0, 0.5, 0.32)),  # CAM of "Egyptian cat"
    "07_feature_inversion": (0, (0.5, 0.0, 1.0, 1.0)),  # the four reconstructions, right of the photo
    "10_fast_style_transfer": (0, (0.0, 0.0, 1.0, 0.45)),  # the palace and its two stylisations
}


def png_outputs(book):
    """The notebook's stored PNG outputs, in order, each with whether its cell is tagged THUMBNAIL."""
    return [(Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"]))).convert("RGB"),
             THUMBNAIL in cell.metadata.get("tags", ()))
            for cell in book.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]


def thumbnail_index(pictures, name):
    """The index, among a notebook's PNG outputs (png_outputs), of the picture its thumbnail is
    cut from: CROPS' picture of the cell tagged THUMBNAIL, else the largest (None without any)."""
    tagged = [i for i, (_, is_tagged) in enumerate(pictures) if is_tagged]
    if tagged:
        number = CROPS.get(name, (0,))[0]
        if number >= len(tagged):
            sys.exit(f"{name}: the cell tagged {THUMBNAIL!r} has {len(tagged)} pictures; CROPS asks for number {number}")
        return tagged[number]
    return max(range(len(pictures)), key=lambda i: pictures[i][0].size[0] * pictures[i][0].size[1], default=None)


def trim(image):
    """Cut away the white margin around a figure."""
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    return image.crop(box) if box else image


def thumbnail(book, name):
    """A picture WIDTH pixels wide cut from the notebook's PNG outputs (thumbnail_index, CROPS),
    or None without any."""
    pictures = png_outputs(book)  # decoded once
    index = thumbnail_index(pictures, name)
    if index is None:
        return None
    image, tagged = pictures[index]
    left, top, right, bottom = CROPS.get(name, (0, (0.0, 0.0, 1.0, 1.0)))[1] if tagged else (0.0, 0.0, 1.0, 1.0)
    w, h = image.size
    image = trim(image.crop((round(left * w), round(top * h), round(right * w), round(bottom * h))))
    # WIDTH wide; a picture taller than MAX_HEIGHT keeps its middle part
    w, h = image.size
    image = image.resize((WIDTH, max(1, round(h * WIDTH / w))), Image.LANCZOS)
    if image.size[1] > MAX_HEIGHT:
        top = (image.size[1] - MAX_HEIGHT) // 2
        image = image.crop((0, top, WIDTH, top + MAX_HEIGHT))
    return image


def same_picture(stored, made):
    """Whether a stored thumbnail shows the picture made now (the same size, each pixel within a
    few grey levels: PNG encoders and resampling may differ in the last bit)."""
    if stored.size != made.size:
        return False
    difference = ImageChops.difference(stored.convert("RGB"), made.convert("RGB"))
    return max(high for _, high in difference.getextrema()) <= 8


def first_heading(book):
    for cell in book.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def descriptions(readme):
    """{notebook name: description} from the README's existing rows."""
    found = {}
    for line in readme.splitlines():
        match = re.search(r"notebooks/(\d\d_\w+)\.ipynb", line)
        if match and line.startswith("|"):
            found[match.group(1)] = line.strip().strip("|").split("|")[-1].strip()
    return found


def binder_link(repo, notebook):
    return f"https://mybinder.org/v2/gh/{repo}/{BRANCH}?urlpath=lab/tree/notebooks/{notebook}.ipynb"


def colab_link(repo, notebook):
    return f"https://colab.research.google.com/github/{repo}/blob/{BRANCH}/notebooks/{notebook}.ipynb"


def readme_repo(readme=None):
    """The repository the README's line `<!-- BINDER_REPO: owner/name -->` names (make readme
    writes it from the git remote): the one every badge and the notebooks' Colab cells use."""
    named = REPO_LINE.search(README.read_text() if readme is None else readme)
    if named is None:
        sys.exit("README.md needs the line '<!-- BINDER_REPO: owner/name -->'")
    return named.group(1)


def github_repo(url):
    """"owner/name" of a GitHub remote address (https, ssh or scp-like), or None for any other."""
    match = re.fullmatch(r"(?:https?://|ssh://)?(?:[\w.-]+@)?github\.com[:/]([\w.-]+)/([\w.-]+?)(?:\.git)?/?",
                         url.strip())
    return f"{match.group(1)}/{match.group(2)}" if match else None


def origin_repo():
    """The GitHub repository that `git remote get-url origin` names, or None."""
    try:
        url = subprocess.run(["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):  # no git, or no remote called origin
        return None
    return github_repo(url)


def main(check=False):
    readme = README.read_text()
    if START not in readme or END not in readme:
        sys.exit(f"README.md needs the lines '{START}' and '{END}'")
    repo = origin_repo() or readme_repo(readme)
    if not check:
        readme = REPO_LINE.sub(f"<!-- BINDER_REPO: {repo} -->", readme)
    known = descriptions(readme)
    THUMBS.mkdir(parents=True, exist_ok=True)
    stale = []
    rows = ["| | notebook | what it shows |", "| --- | --- | --- |"]
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        name = path.stem
        book = nbformat.read(path, as_version=4)
        picture = thumbnail(book, name)
        cell = ""
        if picture is not None:
            stored = THUMBS / f"{name}.png"
            if check and not stored.is_file():
                stale.append(f"{name}: no thumbnail")
            elif check and not same_picture(Image.open(stored), picture):
                stale.append(f"{name}: its thumbnail is not the picture its notebook's figure gives now")
            if not check:
                picture.save(THUMBS / f"{name}.png", optimize=True)
            cell = f"![{name}](docs/thumbnails/{name}.png)"
        badge = (f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_link(repo, name)}) "
                 f"[![Open in Colab]({COLAB_BADGE})]({colab_link(repo, name)})")
        rows.append(f"| {cell} | [`{name}`](notebooks/{name}.ipynb)<br>{badge} | "
                    f"{known.get(name) or first_heading(book)} |")
        if name not in known:
            stale.append(f"{name}: no row in the README")
        print(f"{name}: {'thumbnail' if picture else 'no PNG output, no thumbnail'}")
    if check:
        if readme.split(START, 1)[1].split(END, 1)[0].strip() != "\n".join(rows):
            stale.append("the table's rows are not those it would write (names, badges or descriptions)")
        if stale:
            sys.exit("README.md is out of date (run `make readme`):\n" + "\n".join(stale))
        return
    # every Binder link in the README (the launch badge too) points at the one repository named
    readme = re.sub(r"https://mybinder\.org/v2/gh/[^/\s]+/[^/\s]+/", f"https://mybinder.org/v2/gh/{repo}/", readme)
    readme = re.sub(r"https://colab\.research\.google\.com/github/[^/\s]+/[^/\s]+/",
                    f"https://colab.research.google.com/github/{repo}/", readme)
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(head + START + "\n" + "\n".join(rows) + "\n" + END + tail)


if __name__ == "__main__":
    main(check="--check" in sys.argv[1:])
