"""The notebooks and their text sources (`make notebooks`, `make solutions`, and the check CI runs).

Every notebooks/NN_topic.py is a jupytext percent-format source: what people edit and review.
It is the INSTRUCTOR version: each exercise's solution sits between `### BEGIN SOLUTION` and
`### END SOLUTION`, as nbgrader marks them. Two notebooks are built from it:

- notebooks/NN_topic.ipynb, the STUDENT version: the solutions stripped (each region becomes
  `# YOUR CODE HERE` / `raise NotImplementedError()`, as nbgrader's stubs), executed, outputs
  stored (what GitHub, nbval and Binder show; every exercise's check says "not done yet");
- solutions/NN_topic.ipynb (git-ignored), the instructor version, executed: every check passes.

jupytext.toml pairs notebooks/NN_topic.py with solutions/NN_topic.ipynb, so JupyterLab edits
the instructor version; the student notebooks are paired with nothing.

    python tools/notebooks.py build [NN ...]      # the student notebooks (all, or those whose
                                                  # name starts with NN), executed and stored
    python tools/notebooks.py solutions [NN ...]  # the instructor notebooks into solutions/;
                                                  # exit 1 unless every exercise check passes
    python tools/notebooks.py check               # exit 1 when a notebook and its stripped
                                                  # source disagree
    python tools/notebooks.py relayout [NN ...]   # after edits to text and slide metadata only:
                                                  # the stored notebooks take them, keeping their
                                                  # outputs (exit 1 if any code changed: build)

`solved_functions` gives the instructor's solutions without running the notebook (the tests
check each one in seconds; `make solutions` runs the whole instructor notebooks).
"""

import ast
import re
import sys
from pathlib import Path

import jupytext
import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebook_table  # noqa: E402  (the repository and branch of the badges, for the Colab cells)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = ROOT / "solutions"
CELL_TIMEOUT = 600  # seconds; the slowest cell of any notebook takes about a minute
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")  # nbgrader's stubs
TEXT_STUB = "YOUR ANSWER HERE"
# How lecture_utils.exercises.Result shows itself: a mark, the exercise's name, a colon.
RESULT = re.compile(r"^(?P<mark>[✓✗…]) (?P<name>\w+): ")
# The slideshow (RISE) of every notebook: reveal.js's "white" theme, whose fonts are bundled (the
# default "simple" fetches Google's fonts); notebooks/rise.css hides code on the slides.
RISE = {"theme": "white", "transition": "none", "enable_chalkboard": False}


class SolutionMarkError(ValueError):
    """A BEGIN SOLUTION without its END (or the other way round)."""


def strip_solutions(source, cell_type="code"):
    """The cell's source with every solution region replaced by the student's stub.

    In a code cell the region becomes `# YOUR CODE HERE` and `raise NotImplementedError()`,
    indented like the BEGIN line; in a markdown cell, `YOUR ANSWER HERE`. Raises
    SolutionMarkError for unbalanced or nested markers.
    """
    out, inside = [], None
    for line in source.split("\n"):
        mark = line.strip()
        if mark == BEGIN:
            if inside is not None:
                raise SolutionMarkError(f"a second {BEGIN!r} before {END!r}")
            inside = line[:len(line) - len(line.lstrip())]
            out += [inside + stub for stub in CODE_STUB] if cell_type == "code" else [inside + TEXT_STUB]
        elif mark == END:
            if inside is None:
                raise SolutionMarkError(f"{END!r} without {BEGIN!r}")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise SolutionMarkError(f"{BEGIN!r} without {END!r}")
    return "\n".join(out)


# A notebook opened in Colab runs in a bare runtime. So every student notebook gets, after its
# title and off its slides, two cells tagged COLAB: links to open it on Colab and Binder, and a
# code cell that does nothing elsewhere and on Colab installs the package from the repository at
# the branch the link opened the notebook from (`make readme` writes the repository into the
# README, then relayouts every notebook to carry it here), the Debian packages whose photos
# the notebook reads (binder/apt.txt's, for the notebooks in PHOTOS), and turns on Colab's
# manager for ipywidgets and anywidget. LECTURE_UTILS_SOURCE names another pip source (a fork, a
# local clone: the test's).
COLAB = notebook_table.COLAB
PHOTOS = ("01", "02", "03")  # they read GCompris's photos or Fashion-MNIST (lecture_utils.datasets)
COLAB_INSTALL = """\
# On Colab only: install this course's package and what this notebook reads; elsewhere, nothing.
import os, subprocess, sys
if "google.colab" in sys.modules:
    source = os.environ.get("LECTURE_UTILS_SOURCE", "git+https://github.com/{repo}@{branch}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"lecture-utils @ {{source}}"], check=True){apt}
    from google.colab import output
    output.enable_custom_widget_manager()  # the panels: ipywidgets and anywidget"""
