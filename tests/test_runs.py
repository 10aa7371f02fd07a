"""The two forms of every long run (issue 26): `iterate_<run>` yields `runs.Step`s, and the
other name runs it to the end and returns what it made, exactly what the last step holds."""

import inspect

import pytest
import torch

from lecture_utils import adversarial, optimize, runs, style
from tests.helpers import tiny_model
from tests.test_api_names import public_functions

# iterator form: finished form, arguments for the tiny model (made small enough to be quick),
# the shape of what the finished form returns
X = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
ONE = X[:1]
FORMS = {
    "optimize.iterate_class_image": ("optimize.class_image", (1,), dict(steps=2, size=8), (1, 3, 8, 8)),
    "optimize.iterate_channel_image": ("optimize.channel_image", ("conv", [0, 1]), dict(steps=2, size=8),
                                       (2, 3, 8, 8)),
    "optimize.iterate_deepdream": ("optimize.deepdream", (ONE, "conv"), dict(steps=2, octaves=2), (1, 3, 16, 16)),
    "optimize.iterate_inversion": ("optimize.invert", (ONE, "relu"), dict(steps=3), (1, 3, 16, 16)),
    "style.iterate_texture": ("style.texture", (ONE,), dict(layers=["relu"], size=8, steps=2, optimizer="adam"),
                              (1, 3, 8, 8)),
    "style.iterate_style_transfer": ("style.style_transfer", (ONE, ONE.flip(-1)),
                                     dict(content_layer="conv", style_layers=["relu"], size=32, steps=2,
                                          optimizer="adam"), (1, 3, 32, 32)),
    "adversarial.iterate_fooling_image": ("adversarial.fooling_image", (X, 0), dict(max_steps=3), (3, 3, 16, 16)),
    "adversarial.iterate_patch": ("adversarial.train_patch", (X, 1), dict(size=4, steps=3, seed=0), (1, 3, 4, 4)),
    "adversarial.iterate_universal": ("adversarial.universal_perturbation", (X,), dict(eps=0.1, steps=3, seed=0),
                                      (1, 3, 16, 16)),
}
# fast-style training needs a loss network with a known layer table: tests/test_fast_style.py
# compares `fast_style.train` with its iterator on the bundled model.
ELSEWHERE = {"fast_style.iterate_training": "fast_style.train"}
MODULES = {"optimize": optimize, "style": style, "adversarial": adversarial}


def test_every_iterator_has_a_finished_form():
    functions = dict(public_functions())
    iterators = {name for name in functions if name.rsplit(".", 1)[1].startswith("iterate_")}
    assert iterators == set(FORMS) | set(ELSEWHERE)
    finished_forms = {**{k: v[0] for k, v in FORMS.items()}, **ELSEWHERE}
    for iterator, finished in finished_forms.items():
        doc = inspect.getdoc(functions[finished])
        assert doc.startswith(f"`{iterator.split('.')[1]}` run to its end"), finished


def test_only_iterate_names_yield_steps():
    # a function that documents yielding Steps is an iterator form, named so
    yielding = {name for name, function in public_functions()
                if "yield" in (doc := inspect.getdoc(function) or "").lower() and "Step" in doc}
    assert yielding and all(name.rsplit(".", 1)[1].startswith("iterate") for name in yielding), yielding


def _call(dotted, model, args, options):
    module, name = dotted.split(".")
    return getattr(MODULES[module], name)(model, *args, **options)


@pytest.mark.parametrize("iterator", sorted(FORMS))
def test_the_finished_form_returns_what_the_last_step_holds(iterator):
    model = tiny_model()
    finished, args, options, shape = FORMS[iterator]
    run = _call(iterator, model, args, options)
    assert inspect.isgenerator(run)
    last = runs.finish(run)
    made = _call(finished, model, args, options)
    assert torch.is_tensor(made) and made.shape == shape
    # image runs: the image; the others: what they made, of which `image` is a picture
    assert torch.equal(made, last.result if iterator.startswith("adversarial") else last.image)


@pytest.mark.parametrize("iterator", sorted(FORMS))
def test_a_run_driven_inside_no_grad_gives_the_same_steps_and_leaks_no_grad_mode(iterator):
    model = tiny_model()
    finished, args, options, _ = FORMS[iterator]
    free = list(_call(iterator, model, args, options))
    kept = [(step.image.clone(), None if step.result is None else step.result.clone()) for step in free]
    with torch.no_grad():
        run = _call(iterator, model, args, options)
        inside = []
        for step in run:
            assert not torch.is_grad_enabled()  # the run's own enable_grad ends within its step
            inside.append(step)
        made = _call(finished, model, args, options)
    assert len(inside) == len(free)
    for a, b in zip(inside, free):
        assert torch.equal(a.image, b.image)
    # the steps handed out earlier were not changed by the later ones
    for (image, result), step in zip(kept, free):
        assert torch.equal(image, step.image) and not step.image.requires_grad
        assert result is None or (torch.equal(result, step.result) and not step.result.requires_grad)
    assert torch.equal(made, free[-1].result if free[-1].result is not None else free[-1].image)


def test_a_fooling_image_that_cannot_be_reached_takes_max_steps_moves_then_one_last_check():
    model, start = tiny_model(), 0.25 + 0.5 * ONE  # away from 0 and 1: no clipping shortens a move
    steps = list(adversarial.iterate_fooling_image(model, start, 0, confidence=0.999999, lr=0.2, max_steps=3))
    assert [s.step for s in steps] == [1, 2, 3, 4] and steps[-1].total == 4
    assert steps[-1].losses["reached"] == 0.0
    images = [start] + [s.result for s in steps]
    moves = [float((b - a).norm()) for a, b in zip(images, images[1:])]
    assert moves[:3] == pytest.approx([0.2] * 3, rel=1e-4) and moves[3] == 0.0  # the last step only measures
