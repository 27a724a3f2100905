"""Techniques a suite can name (``kind``), registered by name; the miss lists the known ones.

A technique turns the fp32 model of a job into the model that is measured, inside the job's
worker process. ``debug_crash``/``debug_sleep``/``debug_fail`` exist only when the environment
variable ``HARNESS_DEBUG_TECHNIQUES=1`` is set (tests use them to crash and hang a worker).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEBUG_ENV = "HARNESS_DEBUG_TECHNIQUES"


@dataclass
class Compressed:
    """What a technique hands back to the runner."""

    model: Any
    fp32_ops: list[str] | None = None  # ops left fp32 (None: not a quantized model)
    trials: int | None = None
    tuning_seconds: float | None = None
    accuracy: float | None = None  # when the technique already measured it on the same eval data
    strategy: str | None = None
    train_epochs: int | None = None  # training-time techniques: fine-tuning epochs
    train_seconds: float | None = None
    sparsity: float | None = None  # zero fraction of the measured model's Conv/Linear weights
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Technique:
    kind: str
    apply: Callable[[Any], Compressed]  # (JobContext) -> Compressed
    frameworks: tuple[str, ...]
    debug: bool = False


_REGISTRY: dict[str, Technique] = {}


def register_technique(kind: str, frameworks: tuple[str, ...] = ("onnxrt", "torch"), debug: bool = False):
    def decorate(fn: Callable[[Any], Compressed]) -> Callable[[Any], Compressed]:
        _REGISTRY[kind] = Technique(kind, fn, tuple(frameworks), debug)
        return fn

    return decorate


def _debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def technique_kinds() -> list[str]:
    _load()
    return [k for k, t in _REGISTRY.items() if not t.debug or _debug_enabled()]


def get_technique(kind: str) -> Technique:
    kinds = technique_kinds()
    if kind not in kinds:
        raise KeyError(f"unknown technique {kind!r}; known: {', '.join(kinds)}")
    return _REGISTRY[kind]


def _load() -> None:
    from . import debug, mixed_precision, ptq, training  # noqa: F401  (registration side effects)
