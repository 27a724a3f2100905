"""Choosing the result among the trials, and explaining it.

Selection follows the exit policy of seed 001/002: among quantized plans that meet the criterion, the
best for the objective (performance = lowest latency, modelsize = smallest size, footprint = smallest
size as a proxy (PTQBackend reports no memory), accuracy = lowest loss). With none meeting it, the
closest quantized plan, marked as not meeting. A plan with every op in fp32 is never a quantized result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from . import criterion as crit
from .trial import Trial

if TYPE_CHECKING:
    from ..config import AccuracyCriterion

OBJECTIVES: dict[str, Callable[[Trial], tuple]] = {
    "performance": lambda t: (t.latency_ms, t.loss, t.index),
    "modelsize": lambda t: (t.size_bytes, t.loss, t.index),
    "footprint": lambda t: (t.size_bytes, t.loss, t.index),
    "accuracy": lambda t: (t.loss, t.latency_ms, t.index),
}


def select(trials: Sequence[Trial], objective: str) -> Trial | None:
    """The trial to report (see module docstring); None only when there are no trials."""
    built = [t for t in trials if t.error is None]
    if not built:  # every plan failed to build: the tuner reports the errors
        return trials[-1] if trials else None
    trials = built
    quantized = [t for t in trials if not t.all_fp32]
    passing = [t for t in quantized if t.met]
    if passing:
        return min(passing, key=OBJECTIVES[objective])
    if quantized:
        return min(quantized, key=lambda t: (t.loss, len(t.fallback_ops), t.index))
    return min(trials, key=lambda t: (t.loss, t.index)) if trials else None


def op_impact(trials: Sequence[Trial]) -> dict[str, float]:
    """How much moving each op to fp32 reduced the loss, from pairs of trials differing only in that op."""
    buckets: dict[tuple[str, str], dict[bool, float]] = {}
    for trial in trials:
        if trial.error is not None:
            continue
        body = trial.plan.to_dict()
        for name, choice in body["ops"].items():
            rest = dict(body, ops={k: v for k, v in body["ops"].items() if k != name})
            slot = buckets.setdefault((name, json.dumps(rest, sort_keys=True)), {})
            is_fp32 = choice["dtype"] == "fp32"
            slot[is_fp32] = min(slot.get(is_fp32, float("inf")), trial.loss)
    impact: dict[str, float] = {}
    for (name, _), slot in buckets.items():
        if True in slot and False in slot:
            impact[name] = max(impact.get(name, float("-inf")), slot[False] - slot[True])
    return {k: v for k, v in sorted(impact.items(), key=lambda kv: -kv[1]) if v > 0}


def explain(
    chosen: Trial | None,
    trials: Sequence[Trial],
    *,
    criterion: AccuracyCriterion,
    objective: str,
    fp32_latency_ms: float,
    drift: Mapping[str, float] | None = None,
) -> str:
    """A few sentences for the log and the result: what was picked and why, or why nothing passed."""
    rule = crit.describe(criterion)
    if chosen is None:
        return "The strategy proposed no plan; the fp32 model is returned unchanged."
    where = f"trial {chosen.index} (accuracy {chosen.accuracy:.4f}, loss {crit.format_loss(chosen.loss, criterion)})"
    if chosen.all_fp32:
        return (
            f"Every op is fp32 in {where}: this is not a quantized model "
            "(all ops are excluded by op_name_dict/op_type_dict, or every quantized plan was rejected)."
        )
    if chosen.met:
        passing = sum(1 for t in trials if t.met and not t.all_fp32)
        text = f"{where} meets {rule}; picked for objective={objective!r} among {passing} passing plan(s)."
        if chosen.latency_ms >= fp32_latency_ms:
            text += f" Not a win: it is not faster than fp32 ({chosen.latency_ms:.3f} ms vs {fp32_latency_ms:.3f} ms)."
        return text
    text = f"No quantized plan meets {rule} after {len(trials)} trial(s). Closest: {where}"
    text += f", fp32 ops {list(chosen.fallback_ops)}." if chosen.fallback_ops else ", fully int8."
    if any(t.met for t in trials if t.all_fp32):
        text += " Only the plan with every op in fp32 meets it."
    return text + " " + culprits(trials, criterion, drift)


def culprits(
    trials: Sequence[Trial],
    criterion: AccuracyCriterion,
    drift: Mapping[str, float] | None = None,
    top: int = 3,
) -> str:
    """The ops that hurt most: measured by trial pairs when the history has them, else by output drift.

    ``drift`` is each op's own share of the int8 output error (``sensitivity.own_contributions``).
    """
    impact = op_impact(trials)
    if impact:
        parts = [
            f"{op} (fp32 fallback recovers {crit.format_loss(v, criterion)})" for op, v in list(impact.items())[:top]
        ]
        return "Ops that hurt most: " + ", ".join(parts) + "."
    worst = [(op, v) for op, v in sorted((drift or {}).items(), key=lambda kv: -kv[1]) if v > 0]
    if worst:
        parts = [f"{op} (adds output MSE {v:.3g} of the fp32 output power)" for op, v in worst[:top]]
        return "Ops whose int8 output drifts most: " + ", ".join(parts) + "."
    return "No per-op evidence is available to say which ops hurt most."