COLAB_APT = """
    apt = "apt-get install -y -q {packages}"
    subprocess.run(f"{{apt}} || (apt-get update -q && {{apt}})", shell=True, check=True)"""


def colab_cells(stem):
    """The COLAB cells of notebook `stem` (see above)."""
    repo, branch = notebook_table.readme_repo(), notebook_table.BRANCH
    links = nbformat.v4.new_markdown_cell(
        f"Run this notebook online: [on Colab]({notebook_table.colab_link(repo, stem)}) "
        f"(run the next cell first) or [on Binder]({notebook_table.binder_link(repo, stem)}).")
    packages = (NOTEBOOKS.parent / "binder" / "apt.txt").read_text().split()
    apt = COLAB_APT.format(packages=" ".join(packages)) if stem[:2] in PHOTOS else ""
    install = nbformat.v4.new_code_cell(COLAB_INSTALL.format(repo=repo, branch=branch, apt=apt))
    for cell, name in ((links, "colab-links"), (install, "colab-install")):
        cell.id = name  # the same in every build: no diff when nothing changed
        cell.metadata.update(tags=[COLAB], slideshow={"slide_type": "skip"})
    return [links, install]


def student_version(book, name="notebook"):
    """A copy of a notebook with every solution stripped (`strip_solutions` on each cell), the
    COLAB cells after its title, and the slideshow's settings."""
    book = nbformat.from_dict(book)  # a deep copy
    book.metadata["rise"] = dict(RISE)
    for index, cell in enumerate(book.cells):
        try:
            cell.source = strip_solutions(cell.source, cell.cell_type)
        except SolutionMarkError as error:
            raise SolutionMarkError(f"{name}, cell {index}: {error}") from None
    book.cells[1:1] = colab_cells(Path(name).stem)
    return book


def slide_type(cell):
    """The cell's place in the slideshow: slide, subslide, fragment, notes, skip or - (the same
    slide as the cell above)."""
    return cell.metadata.get("slideshow", {}).get("slide_type", "-")


def cells(book):
    """What a notebook and its source must agree on: each cell's type, source, tags and slide
    type, in order."""
    return [(cell.cell_type, cell.source.strip("\n"), tuple(cell.metadata.get("tags", ())), slide_type(cell))
            for cell in book.cells]


def disagreements(folder=NOTEBOOKS):
    """One line for each notebook/source pair in `folder` that disagrees (empty: all agree).

    A stored notebook is the student version: it must equal its source with the solutions stripped.
    """
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
        try:
            written = cells(student_version(jupytext.read(folder / f"{stem}.py"), f"{stem}.py"))
        except SolutionMarkError as error:
            problems.append(str(error))
            continue
        problems += deck_problems(nbformat.read(folder / f"{stem}.ipynb", as_version=4), stem)
        for index, (a, b) in enumerate(zip(stored, written)):
            if a != b:
                part = ("type" if a[0] != b[0] else "source" if a[1] != b[1] else "tags" if a[2] != b[2]
                        else "slide type")
                first = b[1].splitlines()[0] if b[1] else "(empty)"
                problems.append(f"{stem}: cell {index} differs in its {part} (the source's cell "
                                f"starts {first[:60]!r}); run make notebooks NB={stem[:2]}")
                break
        else:
            if len(stored) != len(written):
                problems.append(f"{stem}: the notebook has {len(stored)} cells, its source "
                                f"{len(written)}; run make notebooks NB={stem[:2]}")
    return problems


SLIDES = range(8, 26)  # slides a deck may have: a lecture topic of 10 to 20 minutes
PANEL = "from lecture_utils.widgets import"  # the cell that shows the notebook's panel
# Off the slides: cells that start with one of these (exercises, Questions, Answers), and
# cells that hold one of these (an exercise's check, a solution).
SKIPPED_STARTS = ("### Exercise", "**Question.**", "**Answer.**")
SKIPPED_MARKS = ("check(", BEGIN)


# A slide is a title, a few words and one large figure, as the lecture's own: the rest of the
# text goes into the slide's speaker notes (notes cells, which the notebook shows in order).
WORDS = 40  # words of prose a slide shows (its title, formulas and source line not counted)
PRINTED = 3  # lines of printed output a slide shows
# The source line of a slide whose idea or figure follows a paper: small, under the figure.
SOURCE = re.compile(r"<small\b[^>]*>.*?</small>", re.S)
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)
_MARKUP = re.compile(r"<[^>]+>|\]\([^)]*\)")  # HTML tags and link targets


