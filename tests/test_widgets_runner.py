"""The panels' Runner drives every long run of the package, not only the image optimisations:
the adversarial patch, the universal perturbation and fast-style training yield the same Steps."""

import torch

from lecture_utils import adversarial as A
from lecture_utils import fast_style as fs
from lecture_utils import load_image
from lecture_utils.runs import Step
from lecture_utils.widgets import Runner
from tests.helpers import tiny_model
from tests.test_widgets import pixels


def test_the_runner_drives_a_patch_to_its_end():
    model, crops = tiny_model(), torch.rand(6, 3, 32, 32)
    runner = Runner(lambda: A.iterate_patch(model, crops, 2, size=8, steps=6,
                                            seed=0), preview_every=2)
    runner.run_button.click()
    runner.join(30)
    assert runner.last.step == 6 and "best success" in runner.last.losses
    assert "done, 6 steps" in runner.status.text
    expected = (runner.last.image[0].permute(1, 2, 0) * 255).round().numpy()
    shown = pixels(runner.preview.value)  # the preview is the best patch, scaled up
    assert abs(shown.mean() - expected.mean()) < 3


def test_stop_ends_a_universal_perturbation_and_keeps_its_best():
    model, crops = tiny_model(), torch.rand(6, 3, 32, 32)
    runner = Runner(lambda: A.iterate_universal(model, crops, eps=0.1, steps=500))
    runner.run_button.click()
    runner.stop()  # heard after the first step
    runner.join(30)
    assert runner.last.step == 1 and "stopped at step 1" in runner.status.text
    assert runner.last.result.abs().max() <= 0.1 + 1e-7 and not runner.run_button.disabled


def test_stop_ends_a_fast_style_training_and_saves_it(model, tmp_path):
    photos = [load_image(name, 64) for name in ("cat", "rocket")]
    runner = Runner(lambda: fs.iterate_training(model, load_image("cafe_terrace", 64), photos, tmp_path / "run.ckpt",
                                                steps=200, size=32, batch_size=1, width=4, blocks=1))
    runner.run_button.click()
    runner.stop()
    runner.join(60)
    net = runner.last.result
    assert runner.last.step == 1 and "total" in runner.last.losses
    assert not net.training and net.steps_trained == 1  # closing the run ended it properly
    assert fs.load_style_network(tmp_path / "run.ckpt").steps_trained == 1  # and saved it
    assert runner.last.image.shape == (1, 3, 32, 32)


def test_a_fast_style_training_that_goes_nan_at_once_shows_the_error_and_a_picture(model, tmp_path, monkeypatch):
    real = fs.batch_loss

    def nan_loss(*args):
        total, losses = real(*args)
        return total * float("nan"), losses

    monkeypatch.setattr(fs, "batch_loss", nan_loss)
    photos = [load_image(name, 64) for name in ("cat", "rocket")]
    runner = Runner(lambda: fs.iterate_training(model, load_image("cafe_terrace", 64), photos, tmp_path / "nan.ckpt",
                                                steps=5, size=32, batch_size=1, width=4, blocks=1))
    runner.run_button.click()
    runner.join(60)
    assert runner.last.step == 1 and runner.status.exception is None
    assert "stopped at step 1" in runner.status.text and "color:#b00020" in runner.status.text
    assert pixels(runner.preview.value).shape[:2] == (runner.height, runner.height)  # the start's picture
    assert not runner.run_button.disabled


def test_a_run_that_reaches_its_goal_early_ends_with_its_last_picture_and_a_full_bar():
    # 7 of at most 100 steps, previews every 5: the 7th picture would not be shown otherwise
    pictures = [torch.full((1, 3, 8, 8), k / 10) for k in range(1, 8)]
    runner = Runner(lambda: (Step(k + 1, 100, {"loss": 1.0}, picture) for k, picture in enumerate(pictures)))
    runner.run_button.click()
    runner.join(30)
    assert "done, 7 steps" in runner.status.text
    assert runner.progress.value == runner.progress.max == 7
    assert abs(pixels(runner.preview.value).mean() - 0.7 * 255) < 1


def test_a_stopped_run_shows_the_picture_of_the_step_it_stopped_at():
    pictures = [torch.full((1, 3, 8, 8), k / 10) for k in range(1, 8)]

    def run():
        for k, picture in enumerate(pictures):
            if k == 3:
                runner.stop()  # heard after this fourth step, between two previews
            yield Step(k + 1, 100, {"loss": 1.0}, picture)

    runner = Runner(run)
    runner.run_button.click()
    runner.join(30)
    assert "stopped at step 4" in runner.status.text
    assert abs(pixels(runner.preview.value).mean() - 0.4 * 255) < 1
