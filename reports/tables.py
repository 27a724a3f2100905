"""The result table users know from seed 002, rendered from result rows.

| Optimization method | Top 1 accuracy | Top 1 relative accuracy loss [%] | Cost [s] | Trials | Latency [ms] | Speedup |

Relative loss and speedup are derived here from the baseline row, never stored twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ResultRow:
    method: str
    accuracy: float
    latency_ms: float
    tuning_seconds: float = 0.0
    trials: int = 0
    higher_is_better: bool = True


def relative_loss(baseline: float, value: float, higher_is_better: bool = True) -> float:
    """Relative accuracy loss in [0, ...) as a fraction: positive means worse than the baseline."""
    if baseline == 0:
        raise ValueError("relative loss needs a non-zero baseline accuracy")
    loss = (baseline - value) / abs(baseline)
    return loss if higher_is_better else -loss


def markdown_table(rows: Sequence[ResultRow], baseline: str | None = None) -> str:
    """Markdown table with relative loss and speedup against ``baseline`` (default: the first row)."""
    if not rows:
        raise ValueError("markdown_table needs at least one row")
    base = rows[0] if baseline is None else _find(rows, baseline)
    header = (
        "| Optimization method | Top 1 accuracy | Top 1 relative accuracy loss [%] | Tuning cost [s] "
        "| Trials | Latency [ms] | Speedup |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        loss = 100.0 * relative_loss(base.accuracy, row.accuracy, row.higher_is_better)
        speedup = base.latency_ms / row.latency_ms if row.latency_ms > 0 else float("nan")
        lines.append(
            f"| {row.method} | {row.accuracy:.4f} | {loss:.2f} | {row.tuning_seconds:.2f} | {row.trials} "
            f"| {row.latency_ms:.3f} | {speedup:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _find(rows: Iterable[ResultRow], method: str) -> ResultRow:
    names = []
    for row in rows:
        if row.method == method:
            return row
        names.append(row.method)
    raise ValueError(f"baseline {method!r} is not among the rows: {names}")