def slides(book):
    """The cells each slide shows, slide by slide (a subslide is a slide of its own; cells
    skipped or in the speaker notes are on none)."""
    shown = []
    for cell in book.cells:
        kind = slide_type(cell)
        if kind in ("skip", "notes"):
            continue
        if kind in ("slide", "subslide") or not shown:
            shown.append([])
        shown[-1].append(cell)
    return shown


def prose_words(markdown):
    """The words of prose in a markdown cell: headings, formulas, source lines and HTML tags
    left out."""
    text = _MARKUP.sub(" ", _MATH.sub(" ", SOURCE.sub(" ", markdown)))
    prose = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return len(re.findall(r"\w[\w'’-]*", "\n".join(prose)))


def printed_lines(cell):
    """The lines of text a code cell's outputs print (streams, and results shown only as text)."""
    lines = 0
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            lines += len(output.get("text", "").rstrip("\n").splitlines())
        elif set(output.get("data", {})) == {"text/plain"}:
            lines += len(str(output["data"]["text/plain"]).splitlines())
    return lines


def slide_problems(book, name="notebook"):
    """One line for each slide without a title (a markdown heading first), with more than WORDS
    words of prose or more than PRINTED printed lines."""
    problems = []
    for number, shown in enumerate(slides(book), 1):
        first = shown[0].source.lstrip()
        where = f"{name}: slide {number} ({(first.splitlines() or ['(empty)'])[0][:50]!r})"
        if shown[0].cell_type != "markdown" or not first.startswith("#"):
            problems.append(f"{where} has no title: start it with a markdown heading")
        words = sum(prose_words(cell.source) for cell in shown if cell.cell_type == "markdown")
        if words > WORDS:
            problems.append(f"{where} shows {words} words of prose; at most {WORDS} (move the rest "
                            f"into a notes cell: slide_type notes)")
        lines = sum(printed_lines(cell) for cell in shown if cell.cell_type == "code")
        if lines > PRINTED:
            problems.append(f"{where} shows {lines} printed lines; at most {PRINTED} (put the number "
                            f"that matters in the figure's title)")
    return problems


def deck_problems(book, name="notebook"):
    """One line for each way the notebook's slideshow breaks the deck's rules: 8 to 25 slides;
    exercises, their solutions and checks, Questions and their answers skipped; the panel on a
    slide; every slide a title, a few words and a few printed lines (slide_problems)."""
    kinds = [slide_type(cell) for cell in book.cells]
    problems = slide_problems(book, name)
    slides = sum(kind == "slide" for kind in kinds)
    if slides not in SLIDES:
        problems.append(f"{name}: {slides} slides; a deck has {SLIDES.start} to {SLIDES.stop - 1}")
    if kinds and kinds[0] != "slide":
        problems.append(f"{name}: the first cell is not a slide")
    for index, (cell, kind) in enumerate(zip(book.cells, kinds)):
        text = cell.source.lstrip()
        first = text.splitlines()[0][:60] if text else "(empty)"
        if kind != "skip" and (text.startswith(SKIPPED_STARTS) or any(mark in text for mark in SKIPPED_MARKS)):
            problems.append(f"{name}: cell {index} ({first!r}) is an exercise, a check or a Question: "
                            f"its slide type must be skip, not {kind}")
        if cell.cell_type == "code" and PANEL in text and kind in ("skip", "notes"):
            problems.append(f"{name}: cell {index} shows the panel but is not on a slide ({kind})")
    if not any(cell.cell_type == "code" and PANEL in cell.source for cell in book.cells):
        problems.append(f"{name}: no cell shows a panel ({PANEL} ...)")
    return problems


def check_results(book, names=None):
    """{exercise name: mark} from the outputs of the check cells of an executed notebook
    (✓ passed, ✗ failed, … not done yet); only the exercises in `names`, if given (notebook 00
    shows a check of a mistaken function as an example)."""
    found = {}
    for cell in book.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "")
            match = RESULT.match(text if isinstance(text, str) else "".join(text))
            if match and (names is None or match["name"] in names):
                found[match["name"]] = match["mark"]
    return found


def exercises_of(source):
    """The names of the exercises that belong to the notebook of this text source."""
    from lecture_utils.exercises import EXERCISES

    return {name for name, ex in EXERCISES.items() if ex.notebook == Path(source).stem}


