"""Fold repeated measurements of a results set into one row per job, with report-only columns added.

Rows are read, and their schema checked, only by ``harness.results`` (``results_frame`` takes a results
directory, a parquet file or a DataFrame); the column names and the measured columns live there.
"""

from __future__ import annotations

import json
import math
import os

import pandas as pd

from harness.results import MEASURED_COLUMNS, is_missing, results_frame

# Only breaks ties of suite_positions (jobs started in the same second of one run): the kinds in bench-cpu's order.
TECHNIQUE_ORDER = ("fp32", "fp32_optimized", "int8_minmax", "int8_entropy", "int8_percentile", "dynamic", "tuned")


def load_results(source: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """Rows of ``source`` with every schema column (``harness.results.results_frame``)."""
    return results_frame(source)


def method_label(technique: str, strategy: object = None) -> str:
    """``tuned (mse)`` for a tuned job, the bare technique otherwise."""
    if is_missing(strategy) or strategy == "":
        return str(technique)
    return f"{technique} ({strategy})"


def fp32_ops_count(value: object) -> int | None:
    """Number of ops kept in fp32 from the JSON list column; None when unknown."""
    if is_missing(value):
        return None
    if isinstance(value, (list, tuple)):
        return len(value)
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return None
    return len(parsed) if isinstance(parsed, list) else None


def suite_positions(frame: pd.DataFrame) -> dict[str, int]:
    """job id → its position in the suite: the rows' ``job_index`` (the suite's matrix order), else when the
    job first ran.

    ``harness run`` schedules a suite's jobs in suite order, so its rows sorted by (``run_id``,
    ``started_at``) list each job's first appearance in that order; a job rerun later (resume, repeat)
    keeps its first place. ``started_at`` has one-second resolution: jobs started in the same second of a
    run fall back to ``TECHNIQUE_ORDER`` (by technique kind), then to the order the rows were read in.
    """
    kinds = _column(frame, "technique_kind")
    keys = pd.DataFrame(
        {
            "job_id": frame["job_id"].to_numpy(),
            "job_index": pd.to_numeric(pd.Series(_column(frame, "job_index")), errors="coerce").to_numpy(),
            "run_id": _column(frame, "run_id"),
            "started_at": _column(frame, "started_at"),
            "rank": [_technique_rank(k or t) for k, t in zip(kinds, frame["technique"], strict=True)],
            "read": range(len(frame)),
        }
    )
    order = ["job_index", "run_id", "started_at", "rank", "read"]
    ordered = keys.sort_values(order, na_position="last", kind="stable")
    return {job: i for i, job in enumerate(ordered["job_id"].drop_duplicates())}


def is_fp32_baseline(row: pd.Series, kind: str = "fp32") -> bool:
    """Whether ``row`` is the fp32 (or, with ``kind``, the fp32_optimized) model itself."""
    technique_kind = row.get("technique_kind")
    if isinstance(technique_kind, str) and technique_kind:
        return technique_kind == kind
    return row.get("technique") == kind


def aggregate_repeats(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per ``job_id``: medians of the ok repeats, ``repeats`` and ``throughput_rel_std`` added.

    A job with at least one ok repeat counts as ok (its failed repeats are ignored); a job with
    none keeps its last row, so the reported error is the latest one. Repeats are folded only over the
    eval examples of the latest ok row (``eval_digest``): a median never mixes two evaluation sets.
    """
    positions = suite_positions(frame)
    rows = []
    for _, group in frame.groupby("job_id", sort=False):
        ok = group[group["status"] == "ok"]
        latest = ok["eval_digest"].iloc[-1] if len(ok) else None
        if isinstance(latest, str):
            ok = ok[ok["eval_digest"] == latest]
        chosen = ok if len(ok) else group.tail(1)
        row = chosen.iloc[0].copy()
        for column in MEASURED_COLUMNS:
            values = chosen[column].dropna()
            row[column] = float(values.median()) if len(values) else math.nan
        row["repeats"] = len(chosen)
        row["throughput_rel_std"] = relative_std(chosen["throughput"])
        row["throughput_n"] = int(chosen["throughput"].notna().sum())
        within = row.get("throughput_rounds_rel_std")
        if row["throughput_n"] < 2 and within is not None and not pd.isna(within):
            # One run: the spread its own A/B rounds measured is the run-to-run estimate.
            row["throughput_rel_std"] = float(within)
            row["throughput_n"] = int(row.get("throughput_rounds") or 0)
        rows.append(row)
    out = pd.DataFrame(rows).reset_index(drop=True)
    out["method"] = [method_label(t, s) for t, s in zip(out["technique"], out["strategy"], strict=True)]
    out["suite_position"] = [positions[j] for j in out["job_id"]]
    return out


def relative_std(values: pd.Series) -> float:
    """Sample std divided by the mean; NaN with fewer than two values."""
    values = values.dropna()
    if len(values) < 2 or values.mean() == 0:
        return math.nan
    return float(values.std(ddof=1) / abs(values.mean()))


def _technique_rank(technique: object) -> int:
    return TECHNIQUE_ORDER.index(technique) if technique in TECHNIQUE_ORDER else len(TECHNIQUE_ORDER)


def _column(frame: pd.DataFrame, name: str) -> list[str | None]:
    """String values of ``name`` (None where missing), so mixed null kinds sort together."""
    if name not in frame.columns:
        return [None] * len(frame)
    return [None if is_missing(v) else str(v) for v in frame[name]]
