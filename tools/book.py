"""Build the course site (Jupyter Book 1) from the notebooks' stored outputs: `make book`.

    python tools/book.py                 # the site goes to book/_build/html (open index.html)
    python tools/book.py --out DIR       # ... to DIR/_build/html instead
    python tools/book.py --slides DIR    # the slide decks to link (default: slides/)

Nothing is executed and nothing is fetched: the pages show what the notebooks stored, formulas
are typeset by a MathJax copied from a Python package (sphinx-mathjax-offline), and the search
is Sphinx's own (search.html). book/ holds only the configuration (_config.yml, _toc.yml and
intro.md, which includes the README). This script first lays out a staged copy of the sources
in OUT/_build/src, mirroring the repository (so the launch buttons' paths are the repository's):

- README.md: the home page. Its Binder badges (pictures from mybinder.org) become text links,
  its links to files that are not pages of the site point at them on GitHub, and each
  thumbnail's alt text says which figure it is cut from.
- notebooks/NN_topic.ipynb, each with
  * alt text on every figure, "<slide title>: <caption>" (figure_alts): the title is the last
    heading above the figure's code cell; the caption comes from the last markdown cell above
    it (and below the figure before): its sentence that starts with "Below" (the notebooks
    introduce their figures so: "Below, two photos ..."), else the opening sentence(s) of its
    last prose paragraph; a figure right after another has instead the opening of the speaker
    notes that follow it (what to point at in the figure). Markup is stripped, and the whole
    cut to 300 characters. It goes into the cell's metadata (mystnb.image.alt), which MyST-NB
    puts on the <img> (a cell with two pictures gives both the same text);
  * a line under the title linking to its slide deck, ../slides/NN_topic.html (and to
    NN_topic.pdf, where there is one), when SLIDES/NN_topic.html exists (tools/slides.py, `make
    slides`, writes them); the whole folder is copied to the site's slides/ after the build,
    so the site carries the decks;
  * its panel (an ipywidgets output, which needs a running kernel) replaced by a note that
    says how to run it, and the notebook's widget state dropped;
  * the answers to the Questions (hidden in JupyterLab) in a closed dropdown.
- _config.yml with repository.url set to the GitHub repository of the README's Binder links
  (tools/notebook_table.py: `git remote get-url origin` when on GitHub, else the README's line
  `<!-- BINDER_REPO: owner/name -->`).

Then `jupyter-book build` turns that into OUT/_build/html: about 15 s on 2 cores.
"""

import argparse
import html
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
NOTEBOOKS = ROOT / "notebooks"
SLIDES = ROOT / "slides"
MAX_ALT = 300  # characters of alt text at most (cut at a word)
MIN_CAPTION = 60  # a caption of shorter first sentence goes on to the next
PANEL_MIME = "application/vnd.jupyter.widget-view+json"
PANEL_NOTE = (
    '<div class="admonition note"><p class="admonition-title">Interactive panel</p>'
    "<p>Here the notebook shows its panel of controls, which needs a running Python kernel: open "
    "this notebook on Binder (the rocket button at the top of this page, then Run &gt; Run All "
    "Cells), or on your machine with <code>make lab</code>.</p></div>")

# The site's own styles: the README table's thumbnails at their size (a table cell would shrink
# them to a few pixels), the slide-deck line under each notebook's title.
CSS = """img.thumbnail { width: 160px; max-width: none; }
p.slides-link { font-size: 0.95rem; }
"""

sys.path.insert(0, str(ROOT / "tools"))
import notebook_table  # noqa: E402  (the README's repository and its thumbnails' picks)

_SOURCE = re.compile(r"<small\b[^>]*>.*?</small>", re.S)  # a slide's source line
_TAGS = re.compile(r"<[^>]+>")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_ABBREVIATIONS = ("al.", "e.g.", "i.e.", "vs.", "etc.", "cf.", "Fig.", "fig.", "approx.")


def plain(markdown):
    """The text of a bit of markdown: links and pictures as their text, no emphasis, code
    marks or HTML tags, whitespace collapsed."""
    text = _SOURCE.sub(" ", markdown)
    text = _LINK.sub(r"\1", text)
    text = _TAGS.sub(" ", text)
    text = re.sub(r"(\*\*|__|\*|`)", "", text)
    return " ".join(text.split())


