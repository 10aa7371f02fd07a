"""The same algorithms on CUDA give the CPU's results (skipped without a GPU)."""

from contextlib import contextmanager
from copy import deepcopy

import pytest
import torch

from lecture_utils import get_activations, load_image, load_model, predict
from lecture_utils.images import center_square

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def models():
    return load_model(device="cpu"), load_model(device="cuda")


@contextmanager
def fp32_precision(mode):
    """cuDNN's convolutions and cuBLAS's float32 matrix products in `mode` ("ieee": full float32,
    or "tf32"), then PyTorch's own settings back."""
    if hasattr(torch.backends.cudnn, "conv"):  # torch >= 2.9: per-backend settings, which the old
        # flags (torch.backends.cudnn.allow_tf32, ...) would overwrite with pinned values on restore
        changed = torch.backends.cudnn.conv, torch.backends.cuda.matmul
        settings = torch.backends.cudnn, *changed, torch.backends.cudnn.rnn
        saved = [s.fp32_precision for s in settings]
        for setting in changed:
            setting.fp32_precision = mode
        try:
            yield
        finally:
            for setting, value in zip(settings, saved):  # the parent first: it resets its children
                setting.fp32_precision = value
    else:
        saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
        try:
            yield
        finally:
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.fixture
def float32():
    """Full float32 arithmetic for a test that compares the algorithms on the two devices.

    By default cuDNN convolves in TF32 on Ampere and later GPUs (a 10-bit mantissa): the same
    network then differs from the CPU by more than float rounding; `test_tf32_stays_close`
    bounds that difference.
    """
    with fp32_precision("ieee"):
        yield


def test_default_device_is_cuda_when_present():
    assert load_model().device.type == "cuda"


def test_predictions_match_the_cpu(models):
    cpu, gpu = models
    image = center_square(load_image("espresso"))
    on_cpu, on_gpu = predict(cpu, image), predict(gpu, image.cuda())
    assert [i for i, _, _ in on_cpu] == [i for i, _, _ in on_gpu]
    assert all(abs(a[2] - b[2]) < 1e-3 for a, b in zip(on_cpu, on_gpu))


def activation_errors(models):
    """{layer: max |cpu - gpu| / max |cpu|} of the cat photo's activations at every named layer."""
    cpu, gpu = models
    image = load_image("cat", size=224)
    with torch.no_grad():
        a = get_activations(cpu, image, list(cpu.layers))
        b = get_activations(gpu, image.cuda(), list(gpu.layers))
    return {name: float((a[name] - b[name].cpu()).abs().max() / a[name].abs().max()) for name in a}


def test_activations_match_the_cpu(models, float32):
    errors = activation_errors(models)
    assert max(errors.values()) <= 1e-4, errors


def test_tf32_stays_close(models):
    """With TF32 convolutions, PyTorch's default on the GPUs that have them."""
    if torch.cuda.get_device_capability()[0] < 8:
        pytest.skip("TF32 needs an Ampere or later GPU")
    with fp32_precision("tf32"):
        errors = activation_errors(models)
    assert max(errors.values()) <= 1e-2, errors  # measured on an H100: at most 5.2e-3 (the head)


@pytest.mark.parametrize("name", ["saliency", "guided_backprop", "grad_cam", "cam", "occlusion",
                                  "smoothgrad", "integrated_gradients"])
def test_attribution_matches_the_cpu(models, float32, name):
    from lecture_utils import attribution as A

    cpu, gpu = models
    image = load_image("cat", size=(96, 128))
    kwargs = {"smoothgrad": {"samples": 4, "seed": 0},
              "integrated_gradients": {"steps": 8}, "occlusion": {"window": 32, "stride": 32}}.get(name, {})
    a = A.METHODS[name](cpu, image, 285, **kwargs)
    b = A.METHODS[name](gpu, image.cuda(), 285, **kwargs).cpu()
    assert b.shape == a.shape
    corr = torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1]
    assert corr > 0.99, (name, float(corr))


def nudged(model, relative=1e-6):
    """A copy of a CPU model with every weight moved by about `relative` of itself (a few float32
    roundings: what other convolution algorithms do to the same weights)."""
    copy = deepcopy(model)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in copy.parameters():
            p.mul_(1 + relative * torch.randn(p.shape, generator=generator))
    return copy


@pytest.mark.parametrize("recipe", ["class_image", "deepdream", "invert"])
def test_image_optimisation_matches_the_cpu(models, float32, recipe):
    """The GPU's image is as close to the CPU's as float rounding allows.

    These recipes amplify rounding: Adam's first steps are nearly sign(gradient), DeepDream's
    L1-normalised steps are large where the gradient is, and ReLU6 gates flip. Measured on the
    CPU alone, weights nudged by 1e-6 of themselves move single pixels after these few steps by
    0.11 (class image), 0.19 (DeepDream) and 0.03 (inversion); on an H100 the GPU's images
    differed from the CPU's by at most 0.084, 0.16 and under 0.02. So the bound is the nudged
    run's own difference, with a margin.
    """
    from lecture_utils import optimize as opt

    photo = center_square(load_image("palace"), 128)

    def run(model):  # the same seed draws the same jitter on both devices (a CPU generator)
        if recipe == "class_image":
            steps = opt.iterate_class_image(model, "lemon", steps=5, size=128)
        elif recipe == "deepdream":
            steps = opt.iterate_deepdream(model, photo, "stage4", steps=3, octaves=2)
        else:
            steps = opt.iterate_inversion(model, photo, "stage3", steps=5)
        return opt.finish(steps).image

    cpu, gpu = models
    on_cpu, on_gpu = run(cpu), run(gpu)
    assert on_gpu.device.type == "cpu"  # Step images come back on the CPU for display
    rounding = (run(nudged(cpu)) - on_cpu).abs().max()
    assert (on_gpu - on_cpu).abs().max() <= max(2e-2, 1.5 * rounding)


def test_fast_style_network_matches_the_cpu_and_trains_on_cuda(models, tmp_path):
    from lecture_utils import fast_style as fs

    cpu_model, gpu_model = models
    name = fs.shipped_styles()[0]
    photo = load_image("palace", 256)
    on_cpu = fs.stylize(fs.load_style_network(name), photo)
    on_gpu = fs.stylize(fs.load_style_network(name, device="cuda"), photo.cuda())
    assert on_gpu.device.type == "cuda" and (on_cpu - on_gpu.cpu()).abs().max() < 1e-2
    photos = [load_image(n, 64) for n in ("cat", "rocket")]
    net = fs.train(gpu_model, load_image("cafe_terrace", 64), photos, tmp_path / "gpu.ckpt", steps=3,
                   size=32, batch_size=2, width=4, blocks=1)
    assert next(net.parameters()).device.type == "cuda" and net.steps_trained == 3


def test_train_style_command_trains_on_the_gpu_by_default(tmp_path, capsys, monkeypatch):
    from lecture_utils import __main__ as cli
    from lecture_utils import fast_style as fs
    from lecture_utils.images import save_image

    monkeypatch.setenv("LECTURE_UTILS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "photos").mkdir()
    save_image(load_image("cat", 64), tmp_path / "photos" / "cat.png")
    out = tmp_path / "cafe.pt"
    assert cli.main(["train-style", "cafe_terrace", "--images", str(tmp_path / "photos"), "--out", str(out),
                     "--steps", "2", "--size", "32", "--batch", "2", "--width", "4", "--blocks", "1"]) == 0
    assert "on cuda" in capsys.readouterr().out
    assert fs.load_style_network(out).settings["device"] == "cuda"
