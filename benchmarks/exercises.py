"""The exercises' checks (called by run.py): "one check call takes at most 5 s".

Each exercise's check is timed three ways: the reference solution on a cold start (the
exercise's inputs and the reference's outputs not built yet: what the first check in a fresh
notebook kernel pays), the reference again (warm), and a wrong answer that matches no known
mistake, which makes check try every mistake it knows (its slowest path). The slowest exercise
of each is the row. A fourth row: the reference on the bundled model too (check(..., model=)),
for the exercises that take a model.
"""

import time

import torch

from lecture_utils import load_model
from lecture_utils.exercises import EXERCISES, check, solution
from lecture_utils.exercises import _core

TARGET_S = 5.0


def _unknown_mistake(reference):
    """A wrong answer no mistake explains: the reference's output, changed a little."""
    def wrong(*args):
        out = reference(*args)
        if torch.is_tensor(out):
            return out * 1.37 + 0.01 if out.dtype.is_floating_point else out.flip(0)
        if isinstance(out, tuple):
            return tuple(v + 7 for v in out)
        return out + 7
    return wrong


def _seconds(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def rows():
    cold, warm, wrong = {}, {}, {}
    for name in EXERCISES:
        _core._CASES.pop(name, None)
        _core._EXPECTED.pop(name, None)
        cold[name] = _seconds(lambda: check(name, solution(name)))
        warm[name] = _seconds(lambda: check(name, solution(name)))
        result = None

        def failing():
            nonlocal result
            result = check(name, _unknown_mistake(solution(name)))

        wrong[name] = _seconds(failing)
        assert not result.passed, name
    model = load_model(device="cpu")
    bundled = {name: _seconds(lambda: check(name, solution(name), model=model))
               for name, ex in EXERCISES.items() if ex.model_case}
    out = []
    for label, times in (("reference, cold start", cold), ("reference, warm", warm),
                         ("a wrong answer, every mistake tried", wrong),
                         ("reference, also on the bundled model", bundled)):
        slowest = max(times, key=times.get)
        out.append((f"one exercise check, {label}: slowest of {len(times)} ({slowest}) (s)", times[slowest],
                    None, f"<= {TARGET_S:g}", times[slowest] <= TARGET_S))
    return out
