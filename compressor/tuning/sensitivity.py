"""Per-op sensitivity: how far each op's output under a plan drifts from fp32.

Strategies (mse, mse_v2, auto) call ``strategy.sensitivity(plan)``; the tuner owns the backend, so it
gives them this oracle. Values are computed once per plan on the first calibration batch and recorded in
the history, so a resumed run reads them back instead of recomputing (and replays identically).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..algorithms.ptq.algorithm import Plan
from ..errors import ConfigError
from .history import History

log = logging.getLogger(__name__)


def normalized_mse(reference: Any, value: Any) -> float:
    """Mean squared error relative to the reference's mean square (scale-free across ops)."""
    ref = np.asarray(_stack(reference), dtype=np.float64)
    val = np.asarray(_stack(value), dtype=np.float64)
    if ref.shape != val.shape:
        return float("inf")
    power = float(np.mean(ref * ref)) if ref.size else 0.0
    error = float(np.mean((ref - val) ** 2)) if ref.size else 0.0
    return error / power if power > 0 else error


def _stack(output: Any) -> Any:
    if isinstance(output, (list, tuple)):
        return np.concatenate([np.asarray(o).reshape(len(o), -1) if np.ndim(o) else np.atleast_1d(o) for o in output])
    return output


class SensitivityOracle:
    """``oracle(plan) -> {op name: normalized MSE of its output vs fp32}``, memoised in the history."""

    def __init__(self, backend: Any, model: Any, calibration: Sequence[Any], history: History) -> None:
        self.backend = backend
        self.model = model
        self.calibration = list(calibration)
        self.batches = self.calibration[:1]
        self.history = history
        self._reference: dict[str, Any] | None = None

    def __call__(self, plan: Plan) -> dict[str, float]:
        recorded = self.history.sensitivity.get(plan.key)
        if recorded is not None:
            return dict(recorded)
        names = list(plan.ops)
        if not self.batches:
            raise ConfigError("calibration", "no batches", reason="op sensitivity needs at least one input batch")
        if self._reference is None:
            self._reference = self.backend.op_outputs(self.model, self.batches, names)
        quantized = self.backend.quantize(self.model, plan, self.calibration)
        outputs = self.backend.op_outputs(quantized, self.batches, names)
        errors = {name: normalized_mse(self._reference[name], outputs[name]) for name in names}
        log.info("op sensitivity for plan %s: %s", plan.key, _top(errors))
        self.history.append_sensitivity(plan.key, errors)
        return errors


def own_contributions(errors: dict[str, float], order: Sequence[str]) -> dict[str, float]:
    """Each op's error beyond the op before it (execution order): its own share, not inherited drift.

    For sequential models this separates the op that breaks from the ops that merely carry the damage
    forward; for branching graphs it is an approximation (the previous op may be on another branch).
    """
    out, previous = {}, 0.0
    for name in order:
        value = errors.get(name, 0.0)
        out[name] = max(value - previous, 0.0)
        previous = value
    return out


def rank_ops(errors: dict[str, float], order: Sequence[str], candidates: Sequence[str]) -> list[str]:
    """``candidates`` most harmful first: by own contribution, then raw error, then model order."""
    own = own_contributions(errors, order)
    position = {name: i for i, name in enumerate(order)}
    return sorted(candidates, key=lambda n: (-own.get(n, 0.0), -errors.get(n, 0.0), position.get(n, 0)))


def _top(errors: dict[str, float], n: int = 3) -> str:
    worst = sorted(errors.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k}={v:.3g}" for k, v in worst)
