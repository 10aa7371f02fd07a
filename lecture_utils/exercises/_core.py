"""The machinery every exercise shares: the registry, `check` and its `Result`.

An `Exercise` holds the reference solution, the inputs it is checked on (`Case`s, built once)
and the likely mistakes (`Mistake`s). `check` calls the student's function on every case
(with a time limit, on fresh copies of the inputs), then:

1. reports a raise, a timeout, a None, a NumPy array or a value of the wrong kind;
2. reports a change of the inputs (in place) or of a model (hooks left, training mode,
   weights, gradients switched on), and puts our own model back as it was;
3. passes when every output agrees with the reference's (for a loss, its gradient too);
4. otherwise names the first mistake that explains the outputs: a `Mistake` whose wrong
   variant gives the same outputs, or whose test holds (e.g. values outside [0, 1]);
5. otherwise says how the outputs differ (a constant factor, shape, dtype, the indices, or
   how far the values are);
6. for an exercise that asks to remove its hooks also when the forward pass fails (`hooks`),
   calls the function once more with a model whose forward pass raises, and counts the hooks left.
"""

import copy
import html
import inspect
import math
import numbers
import re
from dataclasses import dataclass, field

import torch
from torch import nn

from ._runner import TIME_LIMIT, run

REGISTRY = {}  # name -> Exercise, in the order of the notebooks
_CASES, _EXPECTED = {}, {}  # name -> its cases, and the reference's outputs on them (built once)


@dataclass(frozen=True)
class Case:
    """The arguments of one call, and a few words about them for messages."""

    args: tuple
    about: str
    copy_models: bool = False  # a caller's model: every call gets its own copy
    fails: bool = False  # the model's forward pass raises on purpose: only what is left on the model counts


@dataclass(frozen=True)
class Mistake:
    """A likely mistake: its message, and how to recognise it. Either `variant`, a wrong
    implementation with the reference's signature (the mistake explains the outputs when the
    variant gives the same on every case), or `test(outputs, cases)` -> bool."""

    message: str
    variant: object = None
    test: object = None


@dataclass(frozen=True, kw_only=True)
class Exercise:
    name: str
    notebook: str
    function: str = ""  # the function's name in the notebook ("": the exercise's name)
    title: str
    reference: object
    cases: object  # () -> list of Case
    mistakes: tuple = ()
    kind: str = "tensor"  # "tensor", "index" (integer tensor), "scalar", "int" or "ints" (a tuple of ints)
    rtol: float = 1e-3
    atol: float = 1e-5  # relative to the largest |value| of the reference's output
    outliers: float = 0.0  # fraction of values allowed to differ (signs of near-zero gradients)
    graph: bool = False  # a loss: the result must stay connected to the inputs' graph
    hint: str = ""  # added to the message when the values differ for no known reason
    model_case: object = None  # (model) -> Case, for check(..., model=model)
    hooks: bool = False  # the text asks to remove the hooks also when the forward pass fails (try/finally)
    parameters: tuple = field(default=(), init=False)

    def __post_init__(self):
        object.__setattr__(self, "function", self.function or self.name)
        object.__setattr__(self, "parameters", tuple(inspect.signature(self.reference).parameters))


def exercise(**settings):
    """Define and register an exercise (see `Exercise`)."""
    ex = Exercise(**settings)
    REGISTRY[ex.name] = ex
    return ex


class Result:
    """What `check` found: `.passed` (bool), `.message` (str), `.status` ("passed", "failed"
    or "todo": the skeleton is not filled in yet). Shows itself as one coloured line."""

    MARKS = {"passed": "✓", "failed": "✗", "todo": "…"}
    COLORS = {"passed": ("#2e7d32", "#e8f5e9"), "failed": ("#c62828", "#ffebee"), "todo": ("#757575", "#f5f5f5")}

    def __init__(self, name, status, message):
        self.name, self.status, self.message = name, status, message

    @property
    def passed(self):
        return self.status == "passed"

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return f"{self.MARKS[self.status]} {self.name}: {self.message}"

    def _repr_html_(self):
        line, background = self.COLORS[self.status]
        text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(self.message))
        return (f'<div style="border-left: 5px solid {line}; background: {background}; padding: 6px 10px; '
                f'margin: 2px 0"><b>{self.MARKS[self.status]} {html.escape(self.name)}</b>: {text}</div>')


