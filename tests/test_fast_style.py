"""Fast feed-forward style transfer: the network, training (resumable, atomic), the command,
and the claims of the shipped networks."""

import contextlib
import socket

import pytest
import torch

from lecture_utils import __main__ as cli
from lecture_utils import fast_style as fs
from lecture_utils import load_image
from lecture_utils.images import resize_longer_side, save_image
from tests.conftest import hook_count

TINY = dict(size=32, batch_size=2, width=4, blocks=1)  # seconds, not minutes
BATCH_LOSS = fs.batch_loss  # the real one, for tests that wrap it


@pytest.fixture(scope="module")
def photos():
    return [load_image(name, 96) for name in ("cat", "rocket", "espresso")]


@pytest.fixture(scope="module")
def style():
    return load_image("cafe_terrace", 96)


def test_untrained_network_is_the_identity_and_checks_its_input():
    net = fs.TransformerNet(width=4, blocks=2)
    x = torch.rand(2, 3, 16, 24) * 0.9 + 0.05
    assert torch.allclose(net(x), x, atol=1e-5)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.rand(1, 3, 18, 24))
    with pytest.raises(ValueError, match="width"):
        fs.TransformerNet(width=0)


def test_an_untrained_network_is_worth_one_gatys_step_at_most(model):
    # The identity network returns the photo, where Gatys' optimisation starts, so its first
    # L-BFGS step already does at least as well.
    net = fs.TransformerNet(width=4, blocks=1)
    net.settings = dict(style_image="cafe_terrace", content_weight=1.0, style_weight=20.0, tv_weight=1.0)
    photo = load_image("palace", 64)
    run = fs.against_gatys(model, net, photo, steps=2)
    assert len(run["gatys"]) == len(run["gatys_losses"]) == 2
    assert run["steps_matched"] == 1 and run["gatys_losses"][0] < run["fast_loss"]
    assert run["fast"].shape == photo.shape and torch.allclose(run["fast"], photo, atol=2e-3)
    assert run["fast_seconds"] > 0 and len(run["gatys_seconds"]) == 2
    assert 0 < run["gatys_seconds"][0] <= run["gatys_seconds"][1]
    with pytest.raises(ValueError, match=r"content"):
        fs.against_gatys(model, net, photo[0], steps=2)


def test_stylize_takes_any_size_and_blends_with_strength():
    torch.manual_seed(1)
    net = fs.TransformerNet(width=4, blocks=1)
    for p in net.parameters():  # a network that changes the image
        torch.nn.init.normal_(p, std=0.3)
    image = load_image("cat", 50)
    full = fs.stylize(net, image)
    assert full.shape == image.shape and 0 <= full.min() and full.max() <= 1
    assert (full - image).abs().mean() > 0.05
    assert torch.equal(fs.stylize(net, image, strength=0.0), image)
    half = fs.stylize(net, image, strength=0.5)
    assert torch.allclose(half, 0.5 * full + 0.5 * image, atol=1e-6)
    with pytest.raises(ValueError, match=r"strength must be a number in \[0, 1\]"):
        fs.stylize(net, image, strength=1.5)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        fs.stylize(net, image[0])
    with pytest.raises(ValueError, match="at least 16 x 16 px; got 8 x 75"):
        fs.stylize(net, image[..., :8, :])


def test_batch_loss_is_the_mean_of_the_images_losses(model, style):
    grams, settings = fs.loss_targets(model, style, 64)
    contents = torch.stack([load_image("cat", 64)[0, :, :64, :64], load_image("rocket", 64)[0, :, :64, :64]])
    outputs = (contents + 0.1 * torch.randn_like(contents)).clamp(0, 1)
    together, terms = fs.batch_loss(model, outputs, contents, grams, settings)
    alone = [fs.batch_loss(model, outputs[i:i + 1], contents[i:i + 1], grams, settings)[0] for i in range(2)]
    assert torch.allclose(together, sum(alone) / 2, rtol=1e-5)
    assert {"content[stage4]", "tv2"} <= set(terms) and any(k.startswith("style[") for k in terms)


