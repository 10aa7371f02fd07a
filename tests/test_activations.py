import pytest
import torch

from lecture_utils import get_activations, load_image, predict
from lecture_utils.activations import forward_hooks, resolve_layers
from tests.conftest import hook_count
from tests.helpers import tiny_model


def test_exact_values_on_a_tiny_network():
    model = tiny_model()
    x = torch.rand(2, 3, 5, 5)
    acts = get_activations(model, x, ["relu", "conv"])
    assert list(acts) == ["relu", "conv"]  # the order asked for
    conv = torch.stack([x[:, 0], -x[:, 1] + 2 * x[:, 2] - 0.5], dim=1)
    assert torch.allclose(acts["conv"], conv)
    assert torch.allclose(acts["relu"], conv.clamp(min=0))
    logits = get_activations(model, x, "fc")["fc"]
    assert torch.allclose(logits, model(x))


def test_forward_stops_at_the_deepest_layer_asked_for():
    model = tiny_model()
    calls = []
    handle = model.net.fc.register_forward_hook(lambda *a: calls.append(1))
    try:
        get_activations(model, torch.rand(1, 3, 4, 4), ["conv", "relu"])
        assert calls == []
        get_activations(model, torch.rand(1, 3, 4, 4), ["conv", "relu"], stop_early=False)
        assert calls == [1]
    finally:
        handle.remove()


def test_no_hook_is_left_after_success_or_failure():
    model = tiny_model()
    before = hook_count(model)
    get_activations(model, torch.rand(1, 3, 4, 4), list(model.layers))
    assert hook_count(model) == before
    model.net.boom.armed = True
    with pytest.raises(RuntimeError, match="boom"):
        get_activations(model, torch.rand(1, 3, 4, 4), ["fc"])
    assert hook_count(model) == before
    with pytest.raises(RuntimeError, match="in the hook"):
        with forward_hooks({"conv": model.net.conv}, lambda *a: (_ for _ in ()).throw(RuntimeError("in the hook"))):
            model(torch.rand(1, 3, 4, 4))
    assert hook_count(model) == before


def test_unknown_layers_list_the_valid_ones(model):
    with pytest.raises(ValueError) as info:
        get_activations(model, torch.rand(1, 3, 32, 32), ["stage3", "layer9", "conv5"])
    message = str(info.value)
    assert "'layer9', 'conv5'" in message and "valid layers: stem, stage1" in message
    with pytest.raises(ValueError, match="no layer given"):
        resolve_layers(model, [])
    assert hook_count(model) == 0


def test_real_model_activations_and_gradients(model):
    image = load_image("cat", size=224)
    with torch.no_grad():
        acts = get_activations(model, image, list(model.layers))
    channels = [a.shape[1] for a in acts.values()]
    assert channels == [32, 16, 24, 40, 80, 112, 192, 320, 1280]
    assert acts["stem"].shape[2:] == (112, 169) and acts["head"].shape[2:] == (7, 11)  # ceil(337 / 32): no edge dropped
    assert acts["stem"].min() >= 0 and acts["stem"].max() <= 6  # ReLU6
    # activations carry gradients back to the image when it asks for them
    image = image.clone().requires_grad_(True)
    get_activations(model, image, "stage4")["stage4"][0, 5].mean().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert hook_count(model) == 0


def test_batched_equals_one_by_one(model):
    images = torch.cat([load_image(n, size=(96, 96)) for n in ["cat", "espresso"]])
    with torch.no_grad():
        both = get_activations(model, images, "stage5")["stage5"]
        one = get_activations(model, images[1:], "stage5")["stage5"]
    assert torch.allclose(both[1:], one, atol=1e-4)


def test_predict_on_a_tiny_network():
    model = tiny_model()
    x = torch.rand(1, 3, 4, 4)
    probs = model(x).softmax(1)[0]
    top = predict(model, x, k=4)
    assert [i for i, _, _ in top] == probs.argsort(descending=True).tolist()
    assert top[0][1] == f"class{top[0][0]}"
    assert abs(sum(p for _, _, p in top) - 1.0) < 1e-5


def test_activation_grid_colour_ranges():
    from lecture_utils import plotting

    maps = torch.tensor([[[1.0, -3.0], [2.0, 0.5]], [[0.0, 4.0], [1.0, 2.0]]])
    limits = {}
    for scale in ("own", "zero", "symmetric"):
        fig = plotting.activation_grid(maps, ncols=2, scale=scale)
        limits[scale] = [ax.images[0].get_clim() for ax in fig.axes]
    assert limits["own"] == [(-3.0, 2.0), (0.0, 4.0)]
    assert limits["zero"] == [(0.0, 3.0), (0.0, 4.0)]  # 0 to the largest |value|
    assert limits["symmetric"] == [(-3.0, 3.0), (-4.0, 4.0)]  # zero in the middle
    with pytest.raises(ValueError, match="scale"):
        plotting.activation_grid(maps, scale="global")


