"""Training-time techniques in a suite: QAT, pruning + fine-tuning and distillation rows on mlp_digits."""

from __future__ import annotations

import json

import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchao")

from harness.run_cli import run_suite  # noqa: E402
from harness.spec import SuiteError, load_suite  # noqa: E402

FAST = "settings: {warmup: 1, iterations: 3, rounds: 1, throughput_batch: 8, eval_samples: 300}\n"
TECHNIQUES = """\
  - {name: fp32, kind: fp32}
  - {name: qat, kind: qat, options: {epochs: 1, train_samples: 600}}
  - name: prune
    kind: prune
    options: {epochs: 3, train_samples: 800, target_sparsity: 0.7, pattern: 1x1, pruning_type: magnitude}
  - name: distill
    kind: distill
    options: {epochs: 8, train_samples: 1000, student: {widths: [32, 16]}}
"""


def suite_text(techniques: str) -> str:
    return f"name: t\ntimeout_s: 600\nmodels: [mlp_digits]\nframeworks: [torch]\ntechniques:\n{techniques}{FAST}"


def test_training_techniques_produce_rows_with_training_columns(harness_env, tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(suite_text(TECHNIQUES))
    summary = run_suite(suite, results_dir=tmp_path / "res", progress=False)
    assert set(summary.statuses.values()) == {"ok"}, summary.statuses
    frame = pd.read_parquet(tmp_path / "res").set_index("technique")
    fp32 = frame.loc["fp32"]
    assert pd.isna(fp32.train_epochs) and pd.isna(fp32.sparsity)

    qat = frame.loc["qat"]
    assert qat.train_epochs == 1 and qat.train_seconds > 0 and json.loads(qat.fp32_ops) == []
    assert qat.accuracy >= qat.fp32_accuracy - 0.03

    prune = frame.loc["prune"]
    assert prune.sparsity == pytest.approx(0.7, abs=0.03)
    assert prune.train_epochs == 3 and prune.accuracy >= prune.fp32_accuracy - 0.05
    assert json.loads(prune.notes)["summary"]["techniques"][0]

    distill = frame.loc["distill"]
    notes = json.loads(distill.notes)
    assert notes["params"] < notes["teacher_params"] / 4
    assert distill.accuracy > 0.85 and distill.train_epochs == 8


def test_unknown_technique_option_fails_at_load_with_suggestion(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(suite_text("  - {name: p, kind: prune, options: {target_sparsty: 0.5}}\n"))
    with pytest.raises(SuiteError, match="unknown option 'target_sparsty'; did you mean 'target_sparsity'"):
        load_suite(suite)