def test_training_lowers_the_loss_and_resumes_exactly(model, photos, style, tmp_path):
    straight = fs.train(model, style, photos, tmp_path / "a.ckpt", steps=12, lr=1e-2, **TINY)
    seen = []
    for step in fs.iterate_training(model, style, photos, tmp_path / "b.ckpt", steps=12, lr=1e-2, **TINY):
        seen.append(step.losses["total"])
        if step.step == 5:
            break  # stopping closes the run when the generator goes: it saves
    interrupted = step.result
    assert interrupted.steps_trained == 5 and len(seen) == 5 and not interrupted.training
    resumed = fs.train(model, style, photos, tmp_path / "b.ckpt", steps=12, lr=1e-2, **TINY)
    assert resumed.steps_trained == 12
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ckpt", "b.ckpt"]  # no partial files
    # The trained network beats the identity (where every crop starts) on fresh crops.
    grams, settings = fs.loss_targets(model, style, 32)
    crops = torch.cat([load_image(n, 32)[..., :32, :32] for n in ("daisy", "palace")])
    before = fs.batch_loss(model, crops, crops, grams, settings)[0]
    after = fs.batch_loss(model, fs.stylize(straight, crops), crops, grams, settings)[0]
    assert after < 0.95 * before
    assert hook_count(model) == 0


