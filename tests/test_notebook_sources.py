"""Every notebook agrees with its jupytext text source with the solutions stripped
(tools/notebooks.py), and the check sees a disagreement in a cell's source, its tags, or the
order of cells; the stripping of solutions; every exercise has its check cell, which says
"not done yet" in the stored (student) notebook; every solution in the sources passes its
exercise's check (the instructor notebook and the package's reference agree)."""

import importlib.util
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("notebook_tools", ROOT / "tools" / "notebooks.py")
notebook_tools = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebook_tools)
NAME = "03_what_the_network_looks_at"


def test_every_notebook_agrees_with_its_source():
    assert list((ROOT / "notebooks").glob("[0-9][0-9]_*.py")), "no notebook source: nothing was compared"
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
    edited = []

    def reword(cells):
        index = next(i for i, cell in enumerate(cells) if cell.cell_type == "markdown" and "gradient" in cell.source)
        cells[index].source = cells[index].source.replace("gradient", "slope", 1)
        edited.append(index)
    edit_source(copy, reword)
    [problem] = notebook_tools.disagreements(copy)
    assert f"{NAME}: cell {edited[0]} differs in its source" in problem and "make notebooks NB=03" in problem


def test_swapped_cells_are_seen(copy):
    def swap(cells):
        cells[1], cells[2] = cells[2], cells[1]
    edit_source(copy, swap)
    [problem] = notebook_tools.disagreements(copy)
    assert "cell 3 differs in its type" in problem  # the source's cell 1, after the two Colab cells


def test_a_dropped_tag_is_seen(copy):
    def untag(cells):
        for cell in cells:
            cell.metadata.pop("tags", None)
    edit_source(copy, untag)
    [problem] = notebook_tools.disagreements(copy)
    assert "differs in its tags" in problem


def test_an_added_cell_is_seen(copy):
    count = len(notebook_tools.student_version(jupytext.read(copy / f"{NAME}.py")).cells)  # the Colab cells too
    edit_source(copy, lambda cells: cells.append(jupytext.reads("# %%\nprint(1)", fmt="py:percent").cells[0]))
    [problem] = notebook_tools.disagreements(copy)
    assert f"the notebook has {count} cells, its source {count + 1}" in problem


def test_a_notebook_without_source_is_seen(copy):
    (copy / f"{NAME}.py").unlink()
    assert notebook_tools.disagreements(copy) == [
        f"{NAME}.ipynb has no text source {NAME}.py (jupytext --to py:percent)"]


# --- the slideshow: RISE's slide types in every source ------------------------------------------

@pytest.mark.parametrize("stem", sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
def test_every_deck_has_8_to_25_slides_skips_exercises_and_questions_and_shows_its_panel(stem):
    book = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    assert notebook_tools.deck_problems(book, stem) == []
    assert book.metadata["rise"] == notebook_tools.RISE


def set_slide_type(cells, starts, kind):
    [cell] = [c for c in cells if c.source.lstrip().startswith(starts)]
    cell.metadata["slideshow"] = {"slide_type": kind}


@pytest.mark.parametrize("starts, kind, problem", [
    ("check(", "-", "is an exercise, a check or a Question: its slide type must be skip, not -"),
    ("### Exercise: a saliency map", "slide", "its slide type must be skip, not slide"),
    ("**Question.** Guided backprop", "notes", "its slide type must be skip, not notes"),
    ("from lecture_utils.widgets import", "skip", "shows the panel but is not on a slide (skip)"),
])
def test_a_deck_that_breaks_a_rule_is_seen(copy, starts, kind, problem):
    def edit(cells):
        if starts == "check(":
            cells = [c for c in cells if c.source.lstrip().startswith("check(")][:1]
        set_slide_type(cells, starts, kind)
    edit_source(copy, edit)
    book = notebook_tools.student_version(jupytext.read(copy / f"{NAME}.py"))
    found = [line for line in notebook_tools.deck_problems(book, NAME) if problem in line]
    assert len(found) == 1, notebook_tools.deck_problems(book, NAME)
    assert "differs in its slide type" in notebook_tools.disagreements(copy)[0]


def test_a_deck_of_too_few_or_too_many_slides_is_seen():
    book = nbformat.read(ROOT / "notebooks" / f"{NAME}.ipynb", as_version=4)
    shown = [c for c in book.cells[1:] if c.metadata["slideshow"]["slide_type"] != "skip"]
    for cell in shown:
        cell.metadata["slideshow"] = {"slide_type": "-"}
    assert f"{NAME}: 1 slides; a deck has 8 to 25" in notebook_tools.deck_problems(book, NAME)
    for cell in shown:
        cell.metadata["slideshow"] = {"slide_type": "slide"}
    assert f"{NAME}: {len(shown) + 1} slides; a deck has 8 to 25" in notebook_tools.deck_problems(book, NAME)


def test_a_slide_without_a_title_with_too_many_words_or_printed_lines_is_seen():
    """Each slide: a markdown heading first, at most WORDS words of prose (headings, formulas,
    the <small> source line and notes not counted), at most PRINTED printed lines."""
    def markdown(text, kind="-"):
        return nbformat.v4.new_markdown_cell(text, metadata={"slideshow": {"slide_type": kind}})

    def code(lines, kind="-"):
        cell = nbformat.v4.new_code_cell("show()", metadata={"slideshow": {"slide_type": kind}})
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="".join(f"{i}\n" for i in range(lines)))]
        return cell

    words = " ".join(["word"] * notebook_tools.WORDS)
    book = nbformat.v4.new_notebook(cells=[
        markdown(f"## Fine\n\n{words} $$a + b = c$$ <small>After Someone et al. 2020.</small>", "slide"),
        markdown(" ".join(["more"] * 100), "notes"), code(notebook_tools.PRINTED),
        code(1, "slide"),  # no title
        markdown(f"## Wordy\n\n{words} one", "slide"),
        markdown("## Printing", "slide"), code(notebook_tools.PRINTED + 1),
    ])
    problems = notebook_tools.slide_problems(book, "nb")
    assert len(problems) == 3, problems
    assert "slide 2 ('show()') has no title" in problems[0]
    assert "slide 3" in problems[1] and f"{notebook_tools.WORDS + 1} words" in problems[1]
    assert "slide 4" in problems[2] and f"{notebook_tools.PRINTED + 1} printed lines" in problems[2]


