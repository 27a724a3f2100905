"""Fold repeated measurements of a results set into one row per job, with report-only columns added.

Rows are read, and their schema checked, only by ``harness.results`` (``results_frame`` takes a results
directory, a parquet file or a DataFrame); the column names and the measured columns live there.
"""

from __future__ import annotations

import json
import math
import os

import pandas as pd

from harness.results import MEASURED_COLUMNS, results_frame

TECHNIQUE_ORDER = ("fp32", "fp32_optimized", "int8_minmax", "int8_entropy", "int8_percentile", "dynamic", "tuned")


def load_results(source: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """Rows of ``source`` with every schema column (``harness.results.results_frame``)."""
    return results_frame(source)


def method_label(technique: str, strategy: object = None) -> str:
    """``tuned (mse)`` for a tuned job, the bare technique otherwise."""
    if _missing(strategy) or strategy == "":
        return str(technique)
    return f"{technique} ({strategy})"


def fp32_ops_count(value: object) -> int | None:
    """Number of ops kept in fp32 from the JSON list column; None when unknown."""
    if _missing(value):
        return None
    if isinstance(value, (list, tuple)):
        return len(value)
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return None
    return len(parsed) if isinstance(parsed, list) else None


def aggregate_repeats(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per ``job_id``: medians of the ok repeats, ``repeats`` and ``throughput_rel_std`` added.

    A job with at least one ok repeat counts as ok (its failed repeats are ignored); a job with
    none keeps its last row, so the reported error is the latest one. Repeats are folded only over the
    eval examples of the latest ok row (``eval_digest``): a median never mixes two evaluation sets.
    """
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
    out["technique_rank"] = [_technique_rank(t) for t in out["technique"]]
    return out


def relative_std(values: pd.Series) -> float:
    """Sample std divided by the mean; NaN with fewer than two values."""
    values = values.dropna()
    if len(values) < 2 or values.mean() == 0:
        return math.nan
    return float(values.std(ddof=1) / abs(values.mean()))


def _technique_rank(technique: object) -> int:
    return TECHNIQUE_ORDER.index(technique) if technique in TECHNIQUE_ORDER else len(TECHNIQUE_ORDER)


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists/arrays are not missing
        return False
