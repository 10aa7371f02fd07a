"""The same algorithms on CUDA give the CPU's results (skipped without a GPU)."""

import pytest
import torch

from lecture_utils import get_activations, load_image, load_model, predict
from lecture_utils.images import center_square

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def models():
    return load_model(device="cpu"), load_model(device="cuda")


def test_default_device_is_cuda_when_present():
    assert load_model().device.type == "cuda"


def test_predictions_match_the_cpu(models):
    cpu, gpu = models
    image = center_square(load_image("espresso"))
    on_cpu, on_gpu = predict(cpu, image), predict(gpu, image.cuda())
    assert [i for i, _, _ in on_cpu] == [i for i, _, _ in on_gpu]
    assert all(abs(a[2] - b[2]) < 1e-3 for a, b in zip(on_cpu, on_gpu))


def test_activations_match_the_cpu(models):
    cpu, gpu = models
    image = load_image("cat", size=224)
    with torch.no_grad():
        a = get_activations(cpu, image, list(cpu.layers))
        b = get_activations(gpu, image.cuda(), list(gpu.layers))
    for name in a:
        scale = a[name].abs().max()
        assert (a[name] - b[name].cpu()).abs().max() <= 1e-3 * scale, name


@pytest.mark.parametrize("name", ["saliency", "guided_backprop", "grad_cam", "cam", "occlusion",
                                  "smoothgrad", "integrated_gradients"])
def test_attribution_matches_the_cpu(models, name):
    from lecture_utils import attribution as A

    cpu, gpu = models
    image = load_image("cat", size=(96, 128))
    kwargs = {"smoothgrad": {"samples": 4, "generator": torch.Generator().manual_seed(0)},
              "integrated_gradients": {"steps": 8}, "occlusion": {"window": 32, "stride": 32}}.get(name, {})
    a = A.METHODS[name](cpu, image, 285, **kwargs)
    if name == "smoothgrad":
        kwargs["generator"] = torch.Generator().manual_seed(0)
    b = A.METHODS[name](gpu, image.cuda(), 285, **kwargs).cpu()
    assert b.shape == a.shape
    corr = torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1]
    assert corr > 0.99, (name, float(corr))


@pytest.mark.parametrize("recipe", ["class_image", "deepdream", "invert"])
def test_image_optimisation_matches_the_cpu(models, recipe):
    from lecture_utils import optimize as opt

    photo = center_square(load_image("palace"), 128)
    runs = []
    for model in models:  # the same seed draws the same jitter on both devices (a CPU generator)
        if recipe == "class_image":
            steps = opt.class_image(model, "lemon", steps=5, size=128)
        elif recipe == "deepdream":
            steps = opt.deepdream(model, photo, "stage4", steps=3, octaves=2)
        else:
            steps = opt.invert(model, photo, "stage3", steps=5)[0]
        runs.append(opt.finish(steps).image)
    assert runs[1].device.type == "cpu"  # Step images come back on the CPU for display
    assert (runs[0] - runs[1]).abs().max() <= 2e-2


def test_fast_style_network_matches_the_cpu_and_trains_on_cuda(models, tmp_path):
    from lecture_utils import fast_style as fs

    cpu_model, gpu_model = models
    name = fs.shipped_styles()[0]
    photo = load_image("palace", 256)
    on_cpu = fs.stylize(fs.load_style_network(name), photo)
    on_gpu = fs.stylize(fs.load_style_network(name, device="cuda"), photo.cuda())
    assert on_gpu.device.type == "cuda" and (on_cpu - on_gpu.cpu()).abs().max() < 1e-2
    photos = [load_image(n, 64) for n in ("cat", "rocket")]
    net = fs.train(load_image("cafe_terrace", 64), photos, tmp_path / "gpu.ckpt", model=gpu_model, steps=3,
                   size=32, batch=2, width=4, blocks=1)
    assert next(net.parameters()).device.type == "cuda" and net.steps_trained == 3
