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
