"""Fixtures for mixed-precision tests: digits, a trained torch MLP, models built to break in bf16/fp16."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import mixed_precision_models as mpm  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data():
    return mpm.digits()


@pytest.fixture(scope="session")
def mlp(data):
    torch.set_num_threads(1)
    return mpm.train_mlp(data)
