"""The local executor: crash and timeout isolation, pinning recorded, rows on disk, resume after kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.executors.local import LocalExecutor
from harness.matrix import expand
from harness.results import SCHEMA, SCHEMA_VERSION, ResultsSchemaError, load_results, write_row
from harness.run_cli import run_suite
from harness.spec import parse_suite

REPO = Path(__file__).resolve().parents[2]
FAST = "settings: {warmup: 1, iterations: 3, rounds: 1, throughput_batch: 8, eval_samples: 200, calib_samples: 32}\n"


def write_suite(tmp_path: Path, techniques: str, timeout_s: float = 120) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(
        f"name: t\ntimeout_s: {timeout_s}\nmodels: [mlp_digits]\nframeworks: [onnxrt]\ntechniques:\n{techniques}{FAST}"
    )
    return path


def test_crash_timeout_and_failure_are_isolated(harness_env, tmp_path):
    suite = write_suite(
        tmp_path,
        "  - {name: boom, kind: debug_crash}\n"
        "  - {name: hang, kind: debug_sleep, timeout_s: 3}\n"
        "  - {name: raises, kind: debug_fail}\n"
        "  - {name: fp32, kind: fp32}\n"
        "  - {name: q, kind: int8_minmax}\n",
    )
    summary = run_suite(suite, results_dir=tmp_path / "res", progress=False)
    assert summary.statuses == {
        "mlp_digits/onnxrt/boom": "crashed",
        "mlp_digits/onnxrt/hang": "timeout",
        "mlp_digits/onnxrt/raises": "failed",
        "mlp_digits/onnxrt/fp32": "ok",
        "mlp_digits/onnxrt/q": "ok",
    }
    frame = pd.read_parquet(tmp_path / "res").set_index("technique")
    assert "exited with code 3" in frame.loc["boom", "error"]
    assert "per-job limit of 3 s" in frame.loc["hang", "error"]
    assert frame.loc["raises", "error"].startswith("SystemError: debug_fail raised on purpose")
    assert set(SCHEMA) <= set(frame.reset_index().columns)
    ok = frame.loc["q"]
    assert ok.accuracy > 0.9 and ok.fp32_accuracy > 0.9 and ok.latency_ms_p50 > 0 and ok.throughput > 0
    assert ok.latency_ms_p50 <= ok.latency_ms_p90 <= ok.latency_ms_p99
    assert ok.speedup_vs_fp32 > 0 and ok.speedup_vs_fp32_optimized > 0
    assert json.loads(ok.fp32_ops) == [] and ok.schema_version == SCHEMA_VERSION
    assert ok.pinning in ("numactl", "sched_setaffinity") and ok.cpus
    assert json.loads(ok.package_versions)["numpy"] and ok.python and ok.git_sha
    assert pd.isna(frame.loc["fp32", "fp32_ops"])
    assert (frame.status != "ok").sum() == 3 and frame.loc["boom", "cpu_model"]


@pytest.mark.parametrize("method", ["sched_setaffinity", "numactl"])
def test_pinning_is_applied_and_recorded(harness_env, tmp_path, method):
    import shutil

    if method == "numactl" and shutil.which("numactl") is None:
        pytest.skip("numactl not installed")
    cpu = sorted(os.sched_getaffinity(0))[-1]
    job = expand(parse_suite(write_suite(tmp_path, "  - {name: fp32, kind: fp32}\n").read_text())).jobs[0]
    row = LocalExecutor(pin=method, log_dir=tmp_path / "logs").run(job, (cpu,))
    assert row.status == "ok", row.error
    assert row.pinning == method and row.cpus == str(cpu) and row.cores_used == 1


def test_resume_after_sigkill_skips_finished_jobs(harness_env, tmp_path):
    suite = write_suite(
        tmp_path,
        "  - {name: first, kind: fp32}\n  - {name: hang, kind: debug_sleep}\n  - {name: last, kind: fp32}\n",
    )
    results = tmp_path / "res"
    cmd = [sys.executable, "-m", "harness.run_cli", str(suite), "--results", str(results), "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not list(results.glob("_work/*/sleeping")):  # the first job is done, the hanging one asleep
        assert proc.poll() is None and time.monotonic() < deadline, "the hanging job never started"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = load_results(results)
    assert list(first.job_id) == ["mlp_digits/onnxrt/first"]

    env = dict(os.environ, HARNESS_DEBUG_SLEEP_S="0")
    done = subprocess.run([*cmd, "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 already done" in done.stdout + done.stderr
    rows = load_results(results)
    assert sorted(rows.job_id) == ["mlp_digits/onnxrt/first", "mlp_digits/onnxrt/hang", "mlp_digits/onnxrt/last"]
    assert rows.run_id.nunique() == 2  # the first job kept its row from the killed run


def test_unknown_schema_version_is_refused(tmp_path):
    write_row(tmp_path, {"run_id": "r", "job_id": "a/onnxrt/fp32", "status": "ok"})
    assert list(load_results(tmp_path).job_id) == ["a/onnxrt/fp32"]
    import pyarrow.parquet as pq

    file = next(tmp_path.glob("*.parquet"))
    table = pq.read_table(file)
    table = table.set_column(0, "schema_version", pq.read_table(file).column(0).cast("int64").fill_null(99))
    pq.write_table(table.set_column(0, "schema_version", __import__("pyarrow").array([99], "int32")), file)
    with pytest.raises(ResultsSchemaError, match="schema_version 99.*reads schema_version 2"):
        load_results(tmp_path)


def test_rows_outside_schema_are_refused(tmp_path):
    with pytest.raises(KeyError, match="outside the schema"):
        write_row(tmp_path, {"run_id": "r", "job_id": "x", "status": "ok", "latency": 1.0})


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_keeps_finished_rows_and_records_nothing_for_the_killed_job(harness_env, tmp_path, sig):
    suite = write_suite(tmp_path, "  - {name: first, kind: fp32}\n  - {name: hang, kind: debug_sleep}\n")
    results = tmp_path / "res"
    cmd = [sys.executable, "-m", "harness.run_cli", str(suite), "--results", str(results), "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not list(results.glob("_work/*/sleeping")):  # the hanging job is asleep: no guessed delay
        assert proc.poll() is None and time.monotonic() < deadline, "the hanging job never started"
        time.sleep(0.2)
    assert list(results.glob("*__mlp_digits_onnxrt_first.parquet"))
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "interrupted" in out
    assert list(load_results(results).job_id) == ["mlp_digits/onnxrt/first"]
