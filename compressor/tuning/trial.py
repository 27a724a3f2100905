"""One evaluated plan: what strategies read and what the history stores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..algorithms.ptq.algorithm import Plan


@dataclass(frozen=True)
class Trial:
    """The outcome of evaluating ``plan``.

    ``loss`` is in the accuracy criterion's units with "positive = worse than the fp32 baseline"
    (see ``criterion.accuracy_loss``); ``met`` says whether it is within the tolerable loss.
    ``replayed`` marks trials taken from an existing history on resume (not evaluated again).
    """

    index: int
    plan: Plan
    accuracy: float
    loss: float
    met: bool
    latency_ms: float
    size_bytes: int
    seconds: float
    replayed: bool = False
    error: str | None = None  # the backend could not build this plan (recorded, never picked)
    # < 1: rejected after evaluating this fraction of the eval set (subset screening); ``accuracy`` is then
    # the full-set estimate baseline + (subset accuracy - fp32's subset accuracy), and ``met`` is False.
    evaluated_fraction: float = 1.0

    @property
    def screened(self) -> bool:
        return self.evaluated_fraction < 1.0

    @property
    def key(self) -> str:
        return self.plan.key

    @property
    def all_fp32(self) -> bool:
        return self.plan.all_fp32

    @property
    def fallback_ops(self) -> tuple[str, ...]:
        return self.plan.fallback_ops

    def to_record(self, *, seed: int, strategy: str) -> dict[str, Any]:
        """The JSON-lines record (``kind: "trial"``)."""
        return {
            "kind": "trial",
            "index": self.index,
            "key": self.key,
            "plan": self.plan.to_dict(),
            "accuracy": self.accuracy,
            "loss": self.loss,
            "met": self.met,
            "latency_ms": self.latency_ms,
            "size_bytes": self.size_bytes,
            "seconds": self.seconds,
            "seed": seed,
            "strategy": strategy,
            "all_fp32": self.all_fp32,
            "fallback_ops": list(self.fallback_ops),
            "error": self.error,
            "evaluated_fraction": self.evaluated_fraction,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, replayed: bool = True) -> Trial:
        plan = Plan.from_dict(record["plan"])
        return cls(
            index=int(record["index"]),
            plan=plan,
            accuracy=float(record["accuracy"]),
            loss=float(record["loss"]),
            met=bool(record["met"]),
            latency_ms=float(record["latency_ms"]),
            size_bytes=int(record["size_bytes"]),
            seconds=float(record["seconds"]),
            replayed=replayed,
            error=record.get("error"),
            evaluated_fraction=float(record.get("evaluated_fraction", 1.0)),
        )
