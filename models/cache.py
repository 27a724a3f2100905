"""Where prepared weights live and how they are named, written and read back.

The file name carries a hash of everything that decides the weights (entry name, recipe,
architecture version, framework, dataset), so changing a recipe can never pick up stale weights:
it simply misses the cache. Files are written to a temporary name and moved into place with
``os.replace`` so a crash or a concurrent writer never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import CacheError

# Bump when the on-disk layout changes (not when a recipe does: recipes are hashed).
CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    """``$COMPRESSOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/compressor/models``, else ``~/.cache/...``."""
    explicit = os.environ.get("COMPRESSOR_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "compressor" / "models"


def resolve_cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def recipe_key(identity: Mapping[str, Any]) -> str:
    """Stable 16-hex-digit hash of a JSON-serialisable description (keys sorted)."""
    blob = json.dumps({"cache_format": CACHE_FORMAT, **identity}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class CachePaths:
    weights: Path
    meta: Path

    def exists(self) -> bool:
        return self.weights.is_file() and self.meta.is_file()


def cache_paths(cache_dir: Path, name: str, framework: str, key: str, suffix: str) -> CachePaths:
    stem = f"{name}-{framework}-{key}"
    return CachePaths(weights=cache_dir / f"{stem}{suffix}", meta=cache_dir / f"{stem}.json")


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success move it over ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Keep the target's full suffix: Keras refuses to write weights unless the name ends ".weights.h5".
    stem, dot, suffix = target.name.partition(".")
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{stem}-", suffix=dot + suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; cached weights are shared data, readable like any other file.
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_meta(path: Path, meta: Mapping[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"cache_format": CACHE_FORMAT, **meta}, indent=2, sort_keys=True))


def read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CacheError(f"cannot read cache sidecar {path}: {exc}; rerun with --force") from exc
    if meta.get("cache_format") != CACHE_FORMAT:
        raise CacheError(
            f"cache sidecar {path} has format {meta.get('cache_format')!r}, expected {CACHE_FORMAT}; rerun with --force"
        )
    return meta


def environment_versions(*modules: str) -> dict[str, str]:
    """Versions recorded next to the weights, so a surprising accuracy can be traced to an upgrade."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("numpy", *modules):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return versions