def sentences(text):
    """The sentences of plain text: each ends at a '.', '!' or '?' followed by a capital letter
    or the end (not after 'et al.', 'e.g.', ...)."""
    found, start = [], 0
    for match in re.finditer(r"[.!?](?=\s+[A-Z(]|\s*$)", text):
        if not text[:match.end()].endswith(_ABBREVIATIONS):
            found.append(text[start:match.end()].strip())
            start = match.end()
    rest = text[start:].strip()
    return found + [rest] if rest else found


def shorten(text):
    """At most MAX_ALT characters, cut at a word."""
    if len(text) <= MAX_ALT:
        return text
    return text[:MAX_ALT].rsplit(" ", 1)[0].rstrip(",;:") + "..."


def prose(markdown):
    """The markdown's prose paragraphs as plain text: headings, lists, tables, formulas, code
    and source lines left out."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", _SOURCE.sub("", markdown)) if p.strip()]
    return [plain(p) for p in paragraphs
            if not p.startswith(("#", "$$", "-", "* ", "|", "```", ":::")) and not re.match(r"\d+\.\s", p)]


def caption(markdown):
    """A figure's caption in the markdown cell just before it: its sentence that starts with
    'Below' (so the notebooks introduce their figures), else the first sentence of its last
    prose paragraph; '' without prose."""
    paragraphs = prose(markdown)
    for paragraph in paragraphs:
        for sentence in sentences(paragraph):
            if sentence.startswith("Below"):
                return sentence
    return opening(paragraphs[-1]) if paragraphs else ""


def opening(paragraph):
    """The paragraph's first sentences, as many as make MIN_CAPTION characters."""
    words = ""
    for sentence in sentences(paragraph):
        words = f"{words} {sentence}".strip()
        if len(words) >= MIN_CAPTION:
            break
    return words


def heading(markdown):
    """The text of the markdown cell's last heading, or None."""
    lines = [line for line in markdown.splitlines() if re.match(r"#+\s", line)]
    return plain(lines[-1].lstrip("#")) if lines else None


def image_count(cell):
    return sum(any(m.startswith("image/") for m in o.get("data", {})) for o in cell.get("outputs", []))


def figure_alts(book):
    """{index of a code cell with a picture among its outputs: its alt text}: the slide title
    (the last heading above), then the caption: from the last markdown cell above the figure's
    cell and below the figure before it (caption()); without one, the first sentence of the
    speaker notes (a markdown cell of slide type notes) right after the figure's cell."""
    alts, title, text = {}, "", None
    for index, cell in enumerate(book.cells):
        if cell.cell_type == "markdown":
            title = heading(cell.source) or title
            text = cell
            continue
        if not image_count(cell):
            continue
        after = book.cells[index + 1] if index + 1 < len(book.cells) else None
        words = caption(text.source) if text is not None else ""
        if (not words and after is not None and after.cell_type == "markdown"
                and after.metadata.get("slideshow", {}).get("slide_type") == "notes" and prose(after.source)):
            words = opening(prose(after.source)[0])
        alts[index] = shorten(f"{title}: {words}" if title and words else (title or words or "A figure"))
        text = None
    return alts


def figure_alts_in_order(book):
    """The alt text of every picture output, in the order of notebook_table.png_outputs."""
    alts = figure_alts(book)
    return [alts[index] for index, cell in enumerate(book.cells)
            if cell.cell_type == "code"
            for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]


def stage_notebook(source, target, slides):
    """Copy one notebook with alt text, the slide-deck link, the panel note and the answers'
    dropdowns (see the module's docstring)."""
    book = nbformat.read(source, as_version=4)
    # the site has its own launch buttons; the Colab cells' links would repeat them
    book.cells = [c for c in book.cells if notebook_table.COLAB not in c.metadata.get("tags", ())]
    for index, alt in figure_alts(book).items():
        book.cells[index].metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = alt
    for cell in book.cells:
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if PANEL_MIME in output.get("data", {}):
                    output["data"] = {"text/html": PANEL_NOTE}
        elif cell.metadata.get("jupyter", {}).get("source_hidden"):
            title = "Answer" if cell.source.lstrip().startswith("**Answer.**") else "Hidden"
            cell.source = f"::::{{dropdown}} {title}\n{cell.source}\n::::"
    book.metadata.pop("widgets", None)
    deck = slides / f"{source.stem}.html" if slides else None
    if deck is not None and deck.is_file():
        pdf = deck.with_suffix(".pdf")
        printed = f' (or <a href="../slides/{pdf.name}">as a PDF</a>)' if pdf.is_file() else ""
        link = nbformat.v4.new_markdown_cell(
            f'<p class="slides-link">Slides: <a href="../slides/{deck.name}">this notebook as an '
            f"offline slide deck</a>{printed}, one figure per slide, for the projector; it opens "
            f"without a network.</p>")
        link.metadata["slideshow"] = {"slide_type": "skip"}
        book.cells.insert(1, link)
    nbformat.write(book, target)


