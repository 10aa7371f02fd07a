"""The one progress protocol of every long run: an iterator of `Step`s.

Every recipe that runs many steps comes in two forms, told apart by the name:

- `iterate_<run>` yields a `Step` after every update: `optimize.iterate_class_image`,
  `iterate_channel_image`, `iterate_deepdream`, `iterate_inversion` (all on the loop
  `optimize.iterate`), `style.iterate_texture`, `style.iterate_style_transfer`,
  `adversarial.iterate_fooling_image`, `iterate_patch`, `iterate_universal` and
  `fast_style.iterate_training`. Whoever drives one, a loop, `finish` or a panel's `Runner`,
  stops it by no longer asking for steps; closing the generator (or letting it go) ends the run
  and keeps what the last step holds.
- the other name (`class_image`, `deepdream`, `invert`, `texture`, `style_transfer`,
  `fooling_image`, `train_patch`, `universal_perturbation`, `fast_style.train`) runs it to the
  end with `run_to_end` and returns what it made: the image, the patch, the perturbation or
  the network.

    for step in adversarial.iterate_patch(model, crops, "toaster", steps=300):
        losses.append(step.losses["loss"])
    patch = step.result
"""

from dataclasses import dataclass, field
import warnings

import torch


@dataclass
class Step:
    """One update of a long run.

    step: 1-based count of updates so far; total: updates the run will make in all.
    losses: {name: float} measured during this update (before it moved the image or weights).
    image: (1, 3, h, w) in [0, 1], a detached copy: the run's current picture (the image being
        optimised, the best patch so far, the universal perturbation magnified, a stylised crop).
    message: None, or why the run ended early (NaN or inf): the last step's image is then the
        last good one.
    octave: for multi-scale runs, the 0-based octave of this step.
    result: what the run returns if it ends here, on the run's device (the best patch, the
        universal perturbation in pixel units, the fast-style network); None for the image
        runs of `optimize`, whose result is `image`.
    transparency: for `optimize.iterate(..., parameterization="maco")`, MACO's transparency map:
        |d objective / d image| summed over the steps of this octave so far, (N, 3, h, w) on the
        CPU, a copy: where in the image the evidence for the objective lies. None for other runs.
    """

    step: int
    total: int
    losses: dict = field(default_factory=dict)
    image: torch.Tensor = None
    message: str = None
    octave: int = 0
    result: object = None
    transparency: torch.Tensor = None


def finish(run):
    """Drive an iterator of `Step`s to its end and return the last one (None if it made none).
    A run that ended early (its last step has a `message`) also warns."""
    return _last_step(run, stacklevel=3)


def run_to_end(run):
    """Drive an iterator of `Step`s to its end and return what it made: the last step's
    `result`, or its `image` for the image runs (whose `result` is None). A run that ended
    early warns, as in `finish`, naming the line that called the recipe which called this;
    one that made no step raises."""
    last = _last_step(run, stacklevel=4)  # the warning points at the caller of the recipe
    if last is None:
        raise ValueError("the run made no step")
    return last.image if last.result is None else last.result


def _last_step(run, stacklevel):
    last = None
    for last in run:
        pass
    if last is not None and last.message:
        warnings.warn(last.message, RuntimeWarning, stacklevel=stacklevel)
    return last
