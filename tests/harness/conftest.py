"""Shared fixtures: a private zoo cache with mlp_digits trained (seconds) and debug techniques on."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def zoo_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("zoo-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("COMPRESSOR_CACHE_DIR", str(cache))
    import models

    models.get("mlp_digits").prepare(framework="onnxrt")
    yield cache
    mp.undo()


@pytest.fixture
def harness_env(zoo_cache, monkeypatch):
    monkeypatch.setenv("COMPRESSOR_CACHE_DIR", str(zoo_cache))
    monkeypatch.setenv("HARNESS_DEBUG_TECHNIQUES", "1")
    return zoo_cache


@pytest.fixture(scope="session")
def docker_client():
    """A Docker SDK client whose daemon answers; tests marked ``docker`` skip without one, but fail
    instead when HARNESS_REQUIRE_DOCKER=1 (``tox -e docker``, CI), so that they cannot pass by skipping."""
    import os

    from harness.images import ContainerError
    from harness.images.build import connect

    try:
        return connect(timeout=120)
    except ContainerError as exc:
        if os.environ.get("HARNESS_REQUIRE_DOCKER", "") not in ("", "0"):
            pytest.fail(f"HARNESS_REQUIRE_DOCKER is set but {exc}")
        pytest.skip(f"{exc} (set HARNESS_REQUIRE_DOCKER=1 to fail instead)")


@pytest.fixture(scope="session")
def docker_image(docker_client):
    """``docker_image(tag, how)``: the image from the daemon; missing, the test skips (fails under
    HARNESS_REQUIRE_DOCKER=1) saying ``how`` to make it."""
    import os

    import docker.errors

    def get(tag: str, how: str):
        try:
            return docker_client.images.get(tag)
        except docker.errors.ImageNotFound:
            message = f"{tag} is missing: run `{how}`"
            if os.environ.get("HARNESS_REQUIRE_DOCKER", "") not in ("", "0"):
                pytest.fail(message)
            pytest.skip(message)

    return get
