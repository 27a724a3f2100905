"""The wheelhouse: the lock's distributions downloaded on the host, copied into the build context.

Builds then install with ``pip --no-index`` and need no network at all (the container build sees
neither this machine's local indexes nor, air-gapped, any index). Files are kept between builds
(``$XDG_CACHE_HOME/compressor/wheelhouse/<image>``); only missing pins are downloaded, with the
host's pip configuration (indexes, find-links, CA bundle, constraints).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from ..errors import ContainerError
from .lock import normalize

log = logging.getLogger(__name__)
SUFFIXES = (".whl", ".tar.gz", ".zip")


def default_dir(image_name: str) -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "compressor" / "wheelhouse" / image_name


def distribution_of(filename: str) -> tuple[str, str] | None:
    """(normalized name, version) of a wheel or sdist file name; None for anything else."""
    if filename.endswith(".whl"):
        parts = filename[: -len(".whl")].split("-")
        return (normalize(parts[0]), parts[1]) if len(parts) >= 5 else None
    for suffix in SUFFIXES[1:]:
        if filename.endswith(suffix):
            name, _, version = filename[: -len(suffix)].rpartition("-")
            return (normalize(name), version) if name else None
    return None


def _same_version(a: str, b: str) -> bool:
    return re.sub(r"[-_]", ".", a.lower()) == re.sub(r"[-_]", ".", b.lower())


def select(directory: Path, pins: dict[str, str]) -> tuple[list[Path], list[str]]:
    """Files of ``directory`` that provide the pins, and the ``name==version`` pins none provides."""
    by_pin: dict[str, Path] = {}
    files = sorted(directory.iterdir()) if directory.is_dir() else []
    for path in files:
        dist = distribution_of(path.name)
        matches = dist is not None and dist[0] in pins and _same_version(dist[1], pins[dist[0]])
        # Prefer a wheel over an sdist of the same pin: no build inside the image.
        if matches and (dist[0] not in by_pin or path.suffix == ".whl"):
            by_pin[dist[0]] = path
    missing = [f"{name}=={version}" for name, version in pins.items() if name not in by_pin]
    return sorted(by_pin.values()), missing


def fill(directory: Path, pins: dict[str, str]) -> list[Path]:
    """Download what the wheelhouse lacks (``pip download --no-deps``) and return the lock's files."""
    directory.mkdir(parents=True, exist_ok=True)
    files, missing = select(directory, pins)
    if missing:
        log.info("wheelhouse %s: downloading %d of %d pins", directory, len(missing), len(pins))
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(directory), *missing]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise ContainerError(
                f"pip download into the wheelhouse {directory} failed (does this machine's pip reach an index "
                f"or find-links holding these pins?):\n{done.stderr[-2000:]}"
            )
        files, missing = select(directory, pins)
        if missing:
            raise ContainerError(f"wheelhouse {directory} still lacks {missing} after pip download")
    return files