# --- solutions: stripped from the student notebooks -------------------------------------------

SOLVED = """def double(x):
    \"\"\"Twice x.\"\"\"
    ### BEGIN SOLUTION
    y = 2 * x
    return y
    ### END SOLUTION


print(double)"""


def test_a_solution_becomes_nbgraders_stub_with_the_indentation_of_its_marker():
    assert notebook_tools.strip_solutions(SOLVED) == (
        'def double(x):\n    """Twice x."""\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\n\nprint(double)')


def test_a_markdown_answer_becomes_your_answer_here():
    text = "Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"
    assert notebook_tools.strip_solutions(text, "markdown") == "Why?\n\nYOUR ANSWER HERE"


def test_a_cell_without_solutions_is_left_as_it_is():
    assert notebook_tools.strip_solutions("x = 1\n\n# a comment\n") == "x = 1\n\n# a comment\n"


@pytest.mark.parametrize("text, problem", [
    ("### BEGIN SOLUTION\nx = 1", "without '### END SOLUTION'"),
    ("x = 1\n### END SOLUTION", "without '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "a second"),
])
def test_unbalanced_markers_are_an_error(text, problem):
    with pytest.raises(notebook_tools.SolutionMarkError, match=problem):
        notebook_tools.strip_solutions(text)


def test_the_stored_notebook_is_the_stripped_source_and_one_with_solutions_is_seen(copy):
    skip = {"slideshow": {"slide_type": "skip"}}  # an exercise is off the slides
    edit_source(copy, lambda cells: cells.append(
        jupytext.reads('# %% slideshow={"slide_type": "skip"}\n' + SOLVED, fmt="py:percent").cells[0]))
    stored = nbformat.read(copy / f"{NAME}.ipynb", as_version=4)
    stored.cells.append(nbformat.v4.new_code_cell(notebook_tools.strip_solutions(SOLVED), metadata=skip))
    nbformat.write(stored, copy / f"{NAME}.ipynb")
    assert notebook_tools.disagreements(copy) == []
    stored.cells[-1].source = SOLVED  # the instructor's cell where the student's belongs
    nbformat.write(stored, copy / f"{NAME}.ipynb")
    [problem] = notebook_tools.disagreements(copy)
    assert f"cell {len(stored.cells) - 1} differs in its source" in problem


def test_no_stored_notebook_holds_a_solution():
    for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path.name


NOTEBOOK_NAMES = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("stem", NOTEBOOK_NAMES)
def test_every_exercise_has_a_check_that_says_not_done_yet_in_the_stored_notebook(stem):
    wanted = notebook_tools.exercises_of(f"{stem}.py")
    book = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    results = notebook_tools.check_results(book, wanted)
    assert set(results) == wanted
    assert set(results.values()) <= {"…"}, results  # a student notebook passes no check


def test_notebook_00_shows_what_a_check_says_about_a_mistake():
    book = nbformat.read(ROOT / "notebooks" / "00_start_here.ipynb", as_version=4)
    assert notebook_tools.check_results(book) == {"project": "✗"}


EXERCISE_ROWS = [(stem, name) for stem in NOTEBOOK_NAMES for name in sorted(notebook_tools.exercises_of(f"{stem}.py"))]


@pytest.mark.parametrize("stem, name", EXERCISE_ROWS)
def test_the_solution_in_the_source_passes_its_check(stem, name):
    from lecture_utils.exercises import EXERCISES, check

    solved = notebook_tools.solved_functions(ROOT / "notebooks" / f"{stem}.py")
    result = check(name, solved[EXERCISES[name].function])
    assert result.passed, result.message


def test_a_wrong_solution_in_a_source_fails_its_check(tmp_path):
    from lecture_utils.exercises import check

    source = (ROOT / "notebooks" / "07_feature_inversion.py").read_text()
    right = "return (dx.pow(2) + dy.pow(2)).pow(beta / 2).sum()"
    assert right in source
    (tmp_path / "07_feature_inversion.py").write_text(source.replace(right, right.replace("beta / 2", "beta")))
    solved = notebook_tools.solved_functions(tmp_path / "07_feature_inversion.py")
    assert not check("total_variation", solved["total_variation"]).passed
