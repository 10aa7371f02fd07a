"""The one build step pyproject.toml cannot express: the wheel carries the repository's data/.

The library loads its bundled photos, unit atlas and style networks by name from one folder,
`lecture_utils.images.DATA_DIR`: in a checkout (or an editable install) that is data/ beside the
package; in an installed wheel it is lecture_utils/data/, copied here from data/. setuptools'
package discovery (pyproject.toml) cannot map a folder outside the package into it, so this
build_py adds data/ as package data of lecture_utils. An sdist gets the same files.
"""

import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = "data"
# What the library reads from data/ (and the notes with the files' sources and licences); not
# the scripts that made them (data/*.py, data/fast_style/*.sh).
DATA_FILES = ("*.jpg", "*.npy", "faithfulness.json", "README.md", "atlas/**/*", "fast_style/*.pt",
              "fast_style/README.md")


class BuildPyWithData(build_py):
    def _data(self):
        root = Path(DATA)
        names = sorted({path.relative_to(root).as_posix() for pattern in DATA_FILES
                        for path in root.glob(pattern) if path.is_file()})
        if not any(name.endswith(".jpg") for name in names):
            raise SystemExit(f"no bundled photos in {root.resolve()}: build from a clone of the repository "
                             "(its data/ folder ships inside the wheel)")
        return ("lecture_utils.data", DATA, os.path.join(self.build_lib, "lecture_utils", DATA), names)

    def _get_data_files(self):  # the wheel's
        return [*super()._get_data_files(), self._data()]

    def get_data_files_without_manifest(self):  # the sdist's
        return [*super().get_data_files_without_manifest(), self._data()]


setup(cmdclass={"build_py": BuildPyWithData})
