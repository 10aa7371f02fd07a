"""lecture_utils: the algorithms behind the "CNN Visualization" course notebooks.

    >>> from lecture_utils import load_model, load_image, predict
    >>> model = load_model()                      # EfficientNet-Lite0, bundled, no download
    >>> image = load_image("cat", size=224)       # (1, 3, H, W), RGB in [0, 1]
    >>> predict(model, image, k=3)                # [(index, name, probability), ...]

Algorithms return tensors; `plotting` draws them and `widgets` builds the notebook panels.

One name per idea (tests/test_api_names.py): a function that takes the network takes it first
(`model`); `seed` is an int for the same random numbers on every run, or None for torch's
global ones; `batch_size` is images per forward pass; `channel` is a unit of a layer; `lr` is
an optimisation's step size; `jitter_px` is a random shift's largest size in pixels; `image`
is a tensor (N, 3, H, W), one picture or a batch, and `images` a list of pictures.

Every long run has two forms (tests/test_runs.py): `iterate_<run>` yields a `runs.Step` after
every update, for a preview or to stop early (`optimize.iterate_class_image`,
`adversarial.iterate_patch`, `fast_style.iterate_training`, ...), and the other name runs it to
the end and returns what it made (`optimize.class_image`, `adversarial.train_patch`,
`fast_style.train`, ...).
"""

from .activations import get_activations, predict
from .images import ImageError, bundled_images, load_image, save_image, to_pil
from .models import MODEL_NAMES, WeightsNotCachedError, load_model

__all__ = [
    "ImageError", "MODEL_NAMES", "WeightsNotCachedError", "bundled_images", "get_activations",
    "load_image", "load_model", "predict", "save_image", "to_pil",
]
__version__ = "0.1.0"
