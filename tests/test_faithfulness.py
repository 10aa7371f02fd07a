from collections import OrderedDict

import numpy as np
import pytest
import torch
from pytorch_grad_cam.metrics.road import ROADLeastRelevantFirst, ROADMostRelevantFirst
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torch import nn

from lecture_utils import attribution as A
from lecture_utils import faithfulness as F
from lecture_utils import load_image
from lecture_utils.images import center_square, gaussian_blur
from lecture_utils.models import ImageNetModel
from tests.conftest import hook_count

SIZE = 24


class Linear(nn.Module):
    """Two classes: logit 0 is sum(w * x), logit 1 is 0. Deleting a pixel changes logit 0 by its
    contribution w * (x - baseline), so the best and worst deletion orders are known."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, SIZE, SIZE, generator=torch.Generator().manual_seed(1)) / SIZE)

    def forward(self, x):
        score = (x * self.w).sum(dim=(1, 2, 3))
        return torch.stack([score, torch.zeros_like(score)], dim=1)


@pytest.fixture(scope="module")
def linear():
    return ImageNetModel("linear", Linear(), OrderedDict(), ["yes", "no"], (0.0,) * 3, (1.0,) * 3).eval()


@pytest.fixture(scope="module")
def cat():
    return center_square(load_image("cat"), 224)


@pytest.mark.parametrize("baseline", F.BASELINES)
def test_a_random_order_lies_between_the_best_and_the_worst(linear, baseline):
    image = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    fill = gaussian_blur(image, F.BLUR_SIGMA) if baseline == "blur" else image.mean(dim=(2, 3), keepdim=True)
    contribution = ((image - fill) * linear.net.w).sum(1)  # what deleting each pixel takes from logit 0
    curves = {name: (F.deletion(linear, image, "yes", m, steps=12, baseline=baseline),
                     F.insertion(linear, image, "yes", m, steps=12, baseline=baseline))
              for name, m in [("best", contribution), ("worst", -contribution), ("random", torch.rand(2, SIZE, SIZE))]}
    (best_del, best_ins), (worst_del, worst_ins), (random_del, random_ins) = curves.values()
    tolerance = 1e-6
    assert (best_del.probabilities <= random_del.probabilities + tolerance).all()
    assert (random_del.probabilities <= worst_del.probabilities + tolerance).all()
    assert (worst_ins.probabilities <= random_ins.probabilities + tolerance).all()
    assert (random_ins.probabilities <= best_ins.probabilities + tolerance).all()
    # and strictly between in area: the orders differ
    assert best_del.area.max() < random_del.area.min() and random_del.area.max() < worst_del.area.min()
    assert worst_ins.area.max() < random_ins.area.min() and random_ins.area.max() < best_ins.area.min()


def test_curves_start_at_the_image_and_end_at_the_baseline(linear):
    image = torch.rand(1, 3, SIZE, SIZE)
    probability = lambda x: float(linear(x).detach().softmax(1)[0, 0])  # noqa: E731
    fill = gaussian_blur(image, F.BLUR_SIGMA)
    deletion = F.deletion(linear, image, 0, torch.rand(1, SIZE, SIZE), steps=4)
    insertion = F.insertion(linear, image, 0, torch.rand(1, SIZE, SIZE), steps=4)
    assert deletion.fractions.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert deletion.probabilities[0, 0] == pytest.approx(probability(image), abs=1e-6)
    assert deletion.probabilities[0, -1] == pytest.approx(probability(fill), abs=1e-6)
    assert insertion.probabilities[0, 0] == pytest.approx(probability(fill), abs=1e-6)
    assert insertion.probabilities[0, -1] == pytest.approx(probability(image), abs=1e-6)
    assert deletion.area.shape == (1,)


def test_equal_pixels_are_taken_in_a_random_order_not_top_to_bottom():
    order = F.ranking(torch.zeros(1, 10, 10))[0]
    assert sorted(order.tolist()) == list(range(100))
    assert order[:50].div(10, rounding_mode="floor").float().mean() == pytest.approx(4.5, abs=1.0)
    assert F.ranking(torch.tensor([[[0.0, 3.0], [2.0, 1.0]]]))[0].tolist() == [1, 2, 3, 0]


def test_imputation_fills_a_hole_in_a_smooth_image_from_its_neighbours():
    ys, xs = torch.meshgrid(torch.linspace(0, 1, 20), torch.linspace(0, 1, 30), indexing="ij")
    image = torch.stack([ys, xs, 0.5 * ys + 0.25 * xs])  # linear: each pixel is its neighbours' mean
    removed = torch.zeros(20, 30, dtype=torch.bool)
    removed[5:12, 8:20] = True
    filled = F.impute(image, removed, noise=0.0)
    torch.testing.assert_close(filled, image, atol=1e-5, rtol=0)
    noisy = F.impute(image, removed, noise=0.1, seed=0)
    assert torch.equal(noisy[:, ~removed], image[:, ~removed])
    assert (noisy - image)[:, removed].std() == pytest.approx(0.1, rel=0.2)


@pytest.mark.parametrize("most_relevant_first, peer", [(True, ROADMostRelevantFirst), (False, ROADLeastRelevantFirst)])
def test_road_equals_pytorch_grad_cams(model, cat, most_relevant_first, peer):
    target = int(model(cat).argmax())
    cam = A.grad_cam(model, cat, target)
    scaled = (cam - cam.min()) / (cam.max() - cam.min())  # pytorch-grad-cam takes maps in [0, 1]
    for fraction in (0.2, 0.7):
        torch.manual_seed(3)  # the same noise: both draw it from torch's global random numbers
        ours = F.road(model, cat, target, cam, most_relevant_first, fractions=[fraction], seed=None)
        torch.manual_seed(3)
        theirs = peer(percentile=round(100 * (1 - fraction)))(
            cat, scaled.numpy(), [ClassifierOutputSoftmaxTarget(target)], model)
        change = ours.probabilities[0, 1] - ours.probabilities[0, 0]
        assert float(change) == pytest.approx(float(theirs[0]), abs=1e-4)


def test_road_removes_the_shares_it_is_asked_and_is_reproducible(model, cat):
    cam = A.grad_cam(model, cat, "tabby")
    first = F.road(model, cat, "tabby", cam, fractions=(0.3, 0.9))
    assert first.fractions.tolist() == pytest.approx([0.0, 0.3, 0.9])
    torch.testing.assert_close(F.road(model, cat, "tabby", cam, fractions=(0.3, 0.9)).probabilities,
                               first.probabilities)


def test_no_metric_changes_the_model(model, cat):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    hooks, training = hook_count(model), model.training
    cam = A.grad_cam(model, cat, "tabby")
    F.deletion(model, cat, "tabby", cam, steps=2)
    F.road(model, cat, "tabby", cam, fractions=(0.5,))
    assert hook_count(model) == hooks and model.training == training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_bad_input_says_what_is_accepted(linear):
    image = torch.rand(1, 3, SIZE, SIZE)
    with pytest.raises(ValueError, match=r"map must have the image's shape.*\(1, 24, 24\)"):
        F.deletion(linear, image, 0, torch.rand(1, SIZE, SIZE + 1))
    with pytest.raises(TypeError, match="map must be a float tensor"):
        F.insertion(linear, image, 0, np.zeros((1, SIZE, SIZE)))
    with pytest.raises(ValueError, match="NaN"):
        F.deletion(linear, image, 0, torch.full((1, SIZE, SIZE), float("nan")))
    with pytest.raises(ValueError, match="unknown baseline 'zero'; accepted: blur, mean"):
        F.deletion(linear, image, 0, torch.rand(1, SIZE, SIZE), baseline="zero")
    with pytest.raises(ValueError, match="fraction"):
        F.road(linear, image, 0, torch.rand(1, SIZE, SIZE), fractions=(0.5, 1.0))
    # a per-channel map is reduced as attribution.as_heatmap reduces it
    per_channel = torch.randn(1, 3, SIZE, SIZE)
    torch.testing.assert_close(F.deletion(linear, image, 0, per_channel, steps=3).probabilities,
                               F.deletion(linear, image, 0, A.as_heatmap(per_channel), steps=3).probabilities)


def test_the_shipped_table_covers_every_method_and_is_what_the_code_gives(model):
    table = F.load_table()
    assert table["model"] == model.name and list(table["photos"]) == list(F.TABLE_PHOTOS)
    # a method added to attribution.METHODS needs the table made again
    assert list(table["areas"]) == [*A.METHODS, F.RANDOM], "run `python -m lecture_utils faithfulness`"
    assert all(set(table["areas"][m][p]) == set(F.METRICS) for m in table["areas"] for p in F.TABLE_PHOTOS)
    photo = center_square(load_image("espresso"), 224)
    target = table["photos"]["espresso"]
    again = F.areas(model, photo, target, A.grad_cam(model, photo, target))
    shipped = table["areas"]["grad_cam"]["espresso"]
    assert {k: round(float(v[0]), 2) for k, v in again.items()} == pytest.approx(shipped, abs=0.01)


def test_a_missing_table_names_the_command_that_makes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m lecture_utils faithfulness"):
        F.load_table(tmp_path / "none.json")


def test_the_notebooks_two_figures_draw_what_they_are_given():
    from lecture_utils.plotting import curve_panels, score_table

    fig = curve_panels(torch.linspace(0, 1, 5), {"deletion": {"a": torch.zeros(5), "control": torch.ones(5)},
                                                 "insertion": {"a": torch.ones(5), "control": torch.zeros(5)}},
                       dashed=["control"])
    deletion, insertion = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["deletion", "insertion"]
    assert [line.get_linestyle() for line in deletion.lines] == ["-", "--"]
    assert [t.get_text() for t in insertion.get_legend().get_texts()] == ["a", "control"]
    table = score_table([[0.1, 0.9], [0.3, 0.2], [0.1, 0.5]], ["x", "y", "z"], ["lower", "higher"], ["lower", "higher"])
    ranks = table.axes[0].images[0].get_array()
    assert ranks[:, 0].tolist() == [0.0, 1.0, 0.0]  # equal numbers share the best rank
    assert ranks[:, 1].tolist() == [0.0, 1.0, 0.5]  # higher is better in this column
    assert [t.get_text() for t in table.axes[0].texts][:2] == ["0.10", "0.90"]
