"""Exercises with automatic feedback: students write the lecture's methods themselves.

    >>> from lecture_utils.exercises import check
    >>> check("saliency", saliency_map)      # a Result: .passed, .message; shows as one line

`check(name, fn)` runs `fn` on inputs it chooses (bundled photos, tiny networks with fixed
weights), compares with the reference solution and, on failure, names the likely mistake.
An unfilled skeleton (it raises NotImplementedError) gets "not done yet". `EXERCISES` maps
each name to its `Exercise` (`.notebook`, `.function`, `.title`); `solution(name)` is the
reference function, for instructors and tests.

In the notebooks' text sources the solutions are marked as nbgrader marks them
(### BEGIN SOLUTION / ### END SOLUTION); the student notebooks are built with them
stripped (tools/notebooks.py).
"""

from . import filters, feature_space, attribution, class_images, adversarial, deepdream  # noqa: F401 (they register)
from . import inversion, texture, style, fast_style  # noqa: F401
from ._core import REGISTRY as EXERCISES
from ._core import Result, check, get
from ._runner import TIME_LIMIT

__all__ = ["EXERCISES", "Result", "TIME_LIMIT", "check", "solution"]


def solution(name):
    """The reference solution of exercise `name` (a function with the skeleton's signature)."""
    return get(name).reference
