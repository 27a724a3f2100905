"""The strategy summary: every tuned job across models, and per strategy how often it met the accuracy
criterion and at what cost (trials, tuning seconds) for what speedup.

A tuned job that did not meet its criterion, or did not finish, is a row that says so: leaving it out
would make a strategy that times out on the hard models look as good as one that succeeds on them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from .cells import MISSING, fmt, text
from .frame import fp32_ops_count

ROW_HEADER = (
    "Model",
    "Framework",
    "Technique",
    "Strategy",
    "Met criterion",
    "Trials",
    "Tuning [s]",
    "Speedup vs fp32",
    "Int8 ops",
    "Top 1 accuracy",
    "Relative loss [%]",
)
AGGREGATE_HEADER = (
    "Strategy",
    "Jobs",
    "Met criterion",
    "Success rate",
    "Median trials",
    "Median tuning [s]",
    "Median speedup vs fp32",
)
# notes key the harness may record the quantizable op count under; without it int8 ops are unknown
TOTAL_OPS_NOTE = "quantizable_ops"


@dataclass(frozen=True)
class StrategySummary:
    rows: list[list[str]]  # one per tuned job, ROW_HEADER
    aggregate: list[list[str]]  # one per strategy, AGGREGATE_HEADER
    failed: list[bool]  # per row: the job did not finish ok
    frame: pd.DataFrame  # the tuned jobs with ``strategy_label``, ``met`` and ``finished`` (for the chart)
    total_ops_known: bool  # every row's int8 op count is known (else some cells show the fp32 ops kept)
    screened_trials: int = 0  # trials rejected on a subset of the eval set (the rows' notes)


def tuned_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
    """Rows of tuned jobs: ``technique_kind == 'tuned'`` (rows without a kind: those with a strategy)."""
    kinds = jobs["technique_kind"] if "technique_kind" in jobs.columns else [None] * len(jobs)
    tuned = [
        kind == "tuned" if text(kind) != MISSING else text(strategy) != MISSING
        for kind, strategy in zip(kinds, jobs["strategy"], strict=True)
    ]
    return jobs[pd.Series(tuned, index=jobs.index, dtype=bool)]


def outcome(row: pd.Series) -> str:
    """``yes`` / ``no`` (met the accuracy criterion), ``failed: <status>`` for a job that did not finish, ``—``
    when an ok row does not say."""
    status = str(row["status"])
    if status != "ok":
        return "failed" if status == "failed" else f"failed: {status}"
    met = row.get("met_criterion")
    if met is None or pd.isna(met):
        return MISSING
    return "yes" if bool(met) else "no"


def int8_ops(row: pd.Series) -> tuple[str, bool]:
    """Display text of the ops the result quantized, and whether that count is known.

    The count is the model's quantizable ops (``notes[TOTAL_OPS_NOTE]``) minus the ops kept in fp32;
    when the row does not record the total, the cell says how many ops were kept in fp32 instead.
    """
    kept = fp32_ops_count(row.get("fp32_ops"))
    if kept is None:
        return MISSING, True
    notes = _notes(row)
    if notes.get("all_fp32"):
        return "0 (every op fp32: not a quantized model)", True
    total = notes.get(TOTAL_OPS_NOTE)
    total = len(total) if isinstance(total, list) else total
    if isinstance(total, int) and total >= kept:
        return str(total - kept), True
    return f"fp32 ops kept: {kept}", False


def strategy_summary(jobs: pd.DataFrame) -> StrategySummary | None:
    """The summary of ``jobs``' tuned rows in the given order; None without tuned jobs."""
    tuned = tuned_jobs(jobs).copy()
    if tuned.empty:
        return None
    tuned["strategy_label"] = [_label(s) for s in tuned["strategy"]]
    tuned["finished"] = tuned["status"] == "ok"
    tuned["met"] = [outcome(row) == "yes" for _, row in tuned.iterrows()]
    rows, all_known = [], True
    for _, row in tuned.iterrows():
        ops, known = int8_ops(row)
        all_known = all_known and known
        rows.append(
            [
                str(row["model"]),
                text(row.get("framework")),
                str(row["technique"]),
                row["strategy_label"],
                outcome(row),
                fmt(row["trials"], "{:.0f}"),
                fmt(row["tuning_seconds"], "{:.2f}"),
                fmt(row["speedup_vs_fp32"], "{:.2f}"),
                ops,
                fmt(row["accuracy"], "{:.4f}"),
                fmt(100.0 * row["relative_loss"], "{:.2f}"),
            ]
        )
    return StrategySummary(
        rows=rows,
        aggregate=_aggregate(tuned),
        failed=[not f for f in tuned["finished"]],
        frame=tuned,
        total_ops_known=all_known,
        screened_trials=sum(_screened(row) for _, row in tuned.iterrows()),
    )


def _screened(row: pd.Series) -> int:
    """``screened_trials`` of a row's notes; 0 when absent."""
    value = _notes(row).get("screened_trials", 0)
    return int(value) if isinstance(value, (int, float)) and value == value else 0


def _aggregate(tuned: pd.DataFrame) -> list[list[str]]:
    """Per strategy (first-seen order): jobs, met count, success rate, medians. Trials and tuning seconds
    count every job (a timed-out search still cost them); the speedup only finished ones."""
    out = []
    for strategy, group in tuned.groupby("strategy_label", sort=False):
        n, met = len(group), int(group["met"].sum())
        finished = group[group["finished"]]
        out.append(
            [
                str(strategy),
                str(n),
                f"{met} of {n}",
                f"{met / n:.0%}",
                fmt(group["trials"].median(), "{:g}"),
                fmt(group["tuning_seconds"].median(), "{:.2f}"),
                fmt(finished["speedup_vs_fp32"].median(), "{:.2f}"),
            ]
        )
    return out


def _notes(row: pd.Series) -> dict:
    value = row.get("notes")
    if not isinstance(value, str):
        return value if isinstance(value, dict) else {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _label(strategy: object) -> str:
    return "(default)" if text(strategy) == MISSING else str(strategy)
