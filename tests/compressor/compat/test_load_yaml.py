"""1.x conf.yaml → 2.x configs: every seed block loads; mistakes are errors with path, line and hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from compressor import config as cfg
from compressor.compat import framework_info, load_yaml
from compressor.errors import ConfigError, UnknownKeyError

SEEDS = sorted((Path(__file__).parents[2] / "fixtures" / "seed_yaml").glob("*.yaml"))


def test_fixtures_are_there():
    assert len(SEEDS) == 11


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_every_seed_block_loads(path):
    loaded = load_yaml(path)
    assert loaded.configs(), f"{path.name} produced no config"
    # Loading the text gives the same as loading the file.
    again = load_yaml(path.read_text())
    assert again.configs() == loaded.configs()


def _seed(name):
    return load_yaml(next(p for p in SEEDS if p.stem == name))


def test_ptq_seed():
    loaded = _seed("s000_ptq_bert_pytorch_fx")
    q = loaded.quantization
    assert isinstance(q, cfg.PostTrainingQuantConfig) and q.approach == "static"
    assert q.tuning_criterion == cfg.TuningCriterion(strategy="basic", timeout=0, max_trials=600, random_seed=9527)
    assert q.accuracy_criterion == cfg.AccuracyCriterion(criterion="relative", tolerable_loss=0.01)
    assert q.model_name == "bert"
    assert loaded.model.framework.engine == "pytorch" and loaded.model.framework.mode == "fx"


def test_qat_seed():
    q = _seed("s000_qat_bert").quantization
    assert isinstance(q, cfg.QuantizationAwareTrainingConfig)
    assert q.tuning_criterion.max_trials == 600


def test_pruning_seed_with_pruner_tag():
    p = _seed("s000_pruning_weight_compression_pytorch").pruning
    assert p.excluded_op_names == ("classifier", "pooler", ".*embeddings*", "LayerNorm")
    assert p.pruning_op_types == ("Linear",) and p.pruning_frequency == 500
    assert p.max_sparsity_ratio_per_op == 0.98 and p.pruning_scope == "global"
    (pruner,) = p.resolved_pruners()
    assert pruner["pattern"] == "4x1" and pruner["pruning_type"] == "snip_momentum"


@pytest.mark.parametrize("name", ["s000_distillation_misindented", "s001_distillation"])
def test_distillation_seeds(name):
    loaded = _seed(name)
    d = loaded.distillation
    assert d.criterion == cfg.KnowledgeDistillationLossConfig(
        temperature=1.0, loss_types=["CE", "KL"], loss_weights=[0.5, 0.5]
    )
    assert d.optimizer == {"SGD": {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.0004, "nesterov": False}}
    train = loaded.train["distillation"]
    assert (train.start_epoch, train.end_epoch, train.iteration, train.batch_size) == (0, 10, 100, 256)
    assert any("re-nested under 'distillation'" in note for note in loaded.notes)
    assert "evaluation.accuracy" in loaded.user_code


def test_mixed_precision_seeds():
    flat = _seed("s000_mixed_precision_flattened")
    assert flat.mixed_precision.precisions == ("bf16",) and flat.model.name == "resnet50_v1"
    assert any("placeholder" in note for note in flat.notes)
    full = _seed("s001_mixed_precision").mixed_precision
    assert full.inputs == ("image_tensor",) and len(full.outputs) == 4
    assert full.tuning_criterion.random_seed == 9527 and full.tuning_criterion.objective == "performance"


def test_benchmark_seeds():
    b = _seed("s001_benchmark").benchmark
    assert (b.warmup, b.iteration, b.cores_per_instance, b.num_of_instance) == (10, 100, 4, 7)
    assert (b.inter_num_of_threads, b.intra_num_of_threads, b.model_name) == (1, 4, "ssd_mobilenet_v1")
    assert _seed("s000_evaluation_benchmark").benchmark.num_of_instance == 7


def test_mxnet_tuning_seeds():
    basic = _seed("s002_mxnet_cnn_basic").quantization
    assert basic.calibration_sampling_size == (160,) and basic.tuning_criterion.strategy == "basic"
    mse = _seed("s002_mxnet_resnet50v2_mse").quantization
    assert mse.tuning_criterion.strategy == "mse" and mse.tuning_criterion.max_trials == 500
    assert mse.accuracy_criterion.tolerable_loss == 0.015


def test_misspelled_key_names_path_line_and_suggestion():
    text = "model:\n  name: m\n  framework: pytorch\ntuning:\n  exit_polcy:\n    timeout: 0\n"
    with pytest.raises(UnknownKeyError) as err:
        load_yaml(text)
    message = str(err.value)
    assert err.value.field == "tuning.exit_polcy"
    assert "<yaml>:5" in message and "did you mean 'exit_policy'" in message


def test_bad_values_are_reported_at_their_yaml_path():
    text = "quantization:\n  approach: post_training_static_quant\ntuning:\n  strategy:\n    name: bsic\n"
    with pytest.raises(ConfigError) as err:
        load_yaml(text)
    assert err.value.field == "tuning.strategy.name" and "did you mean 'basic'" in str(err.value)
    assert err.value.location == "<yaml>:5"
    with pytest.raises(ConfigError, match=r"quantization.approach.*did you mean 'post_training_static_quant'"):
        load_yaml("quantization:\n  approach: post_training_static_quat\n")
    with pytest.raises(ConfigError, match=r"pruners\[0\].pattern.*did you mean '4x1'"):
        load_yaml(
            "pruning:\n  approach:\n    weight_compression_pytorch:\n      pruners:\n        - !Pruner\n            pattern: 4X1\n"
        )


def test_both_relative_and_absolute_is_an_error():
    with pytest.raises(ConfigError, match="either relative or absolute"):
        load_yaml("tuning:\n  accuracy_criterion:\n    relative: 0.01\n    absolute: 0.1\n")
    absolute = load_yaml("tuning:\n  accuracy_criterion:\n    absolute: 0.5\n    higher_is_better: false\n")
    assert absolute.quantization.accuracy_criterion == cfg.AccuracyCriterion(False, "absolute", 0.5)


def test_unsupported_keys_and_duplicates_are_errors_not_silence():
    with pytest.raises(ConfigError, match="does not support"):
        load_yaml("tuning:\n  tensorboard: true\n")
    assert load_yaml("tuning:\n  tensorboard: false\n").quantization is not None
    with pytest.raises(ConfigError, match="duplicate key"):
        load_yaml("tuning:\n  random_seed: 1\n  random_seed: 2\n")


def test_unsafe_yaml_tags_are_refused():
    with pytest.raises(ConfigError, match="unsupported yaml tag"):
        load_yaml("model: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="could not determine a constructor"):
        load_yaml("model:\n  name: !!python/name:os.system\n")


@pytest.mark.parametrize(
    "name, engine, backend, fmt",
    [
        ("tensorflow", "tensorflow", "default", "default"),
        ("pytorch", "pytorch", "default", "default"),
        ("pytorch_fx", "pytorch", "default", "default"),
        ("pytorch_ipex", "pytorch", "ipex", "default"),
        ("onnxrt_integer", "onnxruntime", "default", "QOperator"),
        ("onnxrt_integerops", "onnxruntime", "default", "QOperator"),
        ("onnxrt_qlinear", "onnxruntime", "default", "QOperator"),
        ("onnxrt_qlinearops", "onnxruntime", "default", "QOperator"),
        ("onnxrt_qdq", "onnxruntime", "default", "QDQ"),
        ("mxnet", "mxnet", "default", "default"),
    ],
)
def test_framework_names_map_to_backend_and_format(name, engine, backend, fmt):
    info = framework_info(name)
    assert (info.engine, info.backend, info.quant_format) == (engine, backend, fmt)
    q = load_yaml(f"model:\n  name: m\n  framework: {name}\nquantization:\n  approach: post_training_dynamic_quant\n")
    assert (q.quantization.backend, q.quantization.quant_format) == (backend, fmt)


def test_integerops_means_dynamic():
    q = load_yaml("model:\n  name: m\n  framework: onnxrt_integerops\ntuning:\n  random_seed: 1\n").quantization
    assert q.approach == "dynamic"
    with pytest.raises(ConfigError, match="onnxrt_qlinearops"):
        load_yaml(
            "model:\n  name: m\n  framework: onnxrt_integerops\nquantization:\n  approach: post_training_static_quant\n"
        )
    with pytest.raises(ConfigError, match="did you mean 'pytorch_fx'"):
        load_yaml("model:\n  name: m\n  framework: pytorch_fxx\n")


def test_model_wise_and_op_wise_become_op_dicts():
    text = """
