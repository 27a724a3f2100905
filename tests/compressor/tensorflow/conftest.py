"""Shared by the TensorFlow tests (``tox -e tf``): the digits data as 8x8x1 images, split 1200/597."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], data.target[order]
    return x[:1200], y[:1200], x[1200:], y[1200:]
