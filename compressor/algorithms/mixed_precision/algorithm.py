"""The framework-free vocabulary of mixed precision.

A mixed-precision plan is a PTQ ``Plan`` whose per-op choices are ``OpQuant(dtype="bf16"|"fp16")`` or
fp32: the tuner, its strategies (fp32 fallback by measured sensitivity), history, resume and recover
are reused unchanged. The PTQ-only plan fields keep fixed values that mean "nothing to calibrate":
``approach="dynamic"`` (the tuner then needs no calibration set; the batches it gets serve latency and
op-output sensitivity only), ``calibration="minmax"``, ``quant_format="default"``, no SmoothQuant.

Numerically sensitive ops (softmax, normalisations, losses, reductions) are never in a backend's op
list, so they always stay fp32; the converted ops hand fp32 back to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...config.frozen import FrozenDict
from ...errors import ConfigError
from ..ptq.algorithm import OpQuant, Plan

PRECISIONS = ("bf16", "fp16")
APPROACH = "dynamic"  # no calibrated ranges; see the module docstring


def low_precision(precision: str) -> OpQuant:
    """The per-op choice "run this op in ``precision``"."""
    if precision not in PRECISIONS:
        raise ConfigError("precision", precision, PRECISIONS)
    return OpQuant(dtype=precision)


def precision_order(
    requested: Iterable[str], excluded: Iterable[str] = (), native: Mapping[str, bool] | None = None
) -> tuple[str, ...]:
    """The precisions a plan may use, best first: natively supported ones first, then the requested order."""
    excluded = set(excluded)
    allowed = [p for p in dict.fromkeys(requested) if p not in excluded]
    if not allowed:
        raise ConfigError(
            "excluded_precisions",
            sorted(excluded),
            f"a set that leaves at least one of precisions={list(requested)}",
            reason="every requested precision is excluded",
        )
    for p in allowed:
        if p not in PRECISIONS:
            raise ConfigError("precisions", p, PRECISIONS)
    native = native or {}
    return tuple(sorted(allowed, key=lambda p: not native.get(p, False)))


def ops_by_dtype(plan: Plan) -> dict[str, list[str]]:
    """{"bf16": [...], "fp16": [...], "fp32": [...]}: each op under the dtype the plan gives it."""
    out: dict[str, list[str]] = {}
    for name, choice in plan.ops.items():
        out.setdefault(choice.dtype, []).append(name)
    return out


def plan_from_dtypes(dtypes: Mapping[str, str]) -> Plan:
    """A plan from ``{op: "bf16"|"fp16"|"fp32"}`` (what a saved model records)."""
    return Plan(ops=FrozenDict((n, OpQuant(dtype=d)) for n, d in dtypes.items()), approach=APPROACH)


@dataclass(frozen=True)
class TuningView:
    """A ``MixedPrecisionConfig`` seen through the fields the tuner and ``build_space`` read from a PTQ
    config; every PTQ-only field has its "does nothing" value."""

    config: Any  # the MixedPrecisionConfig
    sample_count: int = 1
    performance_only: bool = False
    approach: str = APPROACH
    quant_format: str = "default"
    op_type_dict: Any = None
    op_name_dict: Any = None
    recipes: FrozenDict = field(default_factory=FrozenDict)

    @property
    def tuning_criterion(self) -> Any:
        return self.config.tuning_criterion

    @property
    def accuracy_criterion(self) -> Any:
        return self.config.accuracy_criterion

    @property
    def calibration_sampling_size(self) -> tuple[int, ...]:
        return (self.sample_count,)

    def to_json(self, **kwargs: Any) -> str:
        return self.config.to_json(**kwargs)
