"""Shared fixtures: a private zoo cache with mlp_digits trained (seconds) and debug techniques on."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def zoo_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("zoo-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("COMPRESSOR_CACHE_DIR", str(cache))
    import models

    models.get("mlp_digits").prepare(framework="onnx")
    yield cache
    mp.undo()


@pytest.fixture
def harness_env(zoo_cache, monkeypatch):
    monkeypatch.setenv("COMPRESSOR_CACHE_DIR", str(zoo_cache))
    monkeypatch.setenv("HARNESS_DEBUG_TECHNIQUES", "1")
    return zoo_cache
