"""What ``Tuner.run`` returns: a typed report, never None."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..algorithms.ptq.algorithm import Plan
from .trial import Trial


@dataclass
class TuningResult:
    """The chosen plan and its model, the fp32 reference, every trial, and why this plan was chosen.

    ``met_criterion`` is False when no quantized plan met the accuracy criterion (``best_plan`` is then
    the closest one). ``all_fp32`` marks a plan with every op in fp32: not a quantized model.
    ``explanation`` says what was chosen and why (or which ops hurt most when nothing passed).
    """

    best_plan: Plan | None
    model: Any
    baseline_accuracy: float
    accuracy: float
    met_criterion: bool
    trials: list[Trial]
    fp32_latency_ms: float
    latency_ms: float
    speedup: float
    size_bytes: int
    fallback_ops: tuple[str, ...]
    all_fp32: bool
    strategy: str
    seconds: float
    history_path: str
    objective: str = "performance"
    best_trial_index: int | None = None
    fp32_size_bytes: int = 0
    higher_is_better: bool = True
    seed: int = 0
    explanation: str = ""
    resumed_trials: int = 0
    screened_trials: int = 0  # rejected on a subset of the eval set without the full evaluation

    @property
    def relative_loss(self) -> float:
        """Fraction of the baseline lost (positive = worse), in the metric's direction."""
        if self.baseline_accuracy == 0:
            return 0.0 if self.accuracy == self.baseline_accuracy else float("inf")
        diff = self.baseline_accuracy - self.accuracy
        return (diff if self.higher_is_better else -diff) / abs(self.baseline_accuracy)

    @property
    def is_quantized(self) -> bool:
        return self.best_plan is not None and not self.all_fp32

    @property
    def is_win(self) -> bool:
        """Meets the criterion, is quantized, and is not slower than fp32."""
        return self.met_criterion and self.is_quantized and self.speedup > 1.0

    def summary(self) -> str:
        """Seed 002's table (fp32 row and this result) plus a status line and the explanation."""
        header = "| Optimization method | Accuracy | Relative accuracy loss [%] | Tuning cost [s] | Trials | Latency [ms] | Speedup |"
        rows = [header, "|---|---:|---:|---:|---:|---:|---:|"]
        rows.append(
            f"| fp32 baseline | {self.baseline_accuracy:.4f} | 0.00 | 0.00 | 0 | {self.fp32_latency_ms:.3f} | 1.00 |"
        )
        label = "fp32 (every op fell back)" if self.all_fp32 else f"int8 {self.strategy}"
        rows.append(
            f"| {label} | {self.accuracy:.4f} | {100 * self.relative_loss:.2f} | {self.seconds:.2f} "
            f"| {len(self.trials)} | {self.latency_ms:.3f} | {self.speedup:.2f} |"
        )
        if self.best_plan is None:
            status = "no plan was evaluated"
        elif self.all_fp32:
            status = "NOT QUANTIZED: every op is fp32"
        elif not self.met_criterion:
            status = "criterion NOT met (closest plan shown)"
        elif self.speedup <= 1.0:
            status = "criterion met, but NOT faster than fp32"
        else:
            status = "criterion met"
        fallback = ", ".join(self.fallback_ops) if self.fallback_ops else "none"
        lines = [*rows, "", f"Status: {status}. fp32 fallback ops: {fallback}.", self.explanation]
        return "\n".join(lines) + "\n"