def solved_functions(source):
    """{name: object} after running, from the instructor version of one text source, only the
    imports of every code cell and then the cells that hold a solution, in order: the
    exercises' functions as the notebook defines them, without its figures."""
    from IPython.core.inputtransformer2 import TransformerManager

    namespace, solved = {}, []
    for cell in jupytext.read(source).cells:
        if cell.cell_type != "code":
            continue
        code = TransformerManager().transform_cell(cell.source)  # %magics to Python
        imports = [node for node in ast.parse(code).body if isinstance(node, (ast.Import, ast.ImportFrom))]
        exec(compile(ast.Module(imports, type_ignores=[]), str(source), "exec"), namespace)
        if BEGIN in cell.source:
            solved.append(code)
    for code in solved:
        exec(compile(code, str(source), "exec"), namespace)
    return namespace


def _execute(book, folder):
    from nbclient import NotebookClient

    book.metadata["kernelspec"] = KERNELSPEC
    NotebookClient(book, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                   store_widget_state=True, resources={"metadata": {"path": str(folder)}}).execute()
    return book


def build(source):
    """Execute one text source's student version top to bottom and store it, outputs included,
    as its .ipynb. Returns a list of problems (a check that passes means a solution leaked)."""
    book = _execute(student_version(jupytext.read(source), source.name), source.parent)
    nbformat.write(book, source.with_suffix(".ipynb"))
    return [f"{source.stem}: the check of {name} passes in the student notebook: is its solution "
            f"marked ({BEGIN} / {END})?" for name, mark in check_results(book, exercises_of(source)).items()
            if mark == "✓"]


def relayout(source):
    """Give the stored notebook of one text source the source's text and slide metadata while
    keeping its outputs, when only markdown cells and metadata changed. Returns a list of
    problems (a code cell that changed, was added or removed: then build)."""
    stored = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    book = student_version(jupytext.read(source), source.name)
    # COLAB's cell does nothing here: it has no outputs to keep, and may change (the repository)
    def ran_here(cell):
        return cell.cell_type == "code" and COLAB not in cell.metadata.get("tags", ())
    code = [c for c in book.cells if ran_here(c)]
    old = [c for c in stored.cells if ran_here(c)]
    if [c.source.strip("\n") for c in code] != [c.source.strip("\n") for c in old]:
        return [f"{source.stem}: its code cells changed; run make notebooks NB={source.stem[:2]}"]
    for new, ran in zip(code, old):
        new.outputs, new.execution_count = ran.outputs, ran.execution_count
    def kept(cells):  # the cells of the source (not COLAB's)
        return [c for c in cells if COLAB not in c.metadata.get("tags", ())]
    if len(kept(book.cells)) == len(kept(stored.cells)):  # the same cells: keep their ids (a small diff)
        for new, ran in zip(kept(book.cells), kept(stored.cells)):
            new.id = ran.id
    book.metadata = {**stored.metadata, "rise": book.metadata["rise"]}
    nbformat.write(book, source.with_suffix(".ipynb"))
    return []


def build_solutions(source, folder=SOLUTIONS):
    """Execute one text source as it is (the instructor version) into folder/NN_topic.ipynb.
    Returns a list of problems: every exercise of this notebook must have a check that passes."""
    from lecture_utils.exercises import EXERCISES

    book = jupytext.read(source)
    book.metadata["rise"] = dict(RISE)
    book = _execute(book, source.parent)
    folder.mkdir(exist_ok=True)
    nbformat.write(book, folder / f"{source.stem}.ipynb")
    wanted = exercises_of(source)
    found = check_results(book, wanted)
    problems = [f"{source.stem}: the check of {name} does not pass in the solutions ({mark})"
                for name, mark in found.items() if mark != "✓"]
    problems += [f"{source.stem}: exercise {name} has no check cell (check({name!r}, {EXERCISES[name].function}))"
                 for name in sorted(wanted - set(found))]
    return problems


def main(argv):
    if argv[:1] == ["check"]:
        problems = disagreements()
        print("\n".join(problems) or "every notebook agrees with its text source")
        return 1 if problems else 0
    if argv[:1] in (["build"], ["solutions"], ["relayout"]):
        prefixes = argv[1:]
        sources = [p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
                   if not prefixes or any(p.name.startswith(x) for x in prefixes)]
        if not sources:
            print(f"no notebook source in notebooks/ starts with {' or '.join(prefixes)}")
            return 1
        problems = []
        for source in sources:
            if argv[0] == "relayout":
                problems += relayout(source)
                continue
            where = "solutions/" if argv[0] == "solutions" else "notebooks/"
            print(f"executing {source.relative_to(ROOT)} into {where}", flush=True)
            problems += build_solutions(source) if argv[0] == "solutions" else build(source)
        print("\n".join(problems) or ("every exercise check passes" if argv[0] == "solutions" else "done"))
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
