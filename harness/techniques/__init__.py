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

from compressor.errors import did_you_mean_hint

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
    uses: str | None = None  # the compressor technique it runs (``compressor.supported_frameworks`` answers)
    only: tuple[str, ...] | None = None  # a narrower set of frameworks, where the technique itself needs one
    debug: bool = False

    @property
    def frameworks(self) -> tuple[str, ...]:
        """Frameworks this technique runs on: those compressor supports for it that the harness can run."""
        import compressor

        from .runtimes import RUNTIMES

        supported = compressor.supported_frameworks(self.uses) if self.uses else compressor.frameworks()
        return tuple(fw for fw in supported if fw in RUNTIMES and (self.only is None or fw in self.only))


_REGISTRY: dict[str, Technique] = {}


def register_technique(kind: str, uses: str | None = None, only: tuple[str, ...] | None = None, debug: bool = False):
    """Register ``kind``: ``uses`` names the compressor technique it applies (ptq, qat, pruning, distillation,
    mixed_precision; None for baselines), ``only`` narrows the frameworks further."""

    def decorate(fn: Callable[[Any], Compressed]) -> Callable[[Any], Compressed]:
        _REGISTRY[kind] = Technique(kind, fn, uses, tuple(only) if only else None, debug)
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
        hint = did_you_mean_hint(kind, kinds)
        raise KeyError(f"unknown technique {kind!r}{hint}; known: {', '.join(kinds)}")
    return _REGISTRY[kind]


def _load() -> None:
    from . import debug, mixed_precision, ptq, training  # noqa: F401  (registration side effects)