def test_the_first_picture_drawn_large_over_a_block_of_panels():
    """show_images(first_span=2): the first image over a 2 x 2 block at the top left, the others
    in the places left (a landscape figure for a slide); every image drawn once."""
    from lecture_utils import plotting

    images = [torch.rand(1, 3, 8, 8) for _ in range(5)]
    fig = plotting.show_images(images, [str(i) for i in range(5)], ncols=4, first_span=2)
    drawn = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in drawn] == ["0", "1", "2", "3", "4"]
    spec = drawn[0].get_subplotspec()
    assert (spec.rowspan, spec.colspan) == (range(0, 2), range(0, 2))
    assert all(len(ax.get_subplotspec().rowspan) == 1 for ax in drawn[1:])
    width, height = fig.get_size_inches()
    assert width > 1.5 * height


def test_an_image_table_of_blocks_has_each_rows_first_picture_large():
    from lecture_utils import plotting

    rows = [[torch.rand(1, 3, 8, 8) for _ in range(3)] for _ in range(3)]
    fig = plotting.image_table(rows, titles=[["query", "a", "b"]] * 3, large_first=True, size=1.5)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 9
    firsts = drawn[::3]
    assert all(len(ax.get_subplotspec().colspan) == 2 for ax in firsts)  # as wide as the two below it
    width, height = fig.get_size_inches()
    assert width > 1.5 * height


def test_hooks_answer_only_to_the_forward_passes_of_the_thread_that_set_them(model):
    # A panel's run in a background thread and another panel's click share one network.
    import threading

    image = load_image("cat", 224)
    seen, inside, done = [], threading.Event(), threading.Event()

    def hold_hooks():
        with forward_hooks(resolve_layers(model, ["stage4"]), lambda name, *_: seen.append(name)):
            inside.set()
            done.wait(60)

    other = threading.Thread(target=hold_hooks)
    other.start()
    try:
        assert inside.wait(60)
        here = get_activations(model, image, ["stage4"])  # this thread's pass: the other's hook stays quiet
    finally:
        done.set()
        other.join(60)
    assert seen == []
    with forward_hooks(resolve_layers(model, ["stage4"]), lambda name, *_: seen.append(name)):
        with torch.no_grad():
            model(image)
    assert seen == ["stage4"]
    assert torch.equal(here["stage4"], get_activations(model, image, ["stage4"])["stage4"])
    assert hook_count(model) == 0


def test_show_predictions_lays_pairs_out_in_ncols_columns():
    from lecture_utils import plotting

    images = [torch.rand(1, 3, 8, 8) for _ in range(3)]
    predictions = [[(0, "a", 0.9), (1, "b", 0.1)]] * 3
    fig = plotting.show_predictions(images, predictions, ncols=2)
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(fig.axes) == 8 and len(shown) == 3  # 2 rows of 2 pairs; 3 bar charts, the 4th pair blank
    assert [ax.get_xlabel() for ax in shown] == ["", "probability", "probability"]  # under the last row only
    assert len(plotting.show_predictions(images, predictions).axes) == 6  # one pair per row
    with pytest.raises(ValueError, match="ncols must be an int >= 1"):
        plotting.show_predictions(images, predictions, ncols=0)


def test_a_figure_shown_in_a_notebook_records_its_smallest_text():
    """The slide test reads how high a figure's smallest text is from its PNG (plotting.TEXT_PX):
    the font size in points at the figure's dpi, ticks of hidden axes not counted; "none" for a
    figure without text. IPython's formatter uses it although the inline backend registered
    matplotlib's own figure class."""
    import base64
    import io

    from IPython.core.interactiveshell import InteractiveShell
    from PIL import Image

    from lecture_utils import plotting

    shell = InteractiveShell.instance()
    plotting._show_in_notebooks()
    try:
        def recorded(fig):
            png = shell.display_formatter.format(fig)[0]["image/png"]
            png = png if isinstance(png, bytes) else base64.b64decode(png)
            return Image.open(io.BytesIO(png)).text[plotting.TEXT_PX]

        images = [torch.rand(1, 3, 16, 16)] * 2
        assert recorded(plotting.show_images(images, titles=["a", "b"], fontsize=12)) == f"{12 * 100 / 72:.2f}"
        assert recorded(plotting.show_images(images)) == "none"  # no titles: image axes are hidden
        curve = plotting.curves([0, 1], {"loss": [1.0, 0.5]}, xlabel="step", fontsize=13)
        assert recorded(curve) == f"{11 * 100 / 72:.2f}"  # the tick labels, 2 points smaller
    finally:
        InteractiveShell.clear_instance()
