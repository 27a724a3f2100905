"""Build an image through the Docker SDK, streaming its log; skip it when it is up to date.

An image is labelled with the git sha of the tree, the sha256 of its lock, a hash of its build
context (sources, Dockerfile, pip configuration) and the id of its base; it is rebuilt only when
one of them changes (or with ``force``). Layers are cached by Docker: a new commit with the same
lock reuses the dependency layers and only reinstalls the project.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ContainerError
from . import wheelhouse
from .context import PipSource, host_pip_network_source, source_sha256, write_context
from .lock import parse_lock
from .specs import LABEL, Image, repo_git_sha

log = logging.getLogger(__name__)
BOOTSTRAP_HINT = "harness containers bootstrap-base"


def connect(timeout: int = 120) -> Any:
    """A Docker SDK client whose daemon answers, or a ContainerError saying how to start one."""
    try:
        import docker
    except ModuleNotFoundError:
        raise ContainerError("the Docker SDK for Python is missing: pip install 'compressor[containers]'") from None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # DockerException, requests' ConnectionError, PermissionError on the socket
        raise ContainerError(
            f"no Docker daemon answers ({type(exc).__name__}: {exc}); start one with containers/ensure-docker.sh"
        ) from None
    return client


@dataclass(frozen=True)
class Base:
    ref: str
    id: str
    how: str  # given | local | bootstrapped | pulled


def resolve_base(client: Any, default: str, explicit: str | None = None) -> Base:
    """The base image to build FROM: ``explicit``, else the Dockerfile's default when it is here, else
    a bootstrapped image labelled as standing in for it, else the default pulled from its registry."""
    import docker.errors

    if explicit:
        return Base(explicit, _get_or_pull(client, explicit).id, "given")
    try:
        return Base(default, client.images.get(default).id, "local")
    except docker.errors.ImageNotFound:
        pass
    # Images built FROM a stand-in inherit its labels: only tagged ones that are no harness image count.
    labelled = client.images.list(filters={"label": f"{LABEL}.base.substitutes={default}", "dangling": False})
    stand_ins = [image for image in labelled if image.tags and f"{LABEL}.image" not in (image.labels or {})]
    if stand_ins:
        newest = max(stand_ins, key=lambda image: image.attrs.get("Created", ""))
        ref = next(iter(newest.tags), newest.id)
        log.info("base %s is not here; using the bootstrapped %s", default, ref)
        return Base(ref, newest.id, "bootstrapped")
    return Base(default, _get_or_pull(client, default).id, "pulled")


def _get_or_pull(client: Any, ref: str) -> Any:
    import docker.errors

    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        pass
    repository, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "latest")
    try:
        log.info("pulling %s", ref)
        return client.images.pull(repository, tag=tag)
    except docker.errors.APIError as exc:
        reason = getattr(exc, "explanation", None) or str(exc)
        raise ContainerError(
            f"base image {ref!r} is not here and cannot be pulled ({reason.strip()[:300]}); without a registry, "
            f"build an offline base from Debian packages with `{BOOTSTRAP_HINT}` (or pass --base-image IMAGE)"
        ) from None


@dataclass(frozen=True)
class BuildResult:
    image: str
    tag: str
    id: str
    built: bool  # False: already up to date
    seconds: float
    base: Base
    labels: dict[str, str]


def wanted_labels(image: Image, pip: PipSource, base: Base) -> dict[str, str]:
    return {
        f"{LABEL}.image": image.name,
        f"{LABEL}.frameworks": ",".join(image.spec.frameworks),
        f"{LABEL}.git-sha": repo_git_sha(),
        f"{LABEL}.lock-sha256": image.lock_sha256(),
        f"{LABEL}.source-sha256": source_sha256(image, pip),
        f"{LABEL}.pip-source": pip.mode,
        f"{LABEL}.base": base.ref,
        f"{LABEL}.base-id": base.id,
    }


def stale_labels(current: dict[str, str] | None, wanted: dict[str, str]) -> list[str]:
    """Labels whose value differs (all of them when there is no image)."""
    current = current or {}
    return [key for key, value in wanted.items() if current.get(key) != value]


def build_image(
    image: Image,
    *,
    client: Any | None = None,
    pip_mode: str = "wheelhouse",
    wheelhouse_dir: Path | None = None,
    ca_bundle: str | None = None,
    base_image: str | None = None,
    force: bool = False,
    no_cache: bool = False,
    on_log: Callable[[str], None] = lambda text: log.info(text.rstrip()),
) -> BuildResult:
    import docker.errors

    client = client or connect()
    start = time.perf_counter()
    base = resolve_base(client, image.default_base, base_image)
    pins = parse_lock(image.lock_text(), source=str(image.lock_file))
    pip = host_pip_network_source(ca_bundle) if pip_mode == "network" else PipSource(mode=pip_mode)
    labels = wanted_labels(image, pip, base)
    try:
        current = client.images.get(image.tag)
    except docker.errors.ImageNotFound:
        current = None
    stale = stale_labels(current.labels if current else None, labels)
    if current is not None and not stale and not force:
        return BuildResult(image.name, image.tag, current.id, False, time.perf_counter() - start, base, labels)
    if current is not None:
        on_log(f"rebuilding {image.tag}: changed {', '.join(k.removeprefix(LABEL + '.') for k in stale) or 'forced'}\n")
    if pip.mode == "wheelhouse":
        directory = wheelhouse_dir or wheelhouse.default_dir(image.name)
        on_log(f"wheelhouse {directory}: {len(pins)} pins\n")
        pip = PipSource(mode="wheelhouse", wheels=tuple(wheelhouse.fill(directory, pins)))
    on_log(f"building {image.tag} FROM {base.ref} ({base.how}, {base.id[:19]}), pip source: {pip.mode}\n")
    image_id = _stream_build(client, image, pip, base, labels, no_cache, on_log)
    if current is not None and current.id != image_id:
        _drop_replaced(client, current.id)
    return BuildResult(image.name, image.tag, image_id, True, time.perf_counter() - start, base, labels)


def _stream_build(client, image, pip, base, labels, no_cache, on_log) -> str:
    with tempfile.TemporaryFile(prefix="harness-context-") as context:
        write_context(image, pip, context)
        context.seek(0)
        stream = client.api.build(
            fileobj=context, custom_context=True, tag=image.tag, labels=labels, decode=True,
            buildargs={"BASE_IMAGE": base.ref, "EXTRAS": ",".join(image.spec.extras)},
            network_mode="host" if pip.mode == "network" else None,
            rm=True, forcerm=True, nocache=no_cache, pull=False,
        )  # fmt: skip
        tail: list[str] = []
        for chunk in stream:
            if "stream" in chunk:
                on_log(chunk["stream"])
                tail = (tail + [chunk["stream"]])[-30:]
            elif "error" in chunk:
                raise ContainerError(f"building {image.tag} failed: {chunk['error'].strip()}\n{''.join(tail)}")
            elif "status" in chunk:
                on_log(chunk["status"] + "\n")
    return client.images.get(image.tag).id


def _drop_replaced(client: Any, image_id: str) -> None:
    """The image the new build replaced is untagged now: remove it (layers shared with the new one stay),
    so that rebuilds do not pile up gigabytes. One still used by a container is left alone."""
    import docker.errors

    try:
        client.images.remove(image_id)
    except docker.errors.APIError as exc:
        log.info("kept the replaced image %s: %s", image_id[:19], exc)
