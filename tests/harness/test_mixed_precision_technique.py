"""bf16/fp16 techniques in a suite: rows carry the precision, the fp32 ops and the hardware verdict."""

from __future__ import annotations

import json

import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from harness.run_cli import run_suite  # noqa: E402

SUITE = """\
name: t
timeout_s: 600
models: [mlp_digits]
frameworks: [onnxrt, torch]
techniques:
  - {name: bf16, kind: bf16, max_trials: 5}
  - {name: fp16, kind: fp16, max_trials: 5}
settings: {warmup: 1, iterations: 3, rounds: 1, throughput_batch: 8, eval_samples: 300}
exclude:
  - {framework: onnxrt, technique: fp16}
"""


def test_mixed_precision_rows_record_precision_fp32_ops_and_verdict(harness_env, tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    summary = run_suite(suite, results_dir=tmp_path / "res", progress=False)
    assert set(summary.statuses.values()) == {"ok"}, summary.statuses
    frame = pd.read_parquet(tmp_path / "res")
    assert len(frame) == 3
    for row in frame.itertuples():
        notes = json.loads(row.notes)
        assert notes["precision"] == row.technique_kind and notes["met_criterion"]
        assert json.loads(row.fp32_ops) == []
        assert row.hardware_verdict.startswith(("native", "emulated: no speedup expected"))
    ort = frame[frame.framework == "onnxrt"].iloc[0]
    # onnxruntime's CPU EP has no bf16 Gemm kernel: emulated, whatever the CPU flags
    assert ort.hardware_verdict.startswith("emulated: no speedup expected")
    assert json.loads(ort.notes)["fp32_compute_ops"]
