"""``harness reproduce RESULTS JOB_ID``: rebuild a tuned row's model from its kept workspace and re-measure it.

A tuned job (``tuned``, ``bf16``, ``fp16``) keeps its workspace under ``RESULTS/_work/<content key>/``: the
job itself (``job.json``), the trial history and the calibration batches. This command loads the same
fp32 model and evaluation examples, rebuilds the row's chosen trial with ``compressor.recover`` (no
tuning, no calibration data loader), evaluates it and compares with the recorded accuracy.
Exit 0 when the accuracy is reproduced, 1 when it differs, 2 for a user error.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ResultsError

TOLERANCE = 1e-9  # the evaluation is deterministic: a rebuilt model gives the same accuracy, not a close one


@dataclass(frozen=True)
class Reproduction:
    job_id: str
    run_id: str
    trial: int
    recorded: float
    measured: float
    eval_digest_match: bool

    @property
    def reproduced(self) -> bool:
        return self.eval_digest_match and abs(self.measured - self.recorded) <= TOLERANCE

    def render(self) -> str:
        verdict = "reproduced" if self.reproduced else "NOT reproduced"
        eval_note = "" if self.eval_digest_match else " (the eval examples differ from the row's: not comparable)"
        return (
            f"{self.job_id} (run {self.run_id}, trial {self.trial}): recorded accuracy {self.recorded:.6f}, "
            f"rebuilt {self.measured:.6f}: {verdict}{eval_note}"
        )


def select_row(results: Path, job_id: str, run_id: str | None = None) -> Any:
    """The row to reproduce: the given run's, else the latest ok row of ``job_id``."""
    from compressor.errors import did_you_mean_hint

    from .results import load_results

    rows = load_results(results)
    mine = rows[rows["job_id"] == job_id]
    if mine.empty:
        known = sorted(set(rows["job_id"]))
        raise ResultsError(f"no row of job {job_id!r} in {str(results)!r}{did_you_mean_hint(job_id, known)}")
    if run_id is not None:
        mine = mine[mine["run_id"] == run_id]
        if mine.empty:
            raise ResultsError(f"job {job_id!r} has no row of run {run_id!r} in {str(results)!r}")
    ok = mine[mine["status"] == "ok"].sort_values(["started_at", "run_id"])
    if ok.empty:
        raise ResultsError(f"job {job_id!r} has no ok row to reproduce (statuses: {sorted(set(mine['status']))})")
    return ok.iloc[-1]


def reproduce(results: str | Path, job_id: str, run_id: str | None = None) -> Reproduction:
    """Rebuild and re-evaluate the model of ``job_id``'s row (see module docstring)."""
    from .matrix import Job
    from .runner import prepare

    results = Path(results)
    row = select_row(results, job_id, run_id)
    notes = json.loads(row["notes"]) if isinstance(row["notes"], str) else {}
    workspace_value = row.get("workspace")
    if not isinstance(workspace_value, str) or "history" not in notes or notes.get("best_trial") is None:
        raise ResultsError(
            f"row {job_id!r} (run {row['run_id']}) has no kept tuning workspace: only tuned jobs (kinds tuned, bf16, "
            "fp16) run by a harness that keeps workspaces can be reproduced"
        )
    workspace = results / workspace_value
    job_file = workspace / "job.json"
    if not job_file.is_file():
        raise ResultsError(f"the workspace of {job_id!r} is gone: {str(job_file)!r} does not exist")
    job = Job.from_json(job_file.read_text())
    ctx = prepare(job, workspace)
    model = _recover(notes["recover_with"], ctx, workspace / notes["history"], int(notes["best_trial"]))
    measured = float(ctx.eval_fn(model))
    recorded = float(row["accuracy"])
    digest_match = ctx.eval_set["eval_digest"] == row.get("eval_digest")
    return Reproduction(job_id, str(row["run_id"]), int(notes["best_trial"]), recorded, measured, digest_match)


def _recover(kind: str, ctx: Any, history: Path, trial: int) -> Any:
    import compressor
    from compressor import mix_precision

    rebuild = {"ptq": compressor.recover, "mixed_precision": mix_precision.recover}
    if kind not in rebuild:
        raise ResultsError(f"cannot rebuild a model recorded as {kind!r}; known: {', '.join(rebuild)}")
    return rebuild[kind](ctx.fp32_model, history, trial, backend_options=ctx.backend_options).model


def cmd_reproduce(args: argparse.Namespace) -> int:
    outcome = reproduce(args.results, args.job_id, args.run)
    print(outcome.render())
    return 0 if outcome.reproduced and not math.isnan(outcome.measured) else 1


def add_reproduce_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "reproduce",
        help="rebuild a tuned row's model from its kept workspace and re-measure its accuracy",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
    )
    parser.add_argument("results", metavar="RESULTS", help="results directory written by `harness run`")
    parser.add_argument("job_id", metavar="JOB_ID", help="e.g. mlp_digits/onnxrt/tuned_mse")
    parser.add_argument("--run", metavar="RUN_ID", help="the row of this run (default: the latest ok row)")
    parser.set_defaults(func=cmd_reproduce)
    return parser
