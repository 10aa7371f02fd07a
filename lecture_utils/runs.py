"""The one progress protocol of every long run: an iterator of `Step`s.

Class and neuron images, DeepDream, feature inversion, texture synthesis and style transfer
(`optimize.iterate`), the adversarial patch and the universal perturbation
(`adversarial.iterate_patch`, `adversarial.iterate_universal`) and fast-style training
(`fast_style.iterate_training`) are generators that yield a `Step` after every update. Whoever
drives one, a loop, `finish` or a panel's `Runner`, stops it by no longer asking for steps;
closing the generator (or letting it go) ends the run and keeps what the last step holds.

    for step in adversarial.iterate_patch(model, crops, "toaster", steps=300):
        losses.append(step.losses["loss"])
    patch = step.image
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
    """

    step: int
    total: int
    losses: dict = field(default_factory=dict)
    image: torch.Tensor = None
    message: str = None
    octave: int = 0
    result: object = None


def finish(run):
    """Drive an iterator of `Step`s to its end and return the last one (None if it made none).
    A run that ended early (its last step has a `message`) also warns."""
    last = None
    for last in run:
        pass
    if last is not None and last.message:
        warnings.warn(last.message, RuntimeWarning, stacklevel=2)
    return last