def stage_readme(target, repo, book_notebooks):
    """The README as the home page (see the module's docstring)."""
    text = (ROOT / "README.md").read_text()
    # Binder and Colab badges: text links instead of their sites' pictures
    text = re.sub(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\(([^)]+)\)",
                  r"[open on Binder](\1)", text)
    text = text.replace(f"[![Open in Colab]({notebook_table.COLAB_BADGE})]", "[open on Colab]")

    # links to repository files that are not pages of the site: to them on GitHub
    def on_github(match):
        label, path = match.group(1), match.group(2)
        if path.startswith(("http:", "https:", "mailto:", "#", "docs/thumbnails/")):
            return match.group(0)
        if path in book_notebooks:
            return match.group(0)
        kind = "tree" if (ROOT / path).is_dir() else "blob"
        return f"[{label}](https://github.com/{repo}/{kind}/{notebook_table.BRANCH}/{path})"

    text = re.sub(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)", on_github, text)

    # thumbnails: alt text naming the figure each is cut from
    def thumbnail(match):
        name = match.group(1)
        path = NOTEBOOKS / f"{name}.ipynb"
        if not path.is_file():
            return match.group(0)
        book = nbformat.read(path, as_version=4)
        alts = figure_alts_in_order(book)
        if not alts:
            return match.group(0)
        pick = notebook_table.thumbnail_index(notebook_table.png_outputs(book), name)  # the picture the thumbnail is cut from
        alt = html.escape(f"Notebook {name}, a detail of its figure {alts[pick]}")
        return f'<img src="docs/thumbnails/{name}.png" alt="{alt}" class="thumbnail">'

    text = re.sub(r"!\[(\d\d_\w+)\]\(docs/thumbnails/\1\.png\)", thumbnail, text)
    target.write_text(text)


def repository():
    """owner/name of the GitHub repository the README's Binder links name (notebook_table)."""
    named = re.search(r"<!-- BINDER_REPO: (\S+) -->", (ROOT / "README.md").read_text())
    return notebook_table.origin_repo() or (named.group(1) if named else "GITHUB-OWNER/GITHUB-REPO")


def stage(src, slides):
    """The staged sources in src (emptied first)."""
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    for name in ("_toc.yml", "intro.md"):
        shutil.copy2(BOOK / name, src / name)
    repo = repository()
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    config["repository"]["url"] = f"https://github.com/{repo}"
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    names = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        stage_notebook(path, src / "notebooks" / path.name, slides)
        names.append(f"notebooks/{path.name}")
    stage_readme(src / "README.md", repo, names)
    shutil.copytree(ROOT / "docs" / "thumbnails", src / "docs" / "thumbnails")
    (src / "_static").mkdir()
    (src / "_static" / "site.css").write_text(CSS)  # Jupyter Book links every CSS file of _static
    return names


def build(out=BOOK, slides=SLIDES, quiet=False):
    """Stage the sources and build the site into out/_build/html; returns that folder."""
    out = Path(out).resolve()
    src = out / "_build" / "src"
    stage(src, Path(slides) if slides else None)
    site = out / "_build" / "html"
    if site.exists():  # a full build each time: stale pages of renamed notebooks go
        shutil.rmtree(site)
    command = [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
               "build", str(src), "--path-output", str(out), "--builder", "html"]
    if quiet:
        command.append("--quiet")
    subprocess.run(command, check=True, cwd=ROOT)
    if slides and Path(slides).is_dir():
        shutil.copytree(slides, site / "slides", dirs_exist_ok=True)
    return site


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(BOOK), help="the site goes to OUT/_build/html (default: book)")
    parser.add_argument("--slides", default=str(SLIDES), help="the folder of slide decks NN_topic.html to "
                        "link and copy into the site (default: slides; missing: no links)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    site = build(args.out, args.slides)
    print(f"The site: {site / 'index.html'} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
