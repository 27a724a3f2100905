"""Regression gate: compare two result sets job by job and decide whether CURRENT regressed.

Checks are small objects with a parseable syntax (``accuracy:0.5``, ``throughput:5%``,
``latency:10%``): a bare number is an absolute limit (accuracy in percentage points, throughput
in samples/s, latency in ms), a ``%`` suffix is relative to the baseline. Timing checks widen
their limit to ``noise_k`` times the run-to-run spread measured from repeated rows, so a noisy
machine does not make the gate flap.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import pandas as pd

from compressor.errors import did_you_mean_hint
from reports.frame import aggregate_repeats, method_label

from .errors import CheckSyntaxError
from .results import is_missing, results_frame

DEFAULT_NOISE_K = 3.0
__all__ = ["CheckSyntaxError", "Check", "Comparison", "compare", "parse_check"]


@dataclass(frozen=True)
class Metric:
    column: str
    higher_is_better: bool
    unit: str  # unit of an absolute threshold
    scale: float  # column value * scale = value in ``unit``
    noisy: bool  # timing metrics are widened by the measured spread


METRICS = {
    "accuracy": Metric("accuracy", True, "points", 100.0, noisy=False),
    "throughput": Metric("throughput", True, "samples/s", 1.0, noisy=True),
    "latency": Metric("latency_ms_p50", False, "ms", 1.0, noisy=True),
}
SYNTAX = "METRIC:NUMBER (absolute) or METRIC:NUMBER% (relative), METRIC one of " + ", ".join(METRICS)


@dataclass(frozen=True)
class Outcome:
    verdict: str  # "regressed" | "improved" | "unchanged" | "not comparable"
    message: str


@dataclass(frozen=True)
class Check:
    """Fails when ``metric`` gets worse than ``threshold`` (relative fraction when ``relative``)."""

    metric: str
    threshold: float
    relative: bool

    def __str__(self) -> str:
        return f"{self.metric}:{self.threshold * 100:g}%" if self.relative else f"{self.metric}:{self.threshold:g}"

    def evaluate(self, base: float, cur: float, spread: float = math.nan, noise_k: float = DEFAULT_NOISE_K) -> Outcome:
        """Compare one job's baseline and current value; ``spread`` is the relative run-to-run std."""
        spec = METRICS[self.metric]
        if is_missing(base) or is_missing(cur):
            return Outcome("not comparable", f"{self.metric}: missing value ({_show(base)} -> {_show(cur)})")
        sign = 1.0 if spec.higher_is_better else -1.0
        worse = sign * (base - cur)  # > 0 means worse, in column units
        if self.relative:
            if base == 0:
                return Outcome("not comparable", f"{self.metric}: baseline is 0, a relative change is undefined")
            change, limit, unit = worse / abs(base), self.threshold, "%"
            shown = 100.0 * change
        else:
            change, limit, unit = worse * spec.scale, self.threshold, f" {spec.unit}"
            shown = change
        noise_note = ""
        if spec.noisy and not is_missing(spread):
            noise = noise_k * spread if self.relative else noise_k * spread * abs(base) * spec.scale
            if noise > limit:
                limit = noise
                noise_note = f", widened to {noise_k:g}x measured spread"
        shown_limit = 100.0 * limit if self.relative else limit
        detail = f"{self.metric} {_show(base * spec.scale)} -> {_show(cur * spec.scale)}"
        if change > limit:
            return Outcome("regressed", f"{detail}: worse by {shown:.2f}{unit} > {shown_limit:.2f}{unit}{noise_note}")
        if -change > limit:
            return Outcome("improved", f"{detail}: better by {-shown:.2f}{unit}")
        return Outcome("unchanged", f"{detail}: within {shown_limit:.2f}{unit}{noise_note}")


def parse_check(text: str) -> Check:
    """``"throughput:5%"`` -> ``Check("throughput", 0.05, relative=True)``; raises CheckSyntaxError."""
    name, sep, value = str(text).strip().partition(":")
    name = name.strip().lower()
    if not sep:
        raise CheckSyntaxError(f"cannot parse check {text!r}: expected {SYNTAX}")
    if name not in METRICS:
        hint = did_you_mean_hint(name, METRICS)
        raise CheckSyntaxError(f"cannot parse check {text!r}: unknown metric {name!r}{hint}; expected {SYNTAX}")
    value = value.strip()
    relative = value.endswith("%")
    try:
        number = float(value[:-1] if relative else value)
    except ValueError:
        raise CheckSyntaxError(f"cannot parse check {text!r}: {value!r} is not a number; expected {SYNTAX}") from None
    if not math.isfinite(number) or number < 0:
        raise CheckSyntaxError(f"cannot parse check {text!r}: the threshold must be a finite number >= 0")
    return Check(name, number / 100.0 if relative else number, relative)


@dataclass(frozen=True)
class JobComparison:
    job_id: str
    method: str
    model: str
    # regressed | improved | unchanged | new failure | fixed | still failing | new job | missing (absent from
    # CURRENT) | not comparable (a check lacks a value on one side, or the rows measured other eval examples)
    status: str
    messages: tuple[str, ...]

    @property
    def failing(self) -> bool:
        """The gate fails on anything it could not show to be fine."""
        return self.status in ("regressed", "new failure", "still failing", "not comparable", "missing")


