"""docs/extending.md, done from a test file: a technique and an executor registered without editing the package."""

from __future__ import annotations

import copy
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from harness import executors
from harness.executors import Executor, register_executor
from harness.results import identity_columns, load_results, row_from_dict
from harness.run_cli import run_suite
from harness.runner import run_job
from harness.spec import SuiteError, parse_suite
from harness.techniques import _REGISTRY, Compressed, register_technique


class InlineExecutor(Executor):
    """Runs each job in this process (no isolation: a toy), and says so in its rows."""

    name = "inline"

    def __init__(self, log_dir=None, label: str = "inline") -> None:
        super().__init__(log_dir)
        self.label = label
        self.ran: list[tuple[str, tuple[int, ...]]] = []

    def slots(self, jobs, parallel):
        return [(0,)]  # one job at a time, on core 0

    def run(self, job, cpus):
        self.ran.append((job.job_id, cpus))
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with tempfile.TemporaryDirectory() as workspace:
            columns = run_job(job, Path(workspace))
        return row_from_dict(
            {**identity_columns(job), **columns, "status": "ok", "started_at": started, "pinning": self.label}
        )


@pytest.fixture
def toy_extensions(monkeypatch):
    monkeypatch.setitem(executors._EXECUTORS, "inline", InlineExecutor)  # undone after the test
    register_executor("inline", InlineExecutor)

    @register_technique("toy_copy")
    def toy_copy(ctx) -> Compressed:
        return Compressed(model=copy.deepcopy(ctx.fp32_model), notes={"toy": True})

    yield
    _REGISTRY.pop("toy_copy", None)


SUITE = """
name: toy
models: [mlp_digits]
frameworks: [onnxrt]
techniques:
  - {name: fp32, kind: fp32}
  - {name: copied, kind: toy_copy}
settings: {warmup: 1, iterations: 3, rounds: 1, throughput_batch: 8, eval_samples: 200, calib_samples: 32}
executor: {kind: inline, options: {label: from-the-suite}}
"""


def test_a_technique_and_an_executor_registered_from_a_test_run(harness_env, toy_extensions, tmp_path):
    suite = tmp_path / "toy.yaml"
    suite.write_text(SUITE)
    summary = run_suite(suite, results_dir=tmp_path / "res", progress=False)
    assert summary.statuses == {"mlp_digits/onnxrt/fp32": "ok", "mlp_digits/onnxrt/copied": "ok"}
    rows = load_results(tmp_path / "res").set_index("technique")
    assert set(rows.pinning) == {"from-the-suite"}  # the suite's executor options reached the constructor
    assert rows.loc["copied", "accuracy"] == pytest.approx(rows.loc["copied", "fp32_accuracy"])
    assert '"toy": true' in rows.loc["copied", "notes"]
    assert rows.loc["fp32", "speedup_vs_fp32"] > 0


def test_an_unknown_executor_option_fails_at_suite_load_with_a_hint(toy_extensions):
    bad = SUITE.replace("label: from-the-suite", "labell: x")
    with pytest.raises(SuiteError, match=r"executor 'inline' has no option 'labell' \(did you mean 'label'\?\)"):
        parse_suite(bad)
    with pytest.raises(SuiteError, match=r"unknown executor 'inlin' \(did you mean 'inline'\?\)"):
        parse_suite(SUITE.replace("kind: inline", "kind: inlin"))


def test_cli_executor_overrides_the_suite_and_drops_its_options(harness_env, toy_extensions, tmp_path):
    suite = tmp_path / "toy.yaml"
    suite.write_text(
        SUITE.replace("executor: {kind: inline, options: {label: from-the-suite}}", "executor: {kind: local}")
    )
    summary = run_suite(suite, executor="inline", results_dir=tmp_path / "res", progress=False)
    assert set(summary.statuses.values()) == {"ok"}
    assert set(pd.read_parquet(tmp_path / "res").pinning) == {"inline"}
