"""The private toolbox every module checks its arguments with: one message shape for each kind."""


import numpy as np
import pytest
import torch

from lecture_utils import _checks
from tests.helpers import tiny_model

# --- numbers and choices ----------------------------------------------------------------------


@pytest.mark.parametrize("value, low, high, message", [
    (0, 1, None, "steps must be an int >= 1; got 0"),
    (True, 1, None, "steps must be an int >= 1; got True"),  # bool is not an int
    (2.0, 1, None, "steps must be an int >= 1; got 2.0"),
    ("3", None, None, "steps must be an int; got '3'"),
    (11, 1, 10, "steps must be an int from 1 to 10; got 11"),
    (0, 0, 0, None),  # a bound of 0 is a bound (one of the old checks read `high and ...`)
    (1, 0, 0, "steps must be an int from 0 to 0; got 1"),
    (6, None, 5, "steps must be an int <= 5; got 6"),
])
def test_integer(value, low, high, message):
    if message is None:
        assert _checks.integer(value, "steps", low, high) == value
    else:
        with pytest.raises(ValueError, match=message):
            _checks.integer(value, "steps", low, high)


def test_integer_returns_a_plain_int():
    assert type(_checks.positive_int(np.int64(3), "n")) is int


@pytest.mark.parametrize("value, kwargs, message", [
    (0, dict(low=0, open_low=True), "lr must be a positive number; got 0"),
    (float("nan"), dict(low=0), "lr must be a number >= 0; got nan"),
    (float("inf"), {}, "lr must be a finite number; got inf"),
    (True, {}, "lr must be a finite number; got True"),
    (1.5, dict(low=0, high=1), r"lr must be a number in \[0, 1\]; got 1.5"),
    (1, dict(low=0, high=1, open_high=True), r"lr must be a number in \[0, 1\); got 1"),
    ("0.1", dict(low=0), "lr must be a number >= 0; got '0.1'"),
])
def test_number(value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _checks.number(value, "lr", **kwargs)


def test_number_returns_a_float():
    assert _checks.positive_number(2, "lr") == 2.0 and isinstance(_checks.positive_number(2, "lr"), float)
    assert _checks.number(1, "p", 0, 1) == 1.0


def test_one_of_lists_the_accepted():
    assert _checks.one_of("adam", "optimizer", ("adam", "lbfgs")) == "adam"
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'; accepted: adam, lbfgs"):
        _checks.one_of("sgd", "optimizer", ("adam", "lbfgs"))
    with pytest.raises(ValueError, match=r"unknown method \['a'\]; accepted: x"):
        _checks.one_of(["a"], "method", {"x": 1})  # unhashable: not found, no TypeError


# --- images -----------------------------------------------------------------------------------


def test_images_accepts_and_detaches():
    x = torch.rand(2, 3, 4, 5, requires_grad=True)
    checked = _checks.images(x)
    assert torch.equal(checked, x) and not checked.requires_grad
    assert _checks.images(torch.zeros(1, 3, 1, 1, dtype=torch.float64), single=True).dtype == torch.float64


@pytest.mark.parametrize("value, error, message", [
    (np.zeros((1, 3, 4, 4)), TypeError, r"image must be a float tensor \(N, 3, H, W\) .* got a ndarray"),
    (torch.zeros(1, 3, 4, 4, dtype=torch.uint8), TypeError, "got a torch.uint8 tensor"),
    (torch.zeros(3, 4, 4), ValueError, r"image must be a tensor \(N, 3, H, W\) in \[0, 1\]; got shape \(3, 4, 4\)"),
    (torch.zeros(1, 1, 4, 4), ValueError, r"got shape \(1, 1, 4, 4\)"),
    (torch.zeros(0, 3, 4, 4), ValueError, "got shape"),
    (torch.zeros(1, 3, 0, 4), ValueError, "got shape"),
    (torch.full((1, 3, 2, 2), -0.5), ValueError, r"values in \[0, 1\] \(pixel space, not normalised\); got values "
                                                 "from -0.5 to -0.5"),
    (torch.tensor(float("nan")).expand(1, 3, 2, 2), ValueError, "image holds 12 NaN/inf values"),
])
def test_bad_images(value, error, message):
    with pytest.raises(error, match=message):
        _checks.images(value, "image")


def test_one_image_when_asked():
    with pytest.raises(ValueError, match=r"style image must be a tensor \(1, 3, H, W\) .* got shape \(2, 3, 4, 4\)"):
        _checks.images(torch.rand(2, 3, 4, 4), "style image", single=True)


def test_one_non_finite_value_is_named_in_the_singular():
    x = torch.rand(1, 3, 4, 4)
    x[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="image holds 1 NaN/inf value;"):
        _checks.images(x, "image")


# --- classes ----------------------------------------------------------------------------------


def test_class_index_by_name_index_or_tensor(model):
    assert _checks.class_index(model, "lemon") == 951
    assert _checks.class_index(model, "Lemon") == 951
    assert _checks.class_index(model, 951) == _checks.class_index(model, np.int64(951)) == 951
    assert _checks.class_index(model, torch.tensor(951)) == _checks.class_index(model, torch.tensor([951])) == 951


@pytest.mark.parametrize("target, message", [
    (1000, r"target must be a class name from model.categories or an index 0..999; got 1000"),
    (-1, "index 0..999; got -1"),
    (2.0, "or an integer index; got 2.0"),
    (True, "or an integer index; got True"),
    (None, "or an integer index; got None"),
    (torch.tensor([1, 2]), r"target must be one class: .* shape \(2,\)"),
    (torch.tensor(1.0), "torch.float32 tensor"),
    ("husky", "unknown class 'husky'; similar: Siberian husky"),
    ("tabby cat", "unknown class 'tabby cat'; similar: tabby, tiger cat"),
    ("tabi", "unknown class 'tabi'; similar: tabby"),  # a misspelling: matched by closeness
    ("lemmon", "unknown class 'lemmon'; similar: lemon"),
])
def test_bad_classes(model, target, message):
    with pytest.raises(ValueError, match=message):
        _checks.class_index(model, target)


@pytest.mark.parametrize("size", [32.0, "32", (32,), (32, 0), (32, 2.5), True, None])
def test_bad_crop_sizes_say_what_is_accepted(size):
    with pytest.raises(ValueError, match="size must be an int >= 1 or a pair"):
        _checks.size(size, "size")


def test_seed_check():
    assert _checks.seed(None) is None
    assert torch.equal(torch.rand(3, generator=_checks.seed(7)), torch.rand(3, generator=torch.Generator().manual_seed(7)))
    for bad in (-1, 1.5, True, torch.Generator()):
        with pytest.raises(TypeError, match=r"seed must be an int >= 0 .* or None"):
            _checks.seed(bad)


def test_class_indices_for_a_batch(model):
    assert _checks.class_indices(model, "lemon", 3).tolist() == [951] * 3
    assert _checks.class_indices(model, ["lemon", 2, torch.tensor(5)], 3).tolist() == [951, 2, 5]
    assert _checks.class_indices(model, torch.tensor([[1], [2]]), 2).tolist() == [1, 2]
    assert _checks.class_indices(model, np.array([3]), 2).tolist() == [3, 3]
    with pytest.raises(ValueError, match=r"labels must be one class, or one class index per image \(2\); got 3"):
        _checks.class_indices(model, [1, 2, 3], 2, "labels")
    with pytest.raises(ValueError, match="labels must hold integer class indices; got dtype torch.float32"):
        _checks.class_indices(model, torch.tensor([0.5]), 1, "labels")
    with pytest.raises(ValueError, match="index 0..999; got 1000"):
        _checks.class_indices(model, torch.tensor([1, 1000]), 2)


def test_a_model_without_class_names_takes_any_index():
    net = torch.nn.Linear(2, 3)
    assert _checks.class_indices(net, 7, 2).tolist() == [7, 7]
    with pytest.raises(ValueError, match="this model has no class names; give an index"):
        _checks.class_index(net, "cat")


# --- fingerprints, device, files, keywords ----------------------------------------------------


def test_fingerprint_is_sha256_of_the_parts_in_order():
    import hashlib

    t = torch.arange(4, dtype=torch.int64)
    assert _checks.fingerprint("a", t) == hashlib.sha256(b"a" + t.numpy().tobytes()).hexdigest()
    assert _checks.fingerprint("a", "b") != _checks.fingerprint("b", "a")


def test_image_key_sees_shape_and_values():
    x = torch.rand(1, 3, 4, 6)
    assert _checks.image_key(x) == _checks.image_key(x.clone().double())
    assert _checks.image_key(x) != _checks.image_key(x.reshape(1, 3, 6, 4))
    assert _checks.image_key(x) != _checks.image_key(x + 1e-3)


def test_device(monkeypatch):
    assert _checks.device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _checks.device(None) == torch.device("cpu")
    with pytest.raises(ValueError, match='device="cuda": there is no CUDA GPU here .* use device="cpu"'):
        _checks.device("cuda")
    with pytest.raises(ValueError, match="--device cuda: there is no CUDA GPU here .* use --device cpu"):
        _checks.device("cuda", "--device")
    with pytest.raises(ValueError, match="--device must be cpu, cuda or cuda:N; got 'meta'"):
        _checks.device("meta", "--device", types=("cpu", "cuda"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert _checks.device(None) == torch.device("cuda")
    with pytest.raises(ValueError, match=r'device="cuda:1": this machine has 1 CUDA device\(s\), cuda:0 to cuda:0'):
        _checks.device("cuda:1")


def test_atomic_saves_leave_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "sub" / "state.pt"
    _checks.save_atomic({"a": 1}, path)
    assert torch.load(path) == {"a": 1} and (path.stat().st_mode & 0o777) == 0o644
    with pytest.raises(RuntimeError, match="half-way"):
        with _checks.atomic_path(path) as partial:
            partial.write_bytes(b"half")
            raise RuntimeError("half-way")
    assert torch.load(path) == {"a": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.pt"]  # no partial file is left
    _checks.save_atomic({"a": 2}, str(path))  # a str path works too
    assert torch.load(path) == {"a": 2}


def test_no_module_imports_private_names_of_another():
    import pathlib
    import re

    package = pathlib.Path(_checks.__file__).parent
    modules = {p.stem for p in package.glob("*.py")} | {p.name for p in package.iterdir() if p.is_dir()}
    offences = []
    for path in sorted(p for p in package.glob("*.py") if p.stem != "widgets"):  # the widgets: their own test
        text = path.read_text()
        for match in re.finditer(r"from \.+(\w+) import ([^\n(]+|\([^)]*\))", text):
            if match.group(1) == "_checks":
                continue
            names = re.findall(r"\b(_\w+)", match.group(2))
            offences += [f"{path.name}: from .{match.group(1)} import {n}" for n in names]
        for match in re.finditer(r"\b(\w+)\.(_[a-z]\w*)\b", text):
            if match.group(1) in modules - {"_checks"}:
                offences.append(f"{path.name}: {match.group(0)}")
    assert offences == [], "\n".join(offences)


def test_tiny_model_classes_by_name():
    assert _checks.class_indices(tiny_model(), ["class3", "CLASS0"], 2).tolist() == [3, 0]
