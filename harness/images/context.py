"""The build context of an image, assembled as a tar (the Dockerfile's COPY paths refer to it):

    Dockerfile            containers/<name>/Dockerfile
    requirements.lock     containers/<name>/requirements.lock
    pip/pip.conf          how pip installs the lock inside the build (see PipSource)
    pip/wheels/…          the lock's wheels (wheelhouse mode)
    pip/ca-bundle.crt     the host's CA bundle (network mode)
    src/…                 the project: pyproject.toml, README.md and its packages

Entries have fixed owner, mode and mtime, so the same files give the same layers (Docker's cache).
``source_sha256`` hashes everything but the wheels (which the lock decides): with the git sha and the
lock hash it decides whether an image is up to date.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import ContainerError
from .specs import REPO, Image

SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo")
PIP_MODES = ("wheelhouse", "network")
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@dataclass(frozen=True)
class PipSource:
    """Where pip inside the build gets the lock's packages.

    ``wheelhouse`` (default): from wheels downloaded on the host; no network in the build.
    ``network``: from an index over the host's network (the build runs with ``network_mode=host``),
    trusting ``ca_bundle`` (default: pip's ``cert`` setting on the host, else the system bundle).
    """

    mode: str = "wheelhouse"
    wheels: tuple[Path, ...] = ()
    ca_bundle: Path | None = None
    index_url: str = "https://pypi.org/simple"
    extra_index_urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in PIP_MODES:
            raise ContainerError(f"pip source {self.mode!r} is not known; allowed: {', '.join(PIP_MODES)}")

    def pip_conf(self) -> str:
        if self.mode == "wheelhouse":
            return "[global]\nno-index = true\nfind-links = /tmp/pip/wheels\n"
        lines = ["[global]", f"index-url = {self.index_url}", "cert = /tmp/pip/ca-bundle.crt"]
        if self.extra_index_urls:
            lines.append("extra-index-url = " + " ".join(self.extra_index_urls))
        return "\n".join(lines) + "\n"


def host_pip_network_source(ca_bundle: str | None = None) -> PipSource:
    """network mode with the host's http(s) indexes and CA bundle (file:// indexes are not visible inside)."""

    def setting(key: str) -> str:
        done = subprocess.run(["pip", "config", "get", key], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    urls = [u for u in (os.environ.get("PIP_INDEX_URL") or setting("global.index-url")).split() if u]
    extras = (os.environ.get("PIP_EXTRA_INDEX_URL") or setting("global.extra-index-url")).split()
    cert = Path(ca_bundle or os.environ.get("PIP_CERT") or setting("global.cert") or DEFAULT_CA_BUNDLE)
    if not cert.is_file():
        raise ContainerError(f"CA bundle {str(cert)!r} does not exist; pass --ca-bundle PATH")
    web = [u for u in urls if u.startswith(("http://", "https://"))]
    return PipSource(
        mode="network",
        ca_bundle=cert,
        index_url=web[0] if web else "https://pypi.org/simple",
        extra_index_urls=tuple(u for u in extras if u.startswith(("http://", "https://"))),
    )


def source_files(repo: Path = REPO) -> list[tuple[str, Path]]:
    """(path in the context, file) of the project: pyproject.toml, README.md, the packages it ships."""
    from .lock import load_toml

    pyproject = repo / "pyproject.toml"
    find = load_toml(pyproject.read_text()).get("tool", {}).get("setuptools", {}).get("packages", {})
    roots = sorted({pattern.split("*")[0].split(".")[0] for pattern in find.get("find", {}).get("include", [])})
    if not roots:
        raise ContainerError(f"{pyproject}: no [tool.setuptools.packages.find] include; cannot tell what to ship")
    files = [("src/pyproject.toml", pyproject), ("src/README.md", repo / "README.md")]
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(repo / root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info"))
            for name in sorted(filenames):
                if not name.endswith(SKIP_SUFFIXES):
                    path = Path(dirpath) / name
                    files.append((f"src/{path.relative_to(repo).as_posix()}", path))
    return files


def _entries(image: Image, pip: PipSource) -> Iterator[tuple[str, Path | bytes, bool]]:
    """(context path, file or content, hashed?) in a fixed order."""
    yield "Dockerfile", image.dockerfile, True
    yield "requirements.lock", image.lock_file, True
    yield "pip/pip.conf", pip.pip_conf().encode(), True
    for wheel in pip.wheels:
        yield f"pip/wheels/{wheel.name}", wheel, False
    if pip.ca_bundle is not None:
        yield "pip/ca-bundle.crt", pip.ca_bundle, False
    for arcname, path in source_files():
        yield arcname, path, True


def source_sha256(image: Image, pip: PipSource) -> str:
    digest = hashlib.sha256()
    for arcname, item, hashed in _entries(image, pip):
        if hashed:
            data = item if isinstance(item, bytes) else item.read_bytes()
            executable = not isinstance(item, bytes) and os.access(item, os.X_OK)
            digest.update(f"{arcname}\0{int(executable)}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def write_context(image: Image, pip: PipSource, out: IO[bytes]) -> None:
    """Write the build context tar to ``out`` (uncompressed: most of it is wheels)."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for arcname, item, _ in _entries(image, pip):
            info = tarfile.TarInfo(arcname)
            info.uid = info.gid = 0
            info.mtime = 0
            if isinstance(item, bytes):
                info.size, info.mode = len(item), 0o644
                tar.addfile(info, io.BytesIO(item))
            else:
                info.size = item.stat().st_size
                info.mode = 0o755 if os.access(item, os.X_OK) else 0o644
                with open(item, "rb") as handle:
                    tar.addfile(info, handle)
