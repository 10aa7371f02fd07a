"""The two forms of every long run (issue 26): `iterate_<run>` yields `runs.Step`s, and the
other name runs it to the end and returns what it made, exactly what the last step holds."""

import inspect

import pytest
import torch

from lecture_utils import adversarial, optimize, runs, style
from tests.helpers import tiny_model
from tests.test_api_names import public_functions

# iterator form: finished form, arguments for the tiny model (made small enough to be quick)
X = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
ONE = X[:1]
FORMS = {
    "optimize.iterate_class_image": ("optimize.class_image", (1,), dict(steps=2, size=8)),
    "optimize.iterate_channel_image": ("optimize.channel_image", ("conv", 1), dict(steps=2, size=8)),
    "optimize.iterate_deepdream": ("optimize.deepdream", (ONE, "conv"), dict(steps=2, octaves=2)),
    "optimize.iterate_inversion": ("optimize.invert", (ONE, "relu"), dict(steps=3)),
    "style.iterate_texture": ("style.texture", (ONE,), dict(layers=["relu"], size=8, steps=2, optimizer="adam")),
    "style.iterate_style_transfer": ("style.style_transfer", (ONE, ONE.flip(-1)),
                                     dict(content_layer="conv", style_layers=["relu"], size=32, steps=2,
                                          optimizer="adam")),
    "adversarial.iterate_fooling_image": ("adversarial.fooling_image", (X, 0), dict(max_steps=3)),
    "adversarial.iterate_patch": ("adversarial.train_patch", (X, 1), dict(size=4, steps=3, seed=0)),
    "adversarial.iterate_universal": ("adversarial.universal_perturbation", (X,), dict(eps=0.1, steps=3, seed=0)),
}
# fast-style training needs a loss network with a known layer table: tests/test_fast_style.py
# compares `fast_style.train` with its iterator on the bundled model.
ELSEWHERE = {"fast_style.iterate_training": "fast_style.train"}
MODULES = {"optimize": optimize, "style": style, "adversarial": adversarial}


def test_every_iterator_has_a_finished_form_and_no_other_name_yields_steps():
    functions = dict(public_functions())
    iterators = {name for name in functions if name.rsplit(".", 1)[1].startswith("iterate_")}
    assert iterators == set(FORMS) | set(ELSEWHERE)
    for iterator, (finished, _, _) in {**FORMS, **{k: (v, (), {}) for k, v in ELSEWHERE.items()}}.items():
        doc = inspect.getdoc(functions[finished])
        assert doc.startswith(f"`{iterator.split('.')[1]}` run to its end"), finished


@pytest.mark.parametrize("iterator", sorted(FORMS))
def test_the_finished_form_returns_what_the_last_step_holds(iterator):
    model = tiny_model()
    finished, args, options = FORMS[iterator]
    module, name = iterator.split(".")
    run = getattr(MODULES[module], name)(model, *args, **options)
    assert inspect.isgenerator(run)
    last = runs.finish(run)
    made = getattr(MODULES[module], finished.split(".")[1])(model, *args, **options)
    expected = last.image if last.result is None else last.result
    assert torch.is_tensor(made) and torch.equal(made, expected)


def test_run_to_end_of_a_run_without_steps_raises():
    with pytest.raises(ValueError, match="made no step"):
        runs.run_to_end(iter(()))


def test_a_fooling_image_that_has_reached_its_target_makes_one_step_and_no_change():
    model = tiny_model()
    target = int(model(ONE).argmax(1))
    steps = list(adversarial.iterate_fooling_image(model, ONE, target, confidence=0.01))
    assert len(steps) == 1 and torch.equal(steps[0].result, ONE) and steps[0].losses["reached"] == 1.0
