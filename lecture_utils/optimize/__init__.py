"""One loop that optimises an image in pixel space, for every "make an image" topic.

Class and neuron images, DeepDream, feature inversion, texture synthesis and style transfer
differ only in what they maximise and which tricks they use, so they share this loop:

    objective = class_logit(model, "dumbbell") - 1e-3 * l2()     # objectives compose
    final = finish(iterate(model, objective, steps=200, transforms=[jitter(8)], blur=0.5))
    final.image                                                   # (1, 3, 224, 224) in [0, 1]

`iterate` yields a `Step` after every update (step, losses, current image), so a panel can
draw a preview and stop the run by no longer asking for steps: the last image it got is kept.
A loss or gradient that becomes NaN or inf ends the run with a final `Step` whose `message`
says so and whose image is the last good one. Random choices (initial noise, jitter) come
from `seed`, so a CPU run is reproducible.

The package is split by concern, as Lucent's `optvis` is: `objectives` (what to maximise),
`transforms` (random views), `loop` (`iterate` and `view_score`) and `recipes` (the lecture's
class and channel images, DeepDream and inversion, each as `iterate_<recipe>` and as the
finished `<recipe>`). Every public name is also here, so `optimize.class_image` is the name
to use.
"""

from ..runs import Step, finish, run_to_end
from .loop import OPTIMIZERS, SCHEDULES, iterate, view_probability, view_score
from .objectives import (IMAGE, LOGITS, Objective, channel, channels, class_logit, class_probability,
                         feature_match, gram_similarity, l2, layer_l2, neuron, total_variation)
from .recipes import (channel_image, class_image, deepdream, invert, iterate_channel_image, iterate_class_image,
                      iterate_deepdream, iterate_inversion, relative_error)
from .transforms import jitter, pad, random_resolution, random_rotation, random_scale, robust_views

__all__ = [
    "Step", "finish", "run_to_end", "OPTIMIZERS", "SCHEDULES", "iterate", "view_probability", "view_score",
    "IMAGE", "LOGITS", "Objective", "channel", "channels", "class_logit", "class_probability", "feature_match",
    "gram_similarity", "l2", "layer_l2", "neuron", "total_variation",
    "channel_image", "class_image", "deepdream", "invert", "iterate_channel_image", "iterate_class_image",
    "iterate_deepdream", "iterate_inversion", "relative_error",
    "jitter", "pad", "random_resolution", "random_rotation", "random_scale", "robust_views",
]