model: {name: m, framework: onnxrt_qlinearops}
quantization:
  approach: post_training_static_quant
  calibration: {sampling_size: "50, 100"}
  model_wise:
    weight: {granularity: per_channel, scheme: sym}
    activation: {algorithm: kl}
  op_wise:
    'fc1.*': {activation: {dtype: [fp32]}, weight: {dtype: [fp32]}}
  recipes: {smooth_quant: true, smooth_quant_args: {alpha: 0.5}}
"""
    q = load_yaml(text).quantization
    assert q.calibration_sampling_size == (50, 100)
    assert q.op_type_dict[".*"]["weight"]["granularity"] == ("per_channel",)
    assert q.op_name_dict["fc1.*"]["activation"]["dtype"] == ("fp32",)
    assert q.recipes["smooth_quant_args"]["alpha"] == 0.5
    with pytest.raises(ConfigError, match=r"quantization.op_wise\['fc1'\].activation.dtype\[0\].*'int7'"):
        load_yaml("quantization:\n  op_wise:\n    fc1: {activation: {dtype: [int7]}}\n")


def test_old_epoch_based_pruning_format():
    text = """
pruning:
  train: {start_epoch: 0, end_epoch: 4, iteration: 30, frequency: 1}
  approach:
    weight_compression:
      initial_sparsity: 0.0
      target_sparsity: 0.7
      start_epoch: 0
      end_epoch: 3
      pruners:
        - !Pruner
            start_epoch: 1
            end_epoch: 3
            prune_type: basic_magnitude
            names: ['layer1.0.conv1.weight']
"""
    loaded = load_yaml(text)
    (pruner,) = loaded.pruning.resolved_pruners()
    assert (pruner["start_step"], pruner["end_step"], pruner["pruning_type"]) == (1, 3, "magnitude")
    assert pruner["target_sparsity"] == 0.7
    assert loaded.train["pruning"].end_epoch == 4
    with pytest.raises(ConfigError, match="initial_sparsity"):
        load_yaml(text.replace("initial_sparsity: 0.0", "initial_sparsity: 0.3"))


def test_missing_file_and_empty_text():
    with pytest.raises(ConfigError, match="file not found"):
        load_yaml("does/not/exist.yaml")
    with pytest.raises(ConfigError, match="empty"):
        load_yaml("# nothing here\n")
