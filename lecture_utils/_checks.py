"""The package's one toolbox of plumbing: argument and image checks, classes by name or index,
fingerprints, the device, atomic saves.

Every module takes these from here (modules import only public names of each other, and this
toolbox). A check returns the value it accepted (converted: an int, a float, a detached tensor)
or raises a ValueError that names the argument, the value received and what is accepted; a
TypeError where the kind of object is wrong (an image that is not a float tensor). `bool` is
neither an int nor a number here: `steps=True` is a mistake, not 1.
"""

import contextlib
import difflib
import hashlib
import math
import numbers
import os
import tempfile
from pathlib import Path

import torch

# --- numbers and choices -----------------------------------------------------------------------


def integer(value, name, low=None, high=None):
    """`value` as an int in [low, high] (either bound may be None); ValueError otherwise."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or (low is not None and value < low) or (high is not None and value > high)):
        if low is not None and high is not None:
            accepted = f"an int from {low} to {high}"
        elif low is not None or high is not None:
            accepted = f"an int >= {low}" if low is not None else f"an int <= {high}"
        else:
            accepted = "an int"
        raise ValueError(f"{name} must be {accepted}; got {value!r}")
    return int(value)


def positive_int(value, name):
    """`value` as an int >= 1; ValueError otherwise."""
    return integer(value, name, low=1)


def number(value, name, low=None, high=None, *, open_low=False, open_high=False):
    """`value` as a finite float within the bounds (either may be None; open bounds exclude
    themselves); ValueError otherwise."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if ok and high is not None:
        ok = value < high if open_high else value <= high
    if not ok:
        raise ValueError(f"{name} must be {_number_range(low, high, open_low, open_high)}; got {value!r}")
    return float(value)


def _number_range(low, high, open_low, open_high):
    if low is not None and high is not None:
        return f"a number in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
    if low == 0 and open_low:
        return "a positive number"
    if low is not None:
        return f"a number {'>' if open_low else '>='} {low:g}"
    if high is not None:
        return f"a number {'<' if open_high else '<='} {high:g}"
    return "a finite number"


def positive_number(value, name):
    """`value` as a finite float > 0; ValueError otherwise."""
    return number(value, name, low=0, open_low=True)


def size(value, name):
    """A size in pixels as (height, width): an int (a square) or a pair of ints, each >= 1."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in pair):
        raise ValueError(f"{name} must be an int >= 1 or a pair (height, width) of them; got {value!r}")
    return int(pair[0]), int(pair[1])


def seed(value, name="seed", device="cpu"):
    """The random numbers a `seed` argument asks for: a torch.Generator on `device` seeded with
    `value` (an int >= 0: the same numbers on every run), or None (torch's global random
    numbers); TypeError otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise TypeError(f"{name} must be an int >= 0 (the same random numbers on every run) or None "
                        f"(torch's global random numbers); got {value!r}")
    return torch.Generator(device=device).manual_seed(int(value))


def one_of(value, name, accepted):
    """`value` if it is one of `accepted`; else a ValueError listing them."""
    try:
        found = value in accepted
    except TypeError:  # an unhashable value asked of a dict or set
        found = False
    if not found:
        raise ValueError(f"unknown {name} {value!r}; accepted: {', '.join(map(str, accepted))}")
    return value


# --- images ------------------------------------------------------------------------------------


def images(value, name="image", *, single=False):
    """A batch of images (N, 3, H, W) (with `single`: exactly one, (1, 3, H, W)) as this package
    takes them: a floating tensor of finite values in [0, 1]. Returns it detached.

    TypeError for what is not a floating tensor; ValueError for a wrong shape, NaN/inf values
    or values outside [0, 1].
    """
    shape = "(1, 3, H, W)" if single else "(N, 3, H, W)"
    if not torch.is_tensor(value) or not value.dtype.is_floating_point:
        got = f"a {value.dtype} tensor" if torch.is_tensor(value) else f"a {type(value).__name__}"
        raise TypeError(f"{name} must be a float tensor {shape} with values in [0, 1]; got {got} "
                        f"(lecture_utils.load_image gives one)")
    if (value.ndim != 4 or value.shape[1] != 3 or min(value.shape) < 1
            or (single and value.shape[0] != 1)):
        raise ValueError(f"{name} must be a tensor {shape} in [0, 1]; got shape {tuple(value.shape)} "
                         f"(lecture_utils.load_image gives (1, 3, H, W))")
    pixel_values(value, name)
    return value.detach()


def pixel_values(value, name, error=ValueError):
    """Raise `error` unless every value of the tensor is finite and in [0, 1] (pixel space)."""
    value = value.detach()
    bad = int((~torch.isfinite(value)).sum())
    if bad:
        raise error(f"{name} holds {bad} NaN/inf value{'s' if bad > 1 else ''}; give finite pixel values in [0, 1]")
    low, high = float(value.min()), float(value.max())
    if low < 0 or high > 1:
        raise error(f"{name} must hold values in [0, 1] (pixel space, not normalised); "
                    f"got values from {low:.4g} to {high:.4g}")


# --- classes -----------------------------------------------------------------------------------


