"""lecture_utils: the algorithms behind the "CNN Visualization" course notebooks.

    >>> from lecture_utils import load_model, load_image, predict
    >>> model = load_model()                      # EfficientNet-Lite0, bundled, no download
    >>> image = load_image("cat", size=224)       # (1, 3, H, W), RGB in [0, 1]
    >>> predict(model, image, k=3)                # [(index, name, probability), ...]

Algorithms return tensors; `plotting` draws them and `widgets` builds the notebook panels.
"""

from .activations import get_activations, predict
from .images import ImageError, bundled_images, load_image, save_image, to_pil
from .models import MODEL_NAMES, WeightsNotCachedError, load_model

__all__ = [
    "ImageError", "MODEL_NAMES", "WeightsNotCachedError", "bundled_images", "get_activations",
    "load_image", "load_model", "predict", "save_image", "to_pil",
]
__version__ = "0.1.0"
