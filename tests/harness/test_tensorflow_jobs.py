"""TensorFlow rows through the harness on the local executor (``tox -e tf``; skipped without TensorFlow):
fp32, float TFLite, int8, and the training-time techniques with seed 001's hooks in a GradientTape loop."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorflow", reason="TensorFlow is not installed here: run `tox -e tf`")

import pandas as pd  # noqa: E402

from harness.run_cli import run_suite  # noqa: E402

SUITE = """
name: tf-jobs
timeout_s: 600
models: [cnn_mnist]
frameworks: [tensorflow]
techniques:
  - {name: fp32, kind: fp32}
  - {name: fp32_optimized, kind: fp32_optimized}
  - {name: int8, kind: int8_minmax}
  - {name: qat, kind: qat, options: {epochs: 1, train_samples: 512}}
  - name: prune
    kind: prune
    options: {epochs: 2, train_samples: 1024, target_sparsity: 0.5, pattern: 4x1, pruning_type: magnitude,
              excluded_op_names: ['^logits$']}
  - name: distill
    kind: distill
    options: {epochs: 1, train_samples: 512, student: {channels: [8, 16], hidden: 32}}
settings: {warmup: 1, iterations: 5, rounds: 1, throughput_batch: 8, eval_samples: 500, calib_samples: 64}
"""


def test_tensorflow_jobs_run_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPRESSOR_CACHE_DIR", str(tmp_path / "cache"))
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    summary = run_suite(suite, results_dir=tmp_path / "res", executor="local", progress=False)
    assert set(summary.statuses.values()) == {"ok"}, summary.statuses
    rows = pd.concat(pd.read_parquet(p) for p in (tmp_path / "res").glob("*.parquet")).set_index("technique")
    fp32 = rows.loc["fp32", "accuracy"]
    assert fp32 > 0.9
    assert rows.loc["fp32_optimized", "speedup_vs_fp32_optimized"] == 1.0
    for name in ("int8", "qat"):  # TFLite int8 models: a quarter of the float size
        assert rows.loc[name, "accuracy"] >= fp32 - 0.02, name
        assert rows.loc[name, "model_size_bytes"] < rows.loc["fp32", "model_size_bytes"] / 3, name
    assert abs(rows.loc["prune", "sparsity"] - 0.5) < 0.1 and rows.loc["prune", "accuracy"] > 0.85
    assert rows.loc["distill", "model_size_bytes"] < rows.loc["fp32", "model_size_bytes"] / 2
