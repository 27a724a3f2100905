"""Every test gets its own cache directory, so tests never share files (safe under ``pytest -n auto``)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    cache = tmp_path / "model-cache"
    monkeypatch.setenv("COMPRESSOR_CACHE_DIR", str(cache))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Parallel workers already fill the cores; one training thread each avoids oversubscription.
        monkeypatch.setenv("COMPRESSOR_TRAIN_THREADS", "1")
    return cache
