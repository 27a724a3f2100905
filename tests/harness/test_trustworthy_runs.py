"""Numbers you can trust: resume retries failures, tuned jobs keep their workspaces and can be reproduced,
damaged inputs are refused by name (issue 14, harness side; the fault battery's harness part)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main as harness_main
from harness.errors import ResultsError, SuiteError
from harness.reproduce_cli import reproduce
from harness.results import finished_job_ids, latest_statuses, load_results, make_row, write_row
from harness.run_cli import run_suite
from harness.spec import load_suite

REPO = Path(__file__).resolve().parents[2]
FAST = "settings: {warmup: 1, iterations: 3, rounds: 1, throughput_batch: 8, eval_samples: 300, calib_samples: 64}\n"


def write_suite(tmp_path: Path, techniques: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(
        f"name: t\ntimeout_s: 300\nmodels: [mlp_digits]\nframeworks: [onnxrt]\ntechniques:\n{techniques}{FAST}"
    )
    return path


def test_resume_reruns_failed_jobs_and_the_exit_code_counts_every_failure(harness_env, tmp_path, capsys):
    suite = write_suite(tmp_path, "  - {name: fp32, kind: fp32}\n  - {name: bad, kind: debug_fail}\n")
    results = tmp_path / "res"
    args = ["run", str(suite), "--results", str(results), "--no-progress"]
    assert harness_main(args) == 1
    assert latest_statuses(results) == {"mlp_digits/onnxrt/fp32": "ok", "mlp_digits/onnxrt/bad": "failed"}
    assert finished_job_ids(results) == {"mlp_digits/onnxrt/fp32"}

    summary = run_suite(suite, resume=True, results_dir=results, progress=False)
    assert summary.statuses == {"mlp_digits/onnxrt/bad": "failed"}  # retried; the ok job was skipped
    assert summary.skipped_done == ["mlp_digits/onnxrt/fp32"]

    kept = run_suite(suite, resume=True, keep_failed=True, results_dir=results, progress=False)
    assert kept.statuses == {} and kept.failures_in_results == {"mlp_digits/onnxrt/bad": "failed"}
    assert harness_main([*args, "--resume", "--keep-failed"]) == 1  # nothing ran, yet a failure is present
    assert "mlp_digits/onnxrt/bad: failed" in capsys.readouterr().err


def test_a_tuned_job_keeps_its_workspace_resumes_and_is_reproduced(harness_env, tmp_path):
    suite = write_suite(tmp_path, "  - {name: tuned_basic, kind: tuned, strategy: basic, max_trials: 4}\n")
    results = tmp_path / "res"
    first = run_suite(suite, results_dir=results, progress=False)
    assert first.statuses == {"mlp_digits/onnxrt/tuned_basic": "ok"}
    row = load_results(results).iloc[0]
    workspace = results / row.workspace
    assert (workspace / "job.json").is_file() and (workspace / "tuning" / "history.jsonl").is_file()
    assert row.eval_examples == 300 and len(row.eval_digest) == 16
    notes = json.loads(row.notes)
    assert notes["resumed_trials"] == 0 and notes["best_trial"] is not None

    outcome = reproduce(results, "mlp_digits/onnxrt/tuned_basic")
    assert outcome.reproduced and outcome.measured == pytest.approx(row.accuracy, abs=1e-12)

    again = run_suite(suite, results_dir=results, progress=False)  # same job, same content key: resumes
    assert again.statuses == {"mlp_digits/onnxrt/tuned_basic": "ok"}
    rows = load_results(results).sort_values("started_at", kind="stable")
    assert set(rows.workspace) == {row.workspace}
    latest = json.loads(rows.iloc[-1].notes)
    assert latest["resumed_trials"] == rows.iloc[-1].trials > 0  # nothing re-evaluated
    assert rows.iloc[-1].accuracy == row.accuracy

    done = subprocess.run(
        [sys.executable, "-m", "harness", "reproduce", str(results), "mlp_digits/onnxrt/tuned_basc"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "did you mean 'mlp_digits/onnxrt/tuned_basic'" in done.stderr


def test_reproduce_refuses_rows_without_a_workspace(harness_env, tmp_path):
    write_row(tmp_path, make_row(run_id="r", job_id="m/onnxrt/fp32", model="m", technique="fp32", status="ok"))
    with pytest.raises(ResultsError, match="no kept tuning workspace"):
        reproduce(tmp_path, "m/onnxrt/fp32")


def test_a_binary_suite_file_is_refused_by_name(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(SuiteError, match=r"suite\.yaml.*not UTF-8 text"):
        load_suite(suite)


# --- fault injection: result files ------------------------------------------------------------------


def _two_rows(directory: Path) -> None:
    for job in ("m/onnxrt/a", "m/onnxrt/b"):
        write_row(directory, make_row(run_id="r", job_id=job, model="m", technique=job[-1], status="ok"))


def test_a_write_killed_midway_leaves_only_a_temporary_file_that_readers_ignore(tmp_path):
    _two_rows(tmp_path)
    complete = next(tmp_path.glob("*__m_onnxrt_a.parquet")).read_bytes()
    (tmp_path / ".tmp-killed.parquet").write_bytes(complete[: len(complete) // 2])  # what a kill -9 leaves
    assert sorted(load_results(tmp_path).job_id) == ["m/onnxrt/a", "m/onnxrt/b"]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_result_file_is_refused_by_name_and_nothing_else_is_lost(tmp_path, damage):
    _two_rows(tmp_path)
    victim = next(tmp_path.glob("*__m_onnxrt_b.parquet"))
    data = victim.read_bytes()
    victim.write_bytes({"truncated": data[: len(data) - 40], "garbage": b"not parquet" * 10, "empty": b""}[damage])
    with pytest.raises(ResultsError, match=rf"{victim.name}.*move it out of the directory"):
        load_results(tmp_path)
    victim.rename(tmp_path.parent / f"{damage}-{victim.name}.bad")
    assert list(load_results(tmp_path).job_id) == ["m/onnxrt/a"]


def test_help_texts_are_plain(capsys):
    for command in ("run", "compare", "reproduce"):
        with pytest.raises(SystemExit):
            harness_main([command, "--help"])
        out = capsys.readouterr().out
        assert "``" not in out and "%%" not in out, out


def test_models_prepare_says_what_it_is_doing(harness_env, capsys):
    from models.cli import main as models_main

    assert models_main(["prepare", "mlp_digits", "--framework", "onnxrt"]) == 0
    assert "[1/1] mlp_digits (onnxrt): loading ..." in capsys.readouterr().err


def test_latest_status_wins_over_older_rows(tmp_path):
    old = make_row(
        run_id="t-1", job_id="j", model="m", technique="t", status="failed", started_at="2026-01-01T00:00:00"
    )
    new = make_row(run_id="t-2", job_id="j", model="m", technique="t", status="ok", started_at="2026-01-02T00:00:00")
    for row in (new, old):
        write_row(tmp_path, row)
    assert latest_statuses(tmp_path) == {"j": "ok"}
    assert isinstance(load_results(tmp_path), pd.DataFrame)


def test_a_tuned_job_killed_midway_resumes_its_trials(harness_env, tmp_path):
    """kill -9 of `harness run` while a tuned job is between trials: --resume continues its history. A tuning
    time budget makes it explore all six trials even when an early one meets the criterion."""
    import os
    import signal
    import time

    suite = write_suite(
        tmp_path, "  - {name: tuned_rnd, kind: tuned, strategy: random, max_trials: 6, tuning_timeout_s: 600}\n"
    )
    results = tmp_path / "res"
    cmd = [sys.executable, "-m", "harness", "run", str(suite), "--results", str(results), "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    histories: list[Path] = []
    while not histories or len(histories[0].read_text().splitlines()) < 3:  # header + 2 trials
        assert proc.poll() is None and time.monotonic() < deadline, "tuning never got two trials in"
        time.sleep(0.2)
        histories = list(results.glob("_work/*/tuning/history.jsonl"))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not list(results.glob("*.parquet"))  # the killed job has no row

    summary = run_suite(suite, resume=True, results_dir=results, progress=False)
    assert summary.statuses == {"mlp_digits/onnxrt/tuned_rnd": "ok"}
    notes = json.loads(load_results(results).iloc[0].notes)
    assert notes["resumed_trials"] >= 2
