"""The README's Binder links follow the repository that `git remote get-url origin` names."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("notebook_table", ROOT / "tools" / "notebook_table.py")
notebook_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebook_table)


@pytest.mark.parametrize("url", [
    "https://github.com/some-owner/cnn.vis.git", "https://github.com/some-owner/cnn.vis",
    "https://github.com/some-owner/cnn.vis/", "git@github.com:some-owner/cnn.vis.git",
    "ssh://git@github.com/some-owner/cnn.vis.git", "https://user@github.com/some-owner/cnn.vis.git\\n",
])
def test_github_remotes_give_owner_and_name(url):
    assert notebook_table.github_repo(url.replace("\\n", "\n")) == "some-owner/cnn.vis"


@pytest.mark.parametrize("url", [
    "/work/main", "https://gitlab.com/some-owner/cnn", "https://github.com/only-owner",
    "https://notgithub.com/a/b", "file:///srv/git/cnn.git",
])
def test_other_remotes_keep_the_placeholder(url):
    assert notebook_table.github_repo(url) is None


def test_readme_links_use_one_repository():
    readme = (ROOT / "README.md").read_text()
    named = notebook_table.re.search(r"<!-- BINDER_REPO: (\S+) -->", readme).group(1)
    linked = set(notebook_table.re.findall(r"https://mybinder\.org/v2/gh/([^/\s]+/[^/\s]+)/", readme))
    assert linked == {named}


def test_the_slide_to_code_table_names_real_functions_and_tests():
    import importlib

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Where a slide's code lives", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py")}
    assert {row.split("`")[1] for row in rows} == notebooks  # one row per notebook
    for row in rows:
        _, modules, functions, tests = [notebook_table.re.findall(r"`([\w.]+)`", cell)
                                        for cell in row.strip("|").split("|")]
        found = [importlib.import_module(f"lecture_utils.{m}") for m in modules]
        for name in functions:
            owner, _, attribute = name.rpartition(".")
            places = [importlib.import_module(f"lecture_utils.{owner}")] if owner else found
            assert any(hasattr(module, attribute) for module in places), (row.split("`")[1], name)
        for test in tests:
            assert (ROOT / "tests" / test).is_file(), test


def test_the_thumbnail_comes_from_the_tagged_cell_and_check_compares_the_picture():
    """The README thumbnail is cut from the figure of the cell tagged "thumbnail", wherever that
    cell sits; a stored thumbnail that is not that picture is reported."""
    import base64
    import io

    import nbformat
    from PIL import Image

    def png(colour):
        buffer = io.BytesIO()
        Image.new("RGB", (40, 20), colour).save(buffer, "PNG")
        return base64.b64encode(buffer.getvalue()).decode()

    def cell(colour, tags=()):
        code = nbformat.v4.new_code_cell("draw()", metadata={"tags": list(tags)})
        code.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png(colour)})]
        return code

    book = nbformat.v4.new_notebook(cells=[cell("red"), cell("blue", ["thumbnail"]), cell("green")])
    made = notebook_table.thumbnail(book, "99_made_up")
    assert made.getpixel((80, 40)) == (0, 0, 255)
    assert notebook_table.same_picture(made, notebook_table.thumbnail(book, "99_made_up"))
    book.cells[1].metadata["tags"] = []  # untagged: the largest picture, the first of equals
    assert not notebook_table.same_picture(made, notebook_table.thumbnail(book, "99_made_up"))
