from __future__ import annotations

from harness.matrix import Job, expand
from harness.spec import parse_suite

SUITE = """\
name: m
models: [mlp_digits, cnn_mnist]
frameworks: [onnxrt, torch]
techniques:
  - {name: fp32, kind: fp32}
  - {name: opt, kind: fp32_optimized}
  - {name: q, kind: int8_minmax, settings: {iterations: 7}}
settings: {iterations: 3}
exclude:
  - {framework: torch, model: mlp_digits}
  - {model: cnn_mnist, technique: q}
include:
  - {model: cnn_mnist, framework: onnxrt, technique: q}
"""


def test_expand_product_exclude_include_and_skips():
    matrix = expand(parse_suite(SUITE))
    ids = [j.job_id for j in matrix.jobs]
    assert ids == [
        "mlp_digits/onnxrt/fp32",
        "mlp_digits/onnxrt/opt",
        "mlp_digits/onnxrt/q",
        "cnn_mnist/onnxrt/fp32",
        "cnn_mnist/onnxrt/opt",
        "cnn_mnist/torch/fp32",
        "cnn_mnist/onnxrt/q",
    ]
    assert matrix.skipped == [("cnn_mnist/torch/opt", "technique 'fp32_optimized' does not run on torch")]


def test_technique_settings_override_suite_defaults_and_jobs_roundtrip():
    jobs = {j.job_id: j for j in expand(parse_suite(SUITE)).jobs}
    assert jobs["mlp_digits/onnxrt/q"].settings["iterations"] == 7
    assert jobs["mlp_digits/onnxrt/fp32"].settings["iterations"] == 3
    job = jobs["cnn_mnist/onnxrt/q"]
    assert Job.from_json(job.to_json()) == job
    assert job.technique_spec().kind == "int8_minmax"


def test_settings_layer_suite_then_model_then_technique():
    text = SUITE.replace(
        "settings: {iterations: 3}\n",
        "settings: {iterations: 3}\nmodel_settings: {cnn_mnist: {iterations: 5, rounds: 2}}\n",
    )
    jobs = {j.job_id: j for j in expand(parse_suite(text)).jobs}
    assert jobs["cnn_mnist/onnxrt/fp32"].settings["iterations"] == 5
    assert jobs["cnn_mnist/onnxrt/q"].settings["iterations"] == 7  # the technique wins
    assert jobs["cnn_mnist/onnxrt/q"].settings["rounds"] == 2
    assert jobs["mlp_digits/onnxrt/fp32"].settings["iterations"] == 3
