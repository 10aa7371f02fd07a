"""Colab's install cell (issue 37): every student notebook carries it (tools/notebooks.py,
colab_cells); here it runs as it would on Colab, in a fresh environment outside the checkout,
installing the package from the repository as a git URL (a file:// clone stands in for GitHub),
and a short notebook then runs top to bottom in that environment's kernel.

"On Colab" is a `google.colab` module imported when Python starts (Colab's kernel has it
imported), a stand-in whose `output.enable_custom_widget_manager` leaves a mark. The fresh
environment sees this test environment's dependencies through a folder of links to its
site-packages without lecture_utils (so that pip installs lecture_utils and finds the rest
installed: nothing is downloaded, as Colab has them or fetches them).
"""

import importlib.util
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("notebook_tools", ROOT / "tools" / "notebooks.py")
notebook_tools = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebook_tools)

SHORT = "00_start_here"  # the notebook run on the stand-in Colab

FAKE_OUTPUT = """import os
def enable_custom_widget_manager():
    open(os.environ["FAKE_COLAB_MARK"], "w").write("widget manager on")
"""

EXECUTE = """import sys, nbformat
from nbclient import NotebookClient
book = nbformat.read(sys.argv[1], as_version=4)
for cell in book.cells:
    cell.outputs = [] if cell.cell_type == "code" else None
    if cell.cell_type != "code":
        del cell["outputs"]
NotebookClient(book, timeout=600, kernel_name="python3", allow_errors=False,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
print("notebook ran")
"""


def run(*command, **options):
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, **options)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def the_colab_cell(book):
    [cell] = [c for c in book.cells if c.cell_type == "code" and notebook_tools.COLAB in c.metadata.get("tags", ())]
    return cell


def test_every_notebook_has_the_colab_cells_after_its_title():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        book = nbformat.read(path, as_version=4)
        tagged = [i for i, c in enumerate(book.cells) if notebook_tools.COLAB in c.metadata.get("tags", ())]
        assert tagged == [1, 2], f"{path.name}: the Colab cells are cells {tagged}, not the two after the title"
        links, install = book.cells[1].source, book.cells[2].source
        assert "colab.research.google.com/github/" in links and f"/notebooks/{path.name}" in links, links
        assert "mybinder.org" in links, links
        assert install.startswith("# On Colab only") and 'if "google.colab" in sys.modules:' in install
        assert not book.cells[2].get("outputs"), f"{path.name}: the Colab cell printed something outside Colab"
        photos = path.name[:2] in notebook_tools.PHOTOS
        assert ("apt-get install" in install) == photos, f"{path.name}: Debian packages {'missing' if photos else 'not needed'}"


def test_the_colab_cell_does_nothing_outside_colab(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(the_colab_cell(nbformat.read(ROOT / "notebooks" / f"{SHORT}.ipynb", as_version=4)).source, {})
    assert calls == []


@pytest.mark.slow
def test_the_colab_cell_installs_from_a_git_url_and_the_notebook_runs(tmp_path):
    if subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("the checkout is not a git repository: there is no git URL to install from")
    if not importlib.util.find_spec("setuptools"):
        pytest.skip("pip builds the package without build isolation here (no network): needs setuptools")
    # the dependencies, without lecture_utils (its editable install would stand in for the git one)
    deps = tmp_path / "deps"
    deps.mkdir()
    for folder in dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]):
        for entry in Path(folder).iterdir():
            if not (entry.name.startswith(("lecture_utils", "__editable__", "lecture-utils")) or entry.suffix == ".pth"
                    or (deps / entry.name).exists()):
                (deps / entry.name).symlink_to(entry)
    colab = tmp_path / "colab" / "google" / "colab"
    colab.mkdir(parents=True)
    (colab.parent / "__init__.py").write_text("")
    (colab / "__init__.py").write_text("")
    (colab / "output.py").write_text(FAKE_OUTPUT)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    (site / "deps.pth").write_text(f"{deps}\n{tmp_path / 'colab'}\nimport google.colab\n")

    mark = tmp_path / "widget-manager"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "LECTURE_UTILS_DATA")}
    env.update(PYTHONNOUSERSITE="1", FAKE_COLAB_MARK=str(mark),
               # the repository as a git URL at the commit checked out here (GitHub's stand-in)
               LECTURE_UTILS_SOURCE=f"git+file://{ROOT}@{run('git', '-C', ROOT, 'rev-parse', 'HEAD').strip()}",
               # no download: the build's setuptools is this environment's (pip reads "0" as off here)
               PIP_NO_BUILD_ISOLATION="0", PIP_NO_INDEX="1")
    work = tmp_path / "work"
    work.mkdir()
    (work / "execute.py").write_text(EXECUTE)
    out = run(python, "execute.py", ROOT / "notebooks" / f"{SHORT}.ipynb", work, cwd=work, env=env)
    assert "notebook ran" in out
    assert mark.read_text() == "widget manager on"
    installed = run(python, "-c", "import lecture_utils; print(lecture_utils.__file__)", cwd=work, env=env)
    assert Path(installed.strip()).is_relative_to(venv), f"lecture_utils came from {installed}, not the git install"
