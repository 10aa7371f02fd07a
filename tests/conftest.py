import random

import numpy as np
import pytest
import torch

from lecture_utils import load_model


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def seed():
    """Every test starts from the same random state (CPU runs are deterministic)."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def model():
    """The bundled EfficientNet-Lite0 on the CPU (shared: tests must not modify it)."""
    return load_model(device="cpu")


def hook_count(module):
    """All forward, pre-forward and backward hooks on a module and its children."""
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        + len(getattr(m, "_backward_pre_hooks", {}))
        for m in module.modules()
    )