def test_an_interrupted_training_saves_and_resumes(model, photos, style, tmp_path):
    run = fs.iterate_training(model, style, photos, tmp_path / "i.ckpt", steps=6, **TINY)
    with pytest.raises(KeyboardInterrupt), contextlib.closing(run):  # Ctrl-C while the caller loops
        for step in run:
            if step.step == 3:
                raise KeyboardInterrupt
    assert fs.load_style_network(tmp_path / "i.ckpt").steps_trained == 3
    resumed = fs.train(model, style, photos, tmp_path / "i.ckpt", steps=6, **TINY)
    straight = fs.train(model, style, photos, tmp_path / "j.ckpt", steps=6, **TINY)
    assert all(torch.equal(a, b) for a, b in zip(resumed.state_dict().values(), straight.state_dict().values()))
    with pytest.raises(ValueError, match="already at step 6, beyond steps=4"):
        fs.train(model, style, photos, tmp_path / "i.ckpt", steps=4, **TINY)
    (tmp_path / "k.ckpt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="k.ckpt is not a training checkpoint"):
        fs.train(model, style, photos, tmp_path / "k.ckpt", steps=1, **TINY)


def test_a_loss_that_goes_nan_stops_the_training_and_keeps_the_last_good_step(model, photos, style, tmp_path,
                                                                              monkeypatch):
    calls, real = [], fs.batch_loss

    def nan_on_the_third_step(*args):
        calls.append(1)
        total, losses = real(*args)
        return (total * float("nan") if len(calls) == 3 else total), losses

    monkeypatch.setattr(fs, "batch_loss", nan_on_the_third_step)
    steps = list(fs.iterate_training(model, style, photos, tmp_path / "n.ckpt", steps=6, **TINY))
    assert [s.step for s in steps] == [1, 2, 3] and steps[-1].message.startswith("stopped at step 3")
    assert steps[-1].image is steps[1].image  # the picture of the last good step
    monkeypatch.setattr(fs, "batch_loss", real)
    saved = fs.load_style_network(tmp_path / "n.ckpt")
    assert saved.steps_trained == 2  # the checkpoint holds step 2, never a NaN
    straight = fs.train(model, style, photos, tmp_path / "s.ckpt", steps=2, **TINY)
    assert all(torch.equal(a, b) for a, b in zip(saved.state_dict().values(), straight.state_dict().values()))


def nan_from_step(monkeypatch, first):
    """Make the loss NaN from the `first`-th call of batch_loss on (one call per training step)."""
    calls, real = [], BATCH_LOSS

    def loss(*args):
        calls.append(1)
        total, losses = real(*args)
        return (total * float("nan") if len(calls) >= first else total), losses

    monkeypatch.setattr(fs, "batch_loss", loss)


def test_a_nan_at_the_first_step_stops_with_the_start_picture(model, photos, style, tmp_path, monkeypatch):
    nan_from_step(monkeypatch, 1)
    steps = list(fs.iterate_training(model, style, photos, tmp_path / "f.ckpt", steps=6, **TINY))
    assert len(steps) == 1 and steps[0].message.startswith("stopped at step 1")
    assert "the network is that of step 0" in steps[0].message
    # no good step yet: the picture is the untrained network's, as a good first step shows it
    monkeypatch.setattr(fs, "batch_loss", BATCH_LOSS)
    good = next(iter(fs.iterate_training(model, style, photos, tmp_path / "g.ckpt", steps=6, **TINY)))
    assert steps[0].image.shape == (1, 3, 32, 32) and torch.allclose(steps[0].image, good.image, atol=1e-5)


def test_resuming_with_other_settings_names_them(model, photos, style, tmp_path):
    fs.train(model, style, photos, tmp_path / "c.ckpt", steps=1, **TINY)
    with pytest.raises(ValueError, match="style_weight"):
        fs.train(model, style, photos, tmp_path / "c.ckpt", steps=2, style_weight=5.0, **TINY)


@pytest.mark.parametrize("kwargs, message", [
    (dict(size=30), "multiple of 4"),
    (dict(batch_size=0), "batch_size must be an int"),
    (dict(lr=-1.0), r"lr must be a number in \(0, 1\]; got -1.0"),
    (dict(lr=1e38), r"lr must be a number in \(0, 1\]; got 1e\+38"),
    (dict(style_weight=-1.0), "style_weight must be a number >= 0"),
    (dict(tv_weight=float("inf")), "tv_weight must be a number >= 0; got inf"),
    (dict(seed=True), "seed must be an int from 0 to"),
    (dict(seed=-1), "seed must be an int from 0 to"),
    (dict(style_weight=0.0, content_weight=0.0), "nothing to learn"),
])
def test_bad_training_settings_fail_before_any_step(model, photos, style, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fs.train(model, style, photos, tmp_path / "d.ckpt", steps=1, **{**TINY, **kwargs})
    assert not (tmp_path / "d.ckpt").exists()


def test_saved_network_loads_back_and_bad_files_are_refused(model, photos, style, tmp_path):
    net = fs.train(model, style, photos, tmp_path / "e.ckpt", steps=2, **TINY)
    fs.save_style_network(net, tmp_path / "e.pt", net.settings, net.steps_trained)
    loaded = fs.load_style_network(tmp_path / "e.pt")
    assert loaded.settings == net.settings and loaded.steps_trained == 2
    image = load_image("cat", 40)
    assert torch.allclose(fs.stylize(loaded, image), fs.stylize(net, image), atol=5e-3)
    assert fs.load_style_network(tmp_path / "e.ckpt").steps_trained == 2  # a training checkpoint loads too
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a style network file"):
        fs.load_style_network(tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="shipped: "):
        fs.load_style_network("no_such_style")


def test_train_style_command_writes_a_network_and_reports_bad_input(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LECTURE_UTILS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("cat", "rocket"):
        save_image(load_image(name, 64), folder / f"{name}.png")
    out = tmp_path / "nets" / "cafe.pt"
    args = ["train-style", "cafe_terrace", "--images", str(folder), "--out", str(out), "--steps", "3",
            "--size", "32", "--batch", "2", "--width", "4", "--blocks", "1", "--device", "cpu"]
    assert cli.main(args) == 0
    out_text = capsys.readouterr().out
    assert "on cpu" in out_text and "wrote" in out_text
    net = fs.load_style_network(out)
    assert net.steps_trained == 3 and net.settings["device"] == "cpu"
    assert (tmp_path / "cache" / "fast_style" / "cafe.ckpt").is_file()  # the checkpoint stays in the cache
    assert cli.main(args[:3] + [str(tmp_path / "missing")] + args[4:]) == 2
    assert "no folder of training photos" in capsys.readouterr().err
    assert cli.main(["train-style", "no_such_image", *args[2:]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("train-style: ") and "no_such_image" in err
    assert cli.main(args[:-1] + ["gpu"]) == 2
    assert "--device must be cpu, cuda or cuda:N; got 'gpu'" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert cli.main(args[:-1] + ["cuda"]) == 2
        assert "there is no CUDA GPU here" in capsys.readouterr().err


@pytest.mark.parametrize("option, value, message", [
    ("--lr", "1e38", r"--lr must be a number in (0, 1]; got 1e+38"),
    ("--lr", "0", r"--lr must be a number in (0, 1]; got 0.0"),
    ("--style-weight", "-1", "--style-weight must be a number >= 0; got -1.0"),
    ("--content-weight", "nan", "--content-weight must be a number >= 0; got nan"),
    ("--size", "30", "--size must be a multiple of 4; got 30"),
    ("--seed", "-3", "--seed must be an int from 0 to 4294967295; got -3"),
])
def test_train_style_refuses_an_option_out_of_range_before_loading_anything(tmp_path, capsys, monkeypatch, option,
                                                                           value, message):
    def no_loading(*args, **kwargs):
        raise AssertionError("loaded photos before checking the options")

    monkeypatch.setattr(fs, "load_photos", no_loading)
    out = tmp_path / "cafe.pt"
    args = ["train-style", "cafe_terrace", "--images", str(tmp_path), "--out", str(out), "--device", "cpu"]
    assert cli.main(args + [option, value]) == 2
    assert capsys.readouterr().err.strip() == f"train-style: {message}"
    assert not out.exists()


def test_train_style_that_goes_nan_fails_and_writes_no_network(tmp_path, capsys, monkeypatch, photos):
    monkeypatch.setenv("LECTURE_UTILS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fs, "load_photos", lambda folder: photos)
    out = tmp_path / "nets" / "cafe.pt"
    args = ["train-style", "cafe_terrace", "--images", str(tmp_path), "--out", str(out), "--steps", "3",
            "--size", "32", "--batch-size", "2", "--width", "4", "--blocks", "1", "--device", "cpu"]
    for first in (1, 2):  # at the first step (nothing trained yet) and after a good one
        nan_from_step(monkeypatch, first)
        (tmp_path / "cache" / "fast_style" / "cafe.ckpt").unlink(missing_ok=True)
        assert cli.main(args) == 1
        err = capsys.readouterr().err
        assert f"train-style: stopped at step {first}: the loss or its gradient became NaN or inf" in err
        assert f"nothing was written to {out}" in err
        assert not out.parent.exists()  # no network file, and no partial one beside it
        assert fs.load_style_network(tmp_path / "cache" / "fast_style" / "cafe.ckpt").steps_trained == first - 1


# --- the shipped networks ---------------------------------------------------------------------

@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_at_least_two_styles_ship_and_load_offline(no_network):
    names = fs.shipped_styles()
    assert len(names) >= 2, names
    for name in names:
        net = fs.load_style_network(name)
        assert net.steps_trained >= 100 and net.settings["model"] == "efficientnet_lite0"
        out = fs.stylize(net, load_image("palace", 128))
        assert out.shape == load_image("palace", 128).shape
        assert (fs.SHIPPED_DIR / f"{name}.pt").stat().st_size < 2_000_000
        assert (fs.SHIPPED_DIR / "README.md").read_text().count(f"--out data/fast_style/{name}.pt") == 1


GATYS_STEPS = 3


@pytest.mark.parametrize("name", fs.shipped_styles())
def test_shipped_network_beats_a_few_gatys_steps_on_unseen_photos(model, name):
    """One forward pass against L-BFGS steps of Gatys' method with the same loss and weights.

    Johnson et al.'s networks match 50-100 steps. These, trained 17-20 minutes on a CPU over 12
    nature photos, match between 2 and 12 steps on these photos, about 6 on average (measured;
    the church network does least for the portrait; `make bench` reports it), so: on their sum
    they beat 3 steps, and on every photo they lower the loss of the unchanged photo, which is
    where Gatys' optimisation starts.
    """
    net = fs.load_style_network(name, device="cpu")
    size = net.settings["size"]
    grams, settings = fs.trained_loss_targets(model, net, size)
    ours, theirs = [], []
    for photo in fs.UNSEEN_PHOTOS:
        content = resize_longer_side(load_image(photo), size)
        run = fs.against_gatys(model, net, content, steps=GATYS_STEPS)
        unchanged = fs.batch_loss(model, content, content, grams, settings)[0].item()
        assert run["fast_loss"] < unchanged, (photo, run["fast_loss"], unchanged)
        assert run["gatys_losses"][0] < unchanged  # Gatys starts at the photo and goes down
        ours.append(run["fast_loss"])
        theirs.append(run["gatys_losses"][-1])
    assert sum(ours) <= sum(theirs), (ours, theirs)