@dataclass(frozen=True)
class Comparison:
    jobs: tuple[JobComparison, ...]
    checks: tuple[Check, ...]
    fail_on_missing: bool = True

    def fails(self, job: JobComparison) -> bool:
        return job.failing and (self.fail_on_missing or job.status != "missing")

    @property
    def regressed(self) -> bool:
        return any(self.fails(j) for j in self.jobs)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for job in self.jobs:
            out[job.status] = out.get(job.status, 0) + 1
        return out

    def to_markdown(self) -> str:
        lines = [
            "| Job | Model | Method | Verdict | Details |",
            "|---|---|---|---|---|",
        ]
        for job in self.jobs:
            verdict = f"**{job.status}**" if self.fails(job) else job.status
            details = "; ".join(job.messages).replace("|", "\\|")
            lines.append(f"| `{job.job_id}` | {job.model} | {job.method} | {verdict} | {details} |")
        summary = ", ".join(f"{n} {status}" for status, n in sorted(self.counts().items()))
        checks = ", ".join(str(c) for c in self.checks)
        result = "REGRESSION" if self.regressed else "no regression"
        return "\n".join(lines) + f"\n\n{result}: {summary or 'no jobs'} (checks: {checks or 'none'})\n"


def compare(
    baseline: pd.DataFrame | str | os.PathLike,
    current: pd.DataFrame | str | os.PathLike,
    checks: list[Check] | tuple[Check, ...],
    noise_k: float = DEFAULT_NOISE_K,
    fail_on_missing: bool = True,
) -> Comparison:
    """Match jobs by ``job_id`` and mark each; a results path is read (and its schema checked) by harness.results."""
    base = aggregate_repeats(results_frame(baseline)).set_index("job_id", drop=False)
    cur = aggregate_repeats(results_frame(current)).set_index("job_id", drop=False)
    fallback = pooled_spread([base, cur])
    out = []
    for job_id in list(base.index) + [j for j in cur.index if j not in base.index]:
        b = base.loc[job_id] if job_id in base.index else None
        c = cur.loc[job_id] if job_id in cur.index else None
        out.append(_compare_job(str(job_id), b, c, checks, noise_k, fallback))
    return Comparison(tuple(out), tuple(checks), fail_on_missing)


def pooled_spread(frames: list[pd.DataFrame]) -> float:
    """Relative throughput std pooled over every job with repeats (weighted by n-1); NaN without repeats."""
    num = den = 0.0
    for frame in frames:
        for std, n in zip(frame["throughput_rel_std"], frame["throughput_n"], strict=True):
            if not is_missing(std) and n >= 2:
                num += (n - 1) * std * std
                den += n - 1
    return math.sqrt(num / den) if den else math.nan


def _job_spread(b: pd.Series, c: pd.Series, fallback: float) -> float:
    """The job's own spread, but never below the spread pooled over all jobs: noise is a property of the
    machine and the run, and one job's few rounds can understate it (seen: a 5.02% "regression" between
    two runs of identical code whose rounds varied by under 1.7%)."""
    spread = pooled_spread([pd.DataFrame([b]), pd.DataFrame([c])])
    if is_missing(spread):
        return fallback
    return spread if is_missing(fallback) else max(spread, fallback)


def _compare_job(job_id, b, c, checks, noise_k, fallback) -> JobComparison:
    row = c if c is not None else b
    method, model = method_label(row["technique"], row["strategy"]), str(row["model"])
    if b is None:
        if c["status"] != "ok":
            return JobComparison(job_id, method, model, "new failure", (f"new job, {c['status']}: {_error(c)}",))
        return JobComparison(job_id, method, model, "new job", ("not in baseline",))
    if c is None:
        return JobComparison(job_id, method, model, "missing", ("not in current results (not comparable)",))
    b_ok, c_ok = b["status"] == "ok", c["status"] == "ok"
    if b_ok and not c_ok:
        return JobComparison(job_id, method, model, "new failure", (f"{c['status']}: {_error(c)}",))
    if c_ok and not b_ok:
        return JobComparison(job_id, method, model, "fixed", (f"was {b['status']}: {_error(b)}",))
    if not b_ok:
        return JobComparison(job_id, method, model, "still failing", (f"{c['status']}: {_error(c)}",))
    spread = _job_spread(b, c, fallback)
    outcomes = [_evaluate(ch, b, c, spread, noise_k) for ch in checks]
    verdicts = {o.verdict for o in outcomes}
    if "regressed" in verdicts:
        status = "regressed"
    elif "not comparable" in verdicts:
        status = "not comparable"
    elif "improved" in verdicts:
        status = "improved"
    else:
        status = "unchanged"
    return JobComparison(job_id, method, model, status, tuple(o.message for o in outcomes))


def _evaluate(check: Check, b: pd.Series, c: pd.Series, spread: float, noise_k: float) -> Outcome:
    if (
        check.metric == "accuracy"
        and not is_missing(b.get("eval_digest"))
        and b.get("eval_digest") != c.get("eval_digest")
    ):
        return Outcome(
            "not comparable",
            f"accuracy: measured on other eval examples ({_show_count(b)} vs {_show_count(c)}, digests "
            f"{b.get('eval_digest')} vs {c.get('eval_digest')})",
        )
    column = METRICS[check.metric].column
    return check.evaluate(_float(b[column]), _float(c[column]), spread, noise_k)


def _float(value: object) -> float:
    return math.nan if is_missing(value) else float(value)


def _show_count(row: pd.Series) -> str:
    n = row.get("eval_examples")
    return "? examples" if is_missing(n) else f"{int(n)} examples"


def _error(row: pd.Series) -> str:
    error = row.get("error")
    return (
        "no error recorded" if is_missing(error) else str(error).splitlines()[0] if str(error) else "no error recorded"
    )


def _show(value: float) -> str:
    return "n/a" if is_missing(value) else f"{value:.4g}"
