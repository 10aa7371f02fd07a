"""Every notebook agrees with its jupytext text source (tools/notebooks.py), and the check sees
a disagreement in a cell's source, its tags, or the order of cells."""

import importlib.util
import shutil
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("notebook_tools", ROOT / "tools" / "notebooks.py")
notebook_tools = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebook_tools)
NAME = "03_what_the_network_looks_at"


def test_every_notebook_agrees_with_its_source():
    assert len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))) == 11
    assert notebook_tools.disagreements() == []


def test_no_nbval_marker_is_left_in_a_cell():
    # Markers live in cell tags, where students do not see them.
    for source in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"):
        assert "NBVAL_" not in source.read_text(), source.name


@pytest.fixture
def copy(tmp_path):
    for suffix in (".ipynb", ".py"):
        shutil.copy(ROOT / "notebooks" / f"{NAME}{suffix}", tmp_path)
    assert notebook_tools.disagreements(tmp_path) == []
    return tmp_path


def edit_source(folder, change):
    path = folder / f"{NAME}.py"
    book = jupytext.read(path)
    change(book.cells)
    jupytext.write(book, path, fmt="py:percent")


def test_an_edited_sentence_is_seen(copy):
    def reword(cells):
        cells[2].source = cells[2].source.replace("gradient", "slope", 1)
    edit_source(copy, reword)
    [problem] = notebook_tools.disagreements(copy)
    assert f"{NAME}: cell 2 differs in its source" in problem and "make notebooks NB=03" in problem


def test_swapped_cells_are_seen(copy):
    def swap(cells):
        cells[1], cells[2] = cells[2], cells[1]
    edit_source(copy, swap)
    [problem] = notebook_tools.disagreements(copy)
    assert "cell 1 differs in its type" in problem


def test_a_dropped_tag_is_seen(copy):
    def untag(cells):
        for cell in cells:
            cell.metadata.pop("tags", None)
    edit_source(copy, untag)
    [problem] = notebook_tools.disagreements(copy)
    assert "differs in its tags" in problem


def test_an_added_cell_is_seen(copy):
    edit_source(copy, lambda cells: cells.append(jupytext.reads("# %%\nprint(1)", fmt="py:percent").cells[0]))
    [problem] = notebook_tools.disagreements(copy)
    assert "the notebook has 18 cells, its source 19" in problem


def test_a_notebook_without_source_is_seen(copy):
    (copy / f"{NAME}.py").unlink()
    assert notebook_tools.disagreements(copy) == [
        f"{NAME}.ipynb has no text source {NAME}.py (jupytext --to py:percent)"]
