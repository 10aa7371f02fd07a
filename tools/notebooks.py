"""The notebooks and their text sources (`make notebooks`, and the check CI runs).

Every notebooks/NN_topic.ipynb is paired with notebooks/NN_topic.py, a jupytext percent-format
source (pairing set in jupytext.toml). The .py is what people edit and review; the .ipynb holds
the executed outputs that GitHub, nbval and Binder show.

    python tools/notebooks.py build [NN ...]   # execute the sources (all, or those whose name
                                               # starts with NN) and store the outputs
    python tools/notebooks.py check            # exit 1 when a notebook and its source disagree
"""

import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 600  # seconds; the slowest cell of any notebook takes about a minute
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def cells(book):
    """What a notebook and its source must agree on: each cell's type, source and tags, in order."""
    return [(cell.cell_type, cell.source.strip("\n"), tuple(cell.metadata.get("tags", ())))
            for cell in book.cells]


def disagreements(folder=NOTEBOOKS):
    """One line for each notebook/source pair in `folder` that disagrees (empty: all agree)."""
    folder = Path(folder)
    problems = []
    notebooks = {p.stem for p in folder.glob("[0-9][0-9]_*.ipynb")}
    sources = {p.stem for p in folder.glob("[0-9][0-9]_*.py")}
    for stem in sorted(notebooks - sources):
        problems.append(f"{stem}.ipynb has no text source {stem}.py (jupytext --to py:percent)")
    for stem in sorted(sources - notebooks):
        problems.append(f"{stem}.py has no executed notebook (make notebooks NB={stem[:2]})")
    for stem in sorted(notebooks & sources):
        stored = cells(nbformat.read(folder / f"{stem}.ipynb", as_version=4))
        written = cells(jupytext.read(folder / f"{stem}.py"))
        for index, (a, b) in enumerate(zip(stored, written)):
            if a != b:
                part = "type" if a[0] != b[0] else "source" if a[1] != b[1] else "tags"
                first = b[1].splitlines()[0] if b[1] else "(empty)"
                problems.append(f"{stem}: cell {index} differs in its {part} (the source's cell "
                                f"starts {first[:60]!r}); run make notebooks NB={stem[:2]}")
                break
        else:
            if len(stored) != len(written):
                problems.append(f"{stem}: the notebook has {len(stored)} cells, its source "
                                f"{len(written)}; run make notebooks NB={stem[:2]}")
    return problems


def build(source):
    """Execute one text source top to bottom and store it, outputs included, as its .ipynb."""
    from nbclient import NotebookClient

    book = jupytext.read(source)
    book.metadata["kernelspec"] = KERNELSPEC
    NotebookClient(book, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                   store_widget_state=True, resources={"metadata": {"path": str(source.parent)}}).execute()
    nbformat.write(book, source.with_suffix(".ipynb"))


def main(argv):
    if argv[:1] == ["check"]:
        problems = disagreements()
        print("\n".join(problems) or "every notebook agrees with its text source")
        return 1 if problems else 0
    if argv[:1] == ["build"]:
        prefixes = argv[1:]
        sources = [p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
                   if not prefixes or any(p.name.startswith(x) for x in prefixes)]
        if not sources:
            print(f"no notebook source in notebooks/ starts with {' or '.join(prefixes)}")
            return 1
        for source in sources:
            print(f"executing {source.relative_to(ROOT)}", flush=True)
            build(source)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
