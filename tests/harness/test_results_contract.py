"""One results contract: typed rows, one failure row, readers that refuse what they cannot read, one error path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.matrix import Job
from harness.results import (
    ARROW_SCHEMA,
    SCHEMA,
    SCHEMA_VERSION,
    ResultsSchemaError,
    failure_row,
    load_results,
    make_row,
    row_dict,
    write_row,
)

REPO = Path(__file__).resolve().parents[2]
JOB = Job(
    job_id="m/onnxrt/t", suite="s", model="m", framework="onnxrt", technique={"name": "t", "kind": "fp32"},
    settings={"threads": 1}, seed=3, timeout_s=10.0,
)  # fmt: skip


def harness_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_a_row_is_typed_and_refuses_unknown_columns():
    row = make_row(job_id="a", status="ok", accuracy=0.5)
    assert row.accuracy == 0.5 and row.schema_version == SCHEMA_VERSION and row.throughput is None
    with pytest.raises(KeyError, match=r"'acuracy' \(did you mean 'accuracy'\?\)"):
        make_row(job_id="a", acuracy=0.5)
    assert set(row_dict(row)) == set(SCHEMA)


def test_failure_row_keeps_identity_environment_and_reason(tmp_path):
    row = failure_row(JOB, "timeout", "killed after 10 s", started_at="t0", wall_seconds=10.5, cpus=(0, 1))
    assert (row.job_id, row.technique_kind, row.status, row.error) == (
        "m/onnxrt/t",
        "fp32",
        "timeout",
        "killed after 10 s",
    )
    assert row.cpus == "0,1" and row.cores_used == 2 and row.seed == 3 and row.python and row.cpu_model
    row.run_id = "r"
    write_row(tmp_path, row)
    assert load_results(tmp_path).loc[0, "error"] == "killed after 10 s"
    with pytest.raises(ValueError, match="'ok' is not a failure"):
        failure_row(JOB, "ok", "", started_at="t0", wall_seconds=0, cpus=(0,))


def _write_other_version(directory: Path, version: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    row = row_dict(make_row(run_id="r", job_id="m/onnxrt/t", model="m", technique="t", status="ok", accuracy=0.9))
    row["schema_version"] = version
    pq.write_table(pa.Table.from_pylist([row], schema=ARROW_SCHEMA), directory / "r__m_onnxrt_t.parquet")


def test_report_and_compare_refuse_another_schema_version_naming_both(tmp_path):
    _write_other_version(tmp_path / "old", SCHEMA_VERSION + 1)
    write_row(tmp_path / "new", make_row(run_id="r", job_id="m/onnxrt/t", model="m", technique="t", status="ok"))
    with pytest.raises(
        ResultsSchemaError, match=rf"schema_version {SCHEMA_VERSION + 1}.*reads schema_version {SCHEMA_VERSION}"
    ):
        load_results(tmp_path / "old")
    report = harness_cli("report", str(tmp_path / "old"), "-o", str(tmp_path / "out"))
    compare = harness_cli("compare", str(tmp_path / "old"), str(tmp_path / "new"))
    for done in (report, compare):
        assert done.returncode == 2, done.stderr
        assert (
            f"schema_version {SCHEMA_VERSION + 1}" in done.stderr and f"schema_version {SCHEMA_VERSION}" in done.stderr
        )
        assert "Traceback" not in done.stderr


def test_a_file_with_renamed_columns_is_refused(tmp_path):
    row = row_dict(make_row(run_id="r", job_id="j", model="m", technique="t", status="ok"))
    row["acc"] = row.pop("accuracy")
    tmp_path.mkdir(exist_ok=True)
    pq.write_table(pa.Table.from_pylist([row]), tmp_path / "r__j.parquet")
    with pytest.raises(ResultsSchemaError, match=r"missing \['accuracy'\], unknown \['acc'\]"):
        load_results(tmp_path)


def test_a_user_error_from_harness_run_prints_no_traceback_and_exits_2(tmp_path):
    suite = tmp_path / "bad.yaml"
    suite.write_text("name: bad\nmodels: [mlp_digits]\nframeworks: [onnx_rt]\ntechniques: [{name: a, kind: fp32}]\n")
    done = harness_cli("run", str(suite), "--results", str(tmp_path / "res"), "--no-progress")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "line 3: frameworks: unknown framework 'onnx_rt' (did you mean 'onnxrt'?)" in done.stderr
    missing = harness_cli("run", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "cannot read suite" in missing.stderr and "Traceback" not in missing.stderr
