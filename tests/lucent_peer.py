"""Lucent (`torch-lucent`, a test-only peer) run on the bundled model, for tests and benchmarks.

Lucent 0.1.8 calls two names that kornia moved in 0.5 (`get_rotation_matrix2d`, `warp_affine`);
they are aliased to their new home before Lucent is imported. Lucent leaves a forward hook on
every module of the model it renders, so each call gets its own copy of the model.
"""

import copy

import numpy as np
import torch


def _import_lucent():
    import kornia
    from kornia.geometry import transform

    for name in ("get_rotation_matrix2d", "warp_affine"):
        if not hasattr(kornia, name):
            setattr(kornia, name, getattr(transform, name))
    from lucent.optvis import param, render
    return param, render


def lucent_channel_image(model, layer, index, *, steps=128, size=224, seed=0):
    """Lucent's `render_vis` with its defaults (Fourier parameterisation, decorrelated colour,
    its standard transforms, Adam at 0.05) on channel `index` of our layer: (1, 3, size, size)."""
    param, render = _import_lucent()
    own = copy.deepcopy(model).eval()
    name = model.layers[layer].replace(".", "_")  # Lucent names modules by their path, with "_"
    numpy_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):  # seeded here, the caller's generators untouched
        torch.manual_seed(seed)
        np.random.seed(seed)  # Lucent draws its random views from NumPy's global generator
        try:
            images = render.render_vis(own, f"{name}:{index}", lambda: param.image(size, fft=True, decorrelate=True),
                                       thresholds=(steps,), preprocess=False,  # our model normalises itself
                                       progress=False, show_image=False)
        finally:
            np.random.set_state(numpy_state)
    return torch.from_numpy(images[-1]).permute(0, 3, 1, 2).contiguous()
