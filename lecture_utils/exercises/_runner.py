"""Call a student's function safely: a time limit, and any failure turned into one or two
friendly sentences instead of a traceback.

`run(fn, args, seconds)` returns `Outcome(value=...)` or `Outcome(todo=True)` (the skeleton
still raises NotImplementedError) or `Outcome(problem="...")`.
"""

import linecache
import signal
import threading
import traceback
from dataclasses import dataclass

TIME_LIMIT = 10.0  # seconds per call of the student's function; the references take well under 1 s


class _TimeUp(BaseException):
    """Raised by the alarm. A BaseException, so a student's `except Exception:` does not swallow it."""


@dataclass
class Outcome:
    value: object = None
    problem: str = None
    todo: bool = False


def run(fn, args, seconds=TIME_LIMIT):
    """fn(*args) within `seconds`, as an Outcome (never raises, except KeyboardInterrupt)."""
    if _alarm_works():
        return _with_alarm(fn, args, seconds)
    return _in_thread(fn, args, seconds)


def _alarm_works():
    # SIGALRM exists on Unix only, and Python runs signal handlers in the main thread only
    # (a Jupyter kernel runs cells there).
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _with_alarm(fn, args, seconds):
    def ring(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return _call(fn, args, seconds)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _in_thread(fn, args, seconds):
    # No alarm here (Windows, or not the main thread): run in a helper thread and stop waiting
    # after `seconds`. Python cannot stop that thread; it goes on in the background.
    box = []
    worker = threading.Thread(target=lambda: box.append(_call(fn, args, seconds)), daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        return Outcome(problem=_too_slow(fn, seconds) + " (It may still be running in the background.)")
    return box[0]


def _call(fn, args, seconds):
    try:
        return Outcome(value=fn(*args))
    except NotImplementedError as error:
        if _raised_by(error, fn) and not str(error):
            return Outcome(todo=True)
        return Outcome(problem=describe(error, fn))
    except _TimeUp:
        return Outcome(problem=_too_slow(fn, seconds))
    except RecursionError:
        return Outcome(problem=f"{_name(fn)} calls itself without end (RecursionError).")
    except Exception as error:  # noqa: BLE001 (every failure becomes a message)
        return Outcome(problem=describe(error, fn))


def _too_slow(fn, seconds):
    return (f"{_name(fn)} did not finish within {seconds:g} s. Is there a loop that never ends "
            f"(a `while` whose condition stays true)?")


def _name(fn):
    return getattr(fn, "__name__", "your function")


def _raised_by(error, fn):
    """True when the error was raised in fn's own code (the skeleton's `raise NotImplementedError()`)."""
    frames = traceback.extract_tb(error.__traceback__)
    code = getattr(fn, "__code__", None)
    return bool(frames) and code is not None and frames[-1].filename == code.co_filename


# Known errors: a piece of PyTorch's message -> what it usually means in these exercises.
HINTS = (
    ("does not require grad and does not have a grad_fn",
     "The gradient needs an input that asks for it: x = image.clone().requires_grad_(True) before the "
     "forward pass, and no torch.no_grad() around the forward pass."),
    ("One of the differentiated Tensors appears to not have been used in the graph",
     "The tensor you ask the gradient of was not used to compute the score: pass that same tensor "
     "(not a copy of it) to the model."),
    ("leaf Variable that requires grad is being used in an in-place operation",
     "Change the image out of place (x = x + step) or inside `with torch.no_grad():`."),
    ("a view of a leaf Variable that requires grad",
     "Change the image out of place (x = x + step) or inside `with torch.no_grad():`."),
    ("backward through the graph a second time",
     "Each backward pass needs its own forward pass: compute the score again inside the loop."),
    ("grad can be implicitly created only for scalar outputs",
     "backward() and autograd.grad need one number: select the target scores and .sum() them."),
    ("Can't call numpy() on Tensor that requires grad",
     "Stay with torch tensors (or call .detach() before .numpy())."),
    ("modified by an inplace operation",
     "A tensor the backward pass needs was changed in place (+=, clamp_, ...): use x = x + ... instead."),
)


def describe(error, fn):
    """One or two sentences: what was raised, where in the student's code, and a hint."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if len(text) > 240:
        text = text[:237] + "..."
    where = _student_line(error, fn)
    said = f"{_name(fn)} raised {type(error).__name__}{where}" + (f": {text}" if text else ".")
    if not said.endswith((".", "!", "?")):
        said += "."
    return f"{said} {_hint(error, where)}".strip()


def _hint(error, where):
    message = str(error)
    if isinstance(error, AttributeError) and "'NoneType'" in message:
        if "grad" in where:
            return ("x.grad is None: call backward() first, on a score computed from x, and use x.grad "
                    "of the tensor you made with requires_grad_(True) (a leaf, not a result of it).")
        return "Something is None here: a function that forgot its `return`?"
    for piece, hint in HINTS:
        if piece in message:
            return hint
    if isinstance(error, (RuntimeError, ValueError)) and ("size" in message or "shape" in message):
        return "Print the shapes of the tensors on that line (x.shape) and compare them with the docstring."
    if isinstance(error, TypeError) and "positional argument" in message:
        return "Keep the signature of the skeleton: check calls your function with those arguments."
    return ""


def _student_line(error, fn):
    """' at line N (`code`)' for the deepest frame of the traceback in the student's own file."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == code.co_filename]
    if not frames:
        return ""
    frame = frames[-1]
    line = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
    if frame.name == code.co_name:  # counted from the `def` line: what the cell shows
        place = f" at line {frame.lineno - code.co_firstlineno + 1} of {_name(fn)}"
    else:
        place = f" in {frame.name}"
    return f"{place} (`{line}`)" if line else place