def class_index(model, target, name="target"):
    """One class of `model` as an int: a name from `model.categories` (case-insensitive when
    that is unambiguous; an unknown name raises with similar names) or an index (an int or a
    one-element integer tensor)."""
    if isinstance(target, str):
        return _class_by_name(model, target, name)
    if torch.is_tensor(target):
        if target.numel() != 1 or target.dtype.is_floating_point or target.is_complex() \
                or target.dtype == torch.bool:
            raise ValueError(f"{name} must be one class: a name or an integer index; got a {target.dtype} "
                             f"tensor of shape {tuple(target.shape)}")
        target = target.item()
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise ValueError(f"{name} must be a class name from model.categories or an integer index; got {target!r}")
    count = _class_count(model)
    if target < 0 or (count is not None and target >= count):
        raise ValueError(f"{name} must be a class name from model.categories or an index "
                         f"0..{'N-1' if count is None else count - 1}; got {target!r}")
    return int(target)


def class_indices(model, targets, n, name="target"):
    """Classes for n images as a long tensor (n,): one class for all (a name or an index) or one
    per image (a sequence of names or indices, or an integer tensor)."""
    if isinstance(targets, (list, tuple)):
        indices = torch.tensor([class_index(model, t, name) for t in targets], dtype=torch.long)
    elif torch.is_tensor(targets) or hasattr(targets, "__array__"):  # a tensor or a NumPy array
        tensor = torch.as_tensor(targets)
        if tensor.dtype.is_floating_point or tensor.is_complex() or tensor.dtype == torch.bool:
            raise ValueError(f"{name} must hold integer class indices; got dtype {tensor.dtype}")
        indices = tensor.reshape(-1).long()
        if indices.numel():
            for extreme in (indices.min(), indices.max()):
                class_index(model, int(extreme), name)  # out of range: raises naming the range
    else:
        indices = torch.tensor([class_index(model, targets, name)])
    if indices.numel() not in (1, n):
        raise ValueError(f"{name} must be one class, or one class index per image ({n}); got {indices.numel()}")
    return indices.expand(n).clone()


def _class_count(model):
    categories = getattr(model, "categories", None)
    return len(categories) if categories is not None else None


def _class_by_name(model, target, name):
    categories = getattr(model, "categories", None)
    if categories is None:
        raise ValueError(f"{name} {target!r}: this model has no class names; give an index")
    if target in categories:
        return categories.index(target)
    lower = [c.lower() for c in categories]
    if lower.count(target.lower()) == 1:  # "Lemon" means "lemon"
        return lower.index(target.lower())
    query = target.lower()
    words = set(query.split())
    close = ([c for c in categories if query in c.lower()]  # "husky": Siberian husky
             + [c for c in categories if set(c.lower().split()) <= words]  # "tabby cat": tabby
             + [c for c in categories if words & set(c.lower().split())]  # "tabby cat": tiger cat
             + [categories[i] for i in map(lower.index, difflib.get_close_matches(query, lower, 5, 0.6))])  # "tabi": tabby
    close = list(dict.fromkeys(close))[:5]
    hint = f"; similar: {', '.join(close)}" if close else ""
    raise ValueError(f"unknown class {target!r}{hint} (model.categories lists all {len(categories)})")


# --- fingerprints ------------------------------------------------------------------------------


def fingerprint(*parts):
    """SHA-256 hex digest of strings, bytes and tensors, in order (a tensor by its values on the
    CPU only: give its shape as a string where that matters). Equal parts give equal digests."""
    digest = hashlib.sha256()
    for part in parts:
        if torch.is_tensor(part):
            part = part.detach().cpu().contiguous().numpy().tobytes()
        elif isinstance(part, str):
            part = part.encode()
        digest.update(part)
    return digest.hexdigest()


def image_key(*images):
    """A digest of images by their shapes and float32 values (a cache key, a training record)."""
    return fingerprint(*(part for image in images
                         for part in (str(tuple(image.shape)), image.detach().to("cpu", torch.float32))))


# --- the device --------------------------------------------------------------------------------


def device(value=None, name="device", types=None):
    """The torch.device to run on: None picks CUDA when a CUDA device is visible, else the CPU.

    A CUDA device must be visible and cuda:N within their count; `types` (e.g. ("cpu", "cuda"))
    restricts the kinds. ValueError naming the fix otherwise (`name` is how the caller spells
    the setting: "device" for a keyword, "--device" for the command line).
    """
    if value is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        chosen = None
    if chosen is None or (types is not None and chosen.type not in types):
        raise ValueError(f"{name} must be cpu, cuda or cuda:N; got {value!r}")
    if chosen.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"{_setting(name, value)}: there is no CUDA GPU here (PyTorch sees no CUDA "
                             f"device); use {_setting(name, 'cpu')}")
        if chosen.index is not None and chosen.index >= count:
            raise ValueError(f"{_setting(name, value)}: this machine has {count} CUDA device(s), cuda:0 to "
                             f"cuda:{count - 1}; use one of them or {_setting(name, 'cpu')}")
    return chosen


def _setting(name, value):
    return f"{name} {value}" if name.startswith("--") else f'{name}="{value}"'


# --- files -------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path):
    """A temporary path beside `path` to write to: when the block ends it replaces `path` in one
    step (readers see the old file or the whole new one); when the block raises it is deleted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    os.close(handle)
    try:
        yield Path(partial)
        os.chmod(partial, 0o644)  # mkstemp makes it private; these files are not secret
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def save_atomic(data, path):
    """`torch.save(data, path)`, atomically (see `atomic_path`)."""
    with atomic_path(path) as partial:
        torch.save(data, partial)
