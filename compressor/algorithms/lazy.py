"""How every technique reaches its per-framework code: a table ``framework -> "module:Class"`` in the
technique's ``__init__.py`` (``IMPLEMENTATIONS``), imported on first use, so that ``import compressor``
needs no framework and a missing framework names the extra to install.

``supported_frameworks("ptq")`` answers from those tables without importing any framework.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ..backends import FRAMEWORKS
from ..errors import BackendError, ConfigError, UnsupportedFrameworkError

#: technique name -> (package under compressor.algorithms, the name errors use)
TECHNIQUES: dict[str, tuple[str, str]] = {
    "ptq": ("ptq", "post-training quantization"),
    "qat": ("qat", "quantization-aware training"),
    "pruning": ("pruning", "pruning"),
    "distillation": ("distillation", "distillation"),
    "mixed_precision": ("mixed_precision", "mixed precision"),
}


def implementations(technique: str) -> Mapping[str, str]:
    """The ``framework -> "module:Class"`` table of ``technique`` (its package imports no framework)."""
    if technique not in TECHNIQUES:
        raise ConfigError("technique", technique, list(TECHNIQUES))
    package = importlib.import_module(f"{__package__}.{TECHNIQUES[technique][0]}")
    return package.IMPLEMENTATIONS


def supported_frameworks(technique: str) -> tuple[str, ...]:
    """The frameworks ``technique`` runs on, sorted: ``supported_frameworks("pruning") == ("torch",)``."""
    return tuple(sorted(implementations(technique)))


def load_implementation(technique: str, framework: str) -> Any:
    """The class registered for ``framework`` by ``technique``; ``UnsupportedFrameworkError`` when there
    is none, ``BackendError`` (naming the pip extra) when the framework is not installed."""
    table = implementations(technique)
    what = TECHNIQUES[technique][1]
    if framework not in table:
        raise UnsupportedFrameworkError(what, framework, table)
    module_name, cls_name = table[framework].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = FRAMEWORKS[framework].extra if framework in FRAMEWORKS else framework
        raise BackendError(
            f"{what} for {framework} needs {exc.name}, which is not installed: pip install 'compressor[{extra}]'"
        ) from exc
    return getattr(module, cls_name)