def get(name):
    if name not in REGISTRY:
        raise ValueError(f"unknown exercise {name!r}; exercises: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def check(name, fn, model=None, time_limit=TIME_LIMIT):
    """Check a student's function for exercise `name` (see `EXERCISES`); returns a `Result`.

    The function is called on inputs check chooses (bundled photos, a tiny network with
    fixed weights), each call within `time_limit` seconds, and compared with the reference
    solution. With `model` (e.g. the notebook's `load_model()`), exercises that take a model
    also run once on a copy of it: `model` itself is never changed.
    """
    ex = get(name)
    threads = torch.get_num_threads()
    # The inputs are tiny: on a busy 2-core CPU, two threads per operation made a check up to
    # 50 times slower than one (0.03 s against 7 s for integrated_gradients, measured).
    torch.set_num_threads(1)
    try:
        return _check(ex, fn, model, time_limit)
    finally:
        torch.set_num_threads(threads)


def _check(ex, fn, model, time_limit):
    name = ex.name
    if not callable(fn):
        return Result(name, "failed", f"check takes your function itself: check({name!r}, {ex.function}), "
                                      f"with no parentheses after {ex.function}.")
    cases = [c for c in _cases(ex) if not c.fails]
    expected = list(_expected(ex, cases))
    if model is not None:
        if ex.model_case is None:
            raise ValueError(f"exercise {name!r} takes no model; call check({name!r}, {ex.function})")
        extra = ex.model_case(model)
        cases.append(extra)
        expected.append(_evaluate(ex, ex.reference, _fresh(extra.args, True)))
    outputs = []
    for case in cases:
        value, problem = _call(ex, fn, case, time_limit)
        if problem == "todo":
            return Result(name, "todo", f"not done yet. Write {ex.function} where it says # YOUR CODE HERE "
                                        f"(in place of `raise NotImplementedError()`), then run this cell again.")
        if problem:
            return Result(name, "failed", problem)
        outputs.append(value)
    problem = _diagnose(ex, outputs, expected, cases)
    for case in _cases(ex):
        if case.fails and not problem:
            problem = _call(ex, fn, case, time_limit)[1]
    if problem:
        return Result(name, "failed", problem)
    inputs = "input" if len(cases) == 1 else f"{len(cases)} inputs"
    return Result(name, "passed", f"passed: {ex.function} agrees with the reference on {inputs} it had not seen.")


# --- calling ------------------------------------------------------------------------------------

def _cases(ex):
    if ex.name not in _CASES:
        cases = tuple(ex.cases())
        if ex.hooks:  # the first case again, on a model whose forward pass fails
            args = tuple(_failing(a) if isinstance(a, nn.Module) else a for a in cases[0].args)
            cases += (Case(args, "a model whose forward pass fails", fails=True),)
        _CASES[ex.name] = cases
    return _CASES[ex.name]


def _failing(model):
    """A copy of `model` whose last layer raises: every hooked layer runs, then the forward pass fails."""
    def fail(*inputs):
        raise RuntimeError("this model's forward pass fails on purpose (check tests that the hooks go)")

    broken = copy.deepcopy(model)
    [m for m in broken.modules() if not list(m.children())][-1].forward = fail
    return broken


def _expected(ex, cases):
    if ex.name not in _EXPECTED:
        _EXPECTED[ex.name] = tuple(_evaluate(ex, ex.reference, _fresh(c.args)) for c in cases)
    return _EXPECTED[ex.name]


def _evaluate(ex, fn, args):
    """fn(*args) as it is compared: (the output, a loss's gradients or None)."""
    with torch.enable_grad():
        value = fn(*args)
    return _output(value), _gradients(ex, value, args)


def _gradients(ex, value, args):
    """For a loss (`graph`): its gradients with respect to the inputs that ask for them, as
    [(name, gradient)] (zeros where the loss does not depend on one); else None."""
    if not (ex.graph and torch.is_tensor(value) and value.numel() == 1 and value.requires_grad):
        return None
    leaves = []
    for name, arg in zip(ex.parameters, args):
        items = arg.items() if isinstance(arg, dict) else [(None, arg)]
        leaves += [(name if key is None else f"{name}[{key!r}]", v) for key, v in items
                   if torch.is_tensor(v) and v.requires_grad]
    grads = torch.autograd.grad(value.sum(), [v for _, v in leaves], allow_unused=True) if leaves else ()
    return [(n, torch.zeros_like(v) if g is None else g) for (n, v), g in zip(leaves, grads)]


def _output(value):
    """A reference's output as it is compared: tensors detached, numbers as they are."""
    if torch.is_tensor(value):
        return value.detach()
    if isinstance(value, tuple):
        return tuple(_output(v) for v in value)
    return value


def _fresh(value, copy_models=False):
    """A copy of the arguments: tensors cloned (a leaf that required gradients still does),
    containers copied, our models shared (a caller's model copied when `copy_models`)."""
    if torch.is_tensor(value):
        clone = value.detach().clone()
        return clone.requires_grad_(True) if value.requires_grad else clone
    if isinstance(value, nn.Module):
        return copy.deepcopy(value) if copy_models else value
    if isinstance(value, dict):
        return {k: _fresh(v, copy_models) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_fresh(v, copy_models) for v in value)
    return copy.deepcopy(value)


def _call(ex, fn, case, seconds):
    """((output, gradients), None), or (None, "todo"), or (None, a message). For a failing case
    (`case.fails`) only what the call left on the model counts, not whether it raised."""
    args = _fresh(case.args, case.copy_models)
    pristine = _fresh(case.args)
    models = [a for a in args if isinstance(a, nn.Module)]
    snapshots = [_Snapshot(m) for m in models]
    with torch.enable_grad():
        outcome = run(fn, args, seconds)
    changes = [s.change(m, case.fails) for s, m in zip(snapshots, models)]
    for snapshot, model, change in zip(snapshots, models, changes):
        if change and not case.copy_models:
            snapshot.restore(model)  # our own network: back as it was for the next check
    if outcome.todo:
        return None, "todo"
    if outcome.problem and not case.fails:
        return None, outcome.problem
    name = getattr(fn, "__name__", "your function")
    for change in changes:
        if change:
            return None, f"{name} {change}"
    for parameter, arg, before in zip(ex.parameters, args, pristine):
        change = _changed(arg, before, parameter)
        if change:
            return None, f"{name} {change}"
    try:
        return (outcome.value, _gradients(ex, outcome.value, args)), None
    except RuntimeError:  # a backward() inside freed the graph
        return None, (f"{name} returned a loss whose gradient cannot be taken any more (was backward() called on "
                      f"it inside?). Return the loss as it is, with no backward() on it: the optimiser does that.")


def _changed(arg, before, name):
    """What the student's function did to an input, or None."""
    if torch.is_tensor(arg):
        if arg.shape != before.shape or not torch.equal(arg.detach(), before):
            return (f"changed its input `{name}` in place (+=, clamp_, x[...] = ... on it, or .data). Leave the "
                    f"input as it was: work on a copy, x = {name}.clone(), or write x = x + ... .")
        if arg.requires_grad and not before.requires_grad:
            return (f"switched on gradients for its input `{name}` (the caller's tensor now records a graph "
                    f"and keeps a .grad). Ask for them on a copy: x = {name}.clone().requires_grad_(True).")
        return None
    if isinstance(arg, dict):
        for key in before:
            change = _changed(arg.get(key), before[key], f"{name}[{key!r}]") if key in arg else \
                f"removed the entry {key!r} from its input `{name}`."
            if change:
                return change
        return None
    if isinstance(arg, (list, tuple)) and not isinstance(arg, nn.Module):
        if len(arg) != len(before) or any(_changed(a, b, f"{name}[{i}]") for i, (a, b) in enumerate(zip(arg, before))):
            return f"changed its input `{name}` (a list); leave it as it was, work on a copy."
        return None
    if isinstance(arg, nn.Module):
        return None
    return None if arg == before else f"changed its input `{name}`."


_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
# where torch keeps more about a hook, under the same id
_HOOK_EXTRAS = ("_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs")


def _hooks(model):
    """The ids of every hook on the model's modules, with the module's place: {(index, id)}."""
    return {(i, key) for i, m in enumerate(model.modules()) for n in _HOOKS for key in getattr(m, n, {})}


class _Snapshot:
    """A model's state before the student's call: to see what the call changed, and undo it."""

    def __init__(self, model):
        self.training = [m.training for m in model.modules()]
        self.hooks = _hooks(model)
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.requires_grad = [p.requires_grad for p in model.parameters()]

    def change(self, model, failed=False):
        count = len(_hooks(model) - self.hooks)
        if count and failed:
            return (f"left {count} hook{'s' if count > 1 else ''} on the model when the forward pass raised an "
                    f"error. Remove the hook in a `finally:` block, so that it goes also when something fails: "
                    f"handle = ...register_forward_hook(...), then try: model(x) finally: handle.remove().")
        if count:
            return (f"left {count} hook{'s' if count > 1 else ''} on the model. Keep the handle that "
                    f"register_forward_hook returns and call handle.remove() when you have the activations "
                    f"(in a `finally:` block, so that the hook goes also when something fails).")
        if [m.training for m in model.modules()] != self.training:
            return ("left the model in training mode (model.train()): batch norm then uses the batch's own "
                    "statistics and the outputs change. Leave the mode alone (the model comes in eval mode).")
        if [p.requires_grad for p in model.parameters()] != self.requires_grad:
            return ("switched on gradients for the model's weights (requires_grad_): only the image needs "
                    "gradients here; the weights stay fixed.")
        state = model.state_dict()
        if state.keys() != self.state.keys() or any(not torch.equal(state[k], v) for k, v in self.state.items()):
            return "changed the model's weights: the image changes here, the network stays as it is."
        return None

    def restore(self, model):
        for m, training in zip(model.modules(), self.training):
            m.training = training
        modules = list(model.modules())
        for i, key in _hooks(model) - self.hooks:  # only the hooks the call added
            for name in _HOOKS + _HOOK_EXTRAS:
                getattr(modules[i], name, {}).pop(key, None)
        for p, flag in zip(model.parameters(), self.requires_grad):
            p.requires_grad_(flag)
            p.grad = None
        with torch.no_grad():
            for k, v in model.state_dict().items():
                v.copy_(self.state[k])


# --- judging ------------------------------------------------------------------------------------

def _diagnose(ex, outputs, expected, cases):
    """None when every output (and a loss's gradient) agrees with the reference; else the
    message that explains why not. outputs and expected hold (value, gradients) pairs."""
    values = []
    for (out, _), (exp, _), case in zip(outputs, expected, cases):
        value, problem = _as_kind(ex, out, exp, case)
        if problem:
            return problem
        values.append(value)
    references = [exp for exp, _ in expected]
    if all(_same(ex, v, e, strict=True) for v, e in zip(values, references)):
        return _gradient_difference(ex, outputs, expected, cases)
    for mistake in ex.mistakes:
        if _explains(ex, mistake, values, cases):
            return mistake.message
    if ex.kind in ("tensor", "scalar") and all(v.shape == e.shape for v, e in zip(values, references)):
        factor = ratio(torch.cat([v.flatten() for v in values]), torch.cat([e.flatten() for e in references]))
        if factor is not None and abs(factor - 1) > 1e-2:
            return f"{_factor(factor)} {ex.hint}".strip()
    for value, exp, case in zip(values, references, cases):
        if not _same(ex, value, exp, strict=True):
            return _difference(ex, value, exp, case)
    return None


def _gradient_difference(ex, outputs, expected, cases):
    """The message when a loss has the right value but not the right gradient, else None."""
    for (_, grads), (_, wanted), case in zip(outputs, expected, cases):
        for (name, got), (_, exp) in zip(grads or (), wanted or ()):
            if not _close(ex, got, exp):
                return (f"the value is right, but its gradient with respect to `{name}` is not ({case.about}): part "
                        f"of the loss was computed without a graph back to `{name}` (under torch.no_grad(), or "
                        f"through .detach(), .item(), .data or a copy), so an optimiser following this loss would "
                        f"not follow that part. Compute every term with torch operations on `{name}` itself.")
    return None


def ratio(got, expected):
    """r when got = r * expected for one number r (to 1e-3 of got's norm), else None."""
    got, expected = got.double().flatten(), expected.double().flatten()
    norm = float(expected @ expected)
    if got.shape != expected.shape or norm == 0:
        return None
    r = float(got @ expected) / norm
    return r if r != 0 and float((got - r * expected).norm()) <= 1e-3 * float(got.norm()) else None


def _factor(r):
    """What a constant factor r between the answer and the reference says, in words."""
    k = abs(r) if abs(r) >= 1 else 1 / abs(r)
    k = str(round(k)) if abs(k - round(k)) <= 1e-3 * k else f"{k:.4g}"
    sign = " The sign is reversed too." if r < 0 else ""
    if k == "1":
        return "the values are the reference's with the opposite sign, on every input: a sign is reversed."
    if abs(r) > 1:
        return (f"the values are {k} times the reference's, on every input: a factor 1/{k} is missing (or there "
                f"is a factor {k} too many).{sign}")
    return (f"the values are 1/{k} of the reference's, on every input: a factor {k} is missing (or there is a "
            f"division by {k} too many).{sign}")


def _explains(ex, mistake, values, cases):
    with torch.enable_grad():
        if mistake.test is not None:
            return bool(mistake.test(values, cases))
        try:
            wrong = [_output(mistake.variant(*_fresh(c.args, c.copy_models))) for c in cases]
        except Exception:  # noqa: BLE001 (a variant that cannot run on a case explains nothing)
            return False
    return all(_same(ex, v, w, strict=False) for v, w in zip(values, wrong))


def _as_kind(ex, out, expected, case):
    """(the output in a comparable form, None), or (None, a message about its kind)."""
    if out is None:
        return None, "returned None. Is the `return` line missing?"
    if type(out).__module__ == "numpy" and hasattr(out, "shape") and out.shape != ():
        return None, ("returned a NumPy array. Return a torch tensor: stay with torch operations "
                      "(no .numpy()), or convert back with torch.from_numpy(...).")
    if ex.kind in ("int", "ints"):
        return _as_ints(ex, out, expected)
    if ex.kind == "scalar":
        return _as_scalar(ex, out)
    if not torch.is_tensor(out):
        return None, f"returned a {type(out).__name__}; return a tensor of shape {tuple(expected.shape)}."
    if out.dtype.is_floating_point and not torch.isfinite(out).all():
        return None, "the result holds NaN or infinite values (a division by zero, or a log of 0?)."
    return out.detach(), None


def _as_scalar(ex, out):
    if isinstance(out, bool) or not (isinstance(out, numbers.Real) or torch.is_tensor(out)):
        return None, f"returned a {type(out).__name__}; return one number (a tensor with one value)."
    if not torch.is_tensor(out):
        if ex.graph:
            return None, ("returned a Python number. A loss must stay a tensor connected to the image, so that "
                          "backward() can follow it: leave out .item() and float().")
        out = torch.tensor(float(out))
    if out.numel() != 1:
        return None, (f"returned a tensor of shape {tuple(out.shape)}; return one number: add the terms up "
                      f"(.sum()).")
    if ex.graph and out.grad_fn is None:
        return None, ("the loss has no gradient: it is not connected to its inputs' graph. Compute it with "
                      "torch operations, with no .detach(), .item(), .numpy() or torch.no_grad() on the way.")
    if not math.isfinite(float(out.detach())):
        return None, "the result is NaN or infinite (a division by zero?)."
    return out.detach().reshape(()), None


def _as_ints(ex, out, expected):
    def one(v):
        if torch.is_tensor(v) and v.numel() == 1 and not v.dtype.is_floating_point:
            v = v.item()
        if isinstance(v, bool):
            return None, f"returned {v}, a bool; return a whole number."
        if isinstance(v, numbers.Integral):
            return int(v), None
        if isinstance(v, numbers.Real):
            if float(v).is_integer():
                return None, f"returned {v}, a float: return an int (// divides and rounds down to an int)."
            return None, f"returned {v}: a layer has a whole number of positions; use // (it rounds down)."
        return None, f"returned a {type(v).__name__}; return an int."

    if ex.kind == "int":
        return one(out)
    if not isinstance(out, (tuple, list)) or len(out) != len(expected):
        return None, f"returned {out!r}; return a tuple of {len(expected)} ints, e.g. {tuple(expected)!r}."[:300]
    values = []
    for v in out:
        value, problem = one(v)
        if problem:
            return None, problem
        values.append(value)
    return tuple(values), None


def _same(ex, got, expected, strict):
    if ex.kind in ("int", "ints"):
        return got == expected
    if ex.kind == "scalar":
        return _close(ex, got, expected)
    if got.shape != expected.shape or got.dtype.is_floating_point != expected.dtype.is_floating_point:
        return False
    if not expected.dtype.is_floating_point:  # indices: any integer dtype, the same values
        return torch.equal(got.long(), expected.long())
    if strict and got.dtype != expected.dtype:
        return False
    return _close(ex, got, expected)


def _close(ex, got, expected):
    got, expected = got.double(), expected.double()
    if got.shape != expected.shape:
        return False
    scale = float(expected.abs().max()) if expected.numel() else 0.0
    tolerance = ex.atol * max(scale, 1e-12) + ex.rtol * expected.abs()
    off = (got - expected).abs() > tolerance
    return float(off.double().mean()) <= ex.outliers if off.numel() else True


def _difference(ex, got, expected, case):
    if ex.kind in ("int", "ints"):
        return f"returned {got!r} for {case.about}; the answer there is {expected!r}."
    if ex.kind == "scalar":
        return (f"returned {float(got):.6g} for {case.about}; the reference gives {float(expected):.6g}. "
                f"{ex.hint}").strip()
    if got.shape != expected.shape:
        hint = ""
        if tuple(got.shape) == tuple(expected.shape[1:]):
            hint = " The batch dimension is missing: keep N, the number of images, in front."
        return f"returned shape {tuple(got.shape)}; expected {tuple(expected.shape)} for {case.about}.{hint}"
    if got.dtype != expected.dtype and (ex.kind != "index" or got.dtype.is_floating_point):
        if ex.kind == "index":
            return (f"returned {got.dtype} values; return indices as an integer tensor (what topk(...).indices "
                    f"or argsort gives).")
        return (f"returned {got.dtype} values; expected {expected.dtype}, the dtype of the inputs (a round "
                f"trip through NumPy or torch.tensor(...) changes it).")
    if ex.kind == "index":
        order = " (the same indices in another order: the most similar comes first)" if torch.equal(
            got.long().sort().values, expected.long().sort().values) else ""
        return (f"returned the indices {got.tolist()} for {case.about}; the reference's are {expected.tolist()}"
                f"{order}.")
    largest = float((got.double() - expected.double()).abs().max())
    scale = float(expected.abs().max())
    return (f"the values differ from the reference's for {case.about}: by up to {largest:.3g}, where the "
            f"reference's values reach {scale:.3g}. {ex.hint}").strip()
