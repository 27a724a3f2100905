"""Per-framework implementations named as ``"module:Class"`` strings and imported on first use, so that
``import compressor`` needs no framework; a missing framework names the extra to install."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ..backends import FRAMEWORKS
from ..errors import BackendError, ConfigError


def load_implementation(table: Mapping[str, str], framework: str, what: str) -> Any:
    """The class registered for ``framework`` in ``table``; ``what`` names the technique in errors."""
    if framework not in table:
        raise ConfigError("framework", framework, sorted(table), reason=f"{what} supports these frameworks")
    module_name, cls_name = table[framework].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = FRAMEWORKS[framework][1] if framework in FRAMEWORKS else framework
        raise BackendError(
            f"{what} for {framework} needs {exc.name}, which is not installed: pip install 'compressor[{extra}]'"
        ) from exc
    return getattr(module, cls_name)
