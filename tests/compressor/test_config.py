"""The 2.x config classes: seed 001's arguments and defaults, immutability, serialisation, errors."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys

import pytest

import compressor
from compressor import config as cfg
from compressor.errors import ConfigError, UnknownKeyError

ALL_CLASSES = [
    cfg.PostTrainingQuantConfig,
    cfg.QuantizationAwareTrainingConfig,
    cfg.TuningCriterion,
    cfg.AccuracyCriterion,
    cfg.WeightPruningConfig,
    cfg.DistillationConfig,
    cfg.KnowledgeDistillationLossConfig,
    cfg.SelfKnowledgeDistillationLossConfig,
    cfg.MixedPrecisionConfig,
    cfg.BenchmarkConfig,
]


def test_importable_from_config_package_and_training():
    for cls in ALL_CLASSES:
        assert getattr(compressor, cls.__name__) is cls
    from compressor.training import WeightPruningConfig

    assert WeightPruningConfig is cfg.WeightPruningConfig


def test_import_compressor_needs_no_framework():
    code = (
        "import sys, compressor, compressor.compat, compressor.cli;"
        "bad=[m for m in ('torch','onnx','onnxruntime','tensorflow','mxnet') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_defaults_follow_the_seed():
    acc = cfg.AccuracyCriterion()
    assert (acc.higher_is_better, acc.criterion, acc.tolerable_loss) == (True, "relative", 0.01)
    tc = cfg.TuningCriterion()
    assert (tc.timeout, tc.max_trials, tc.objective, tc.strategy) == (0, 100, "performance", "auto")
    ptq = cfg.PostTrainingQuantConfig()
    assert (ptq.device, ptq.backend, ptq.approach, ptq.quant_format) == ("cpu", "default", "static", "default")
    assert ptq.calibration_sampling_size == (100,)
    assert ptq.op_name_dict is None and ptq.op_type_dict is None and ptq.recipes == {}
    wp = cfg.WeightPruningConfig()
    assert (wp.target_sparsity, wp.pruning_type, wp.pattern, wp.pruning_scope) == (
        0.9,
        "snip_momentum",
        "4x1",
        "global",
    )
    assert (wp.start_step, wp.end_step, wp.pruning_frequency) == (0, 0, 1)
    assert (wp.min_sparsity_ratio_per_op, wp.max_sparsity_ratio_per_op) == (0.0, 0.98)
    assert wp.sparsity_decay_type == "exp" and wp.pruning_op_types == ("Conv", "Linear")
    kd = cfg.KnowledgeDistillationLossConfig()
    assert (kd.temperature, kd.loss_types, kd.loss_weights) == (1.0, ("CE", "CE"), (0.5, 0.5))
    dc = cfg.DistillationConfig()
    assert dc.teacher_model is None and dc.criterion == kd and dc.optimizer == {"SGD": {"learning_rate": 0.0001}}
    assert cfg.MixedPrecisionConfig().precisions == ("bf16",)
    bc = cfg.BenchmarkConfig()
    assert (bc.warmup, bc.iteration, bc.cores_per_instance, bc.num_of_instance) == (5, -1, None, None)


def test_seed_ptq_call_with_every_argument():
    op_dict = {"fc1.*": {"activation": {"dtype": ["fp32"]}, "weight": {"dtype": ["fp32"]}}}
    conf = cfg.PostTrainingQuantConfig(
        backend="default",
        inputs="image_tensor",
        outputs="num_detections,detection_boxes,detection_scores,detection_classes",
        device="cpu",
        approach="static",
        calibration_sampling_size=[1000, 2000],
        op_name_dict=op_dict,
        strategy="basic",
        objective="performance",
        performance_only=False,
        tuning_criterion=cfg.TuningCriterion(timeout=0, max_trials=100),
        accuracy_criterion=cfg.AccuracyCriterion(tolerable_loss=0.01),
    )
    assert conf.inputs == ("image_tensor",)
    assert conf.outputs == ("num_detections", "detection_boxes", "detection_scores", "detection_classes")
    assert conf.calibration_sampling_size == (1000, 2000)
    assert conf.tuning_criterion.strategy == "basic" and conf.strategy == "basic"
    assert conf.op_name_dict["fc1.*"]["weight"]["dtype"] == ("fp32",)


def test_seed_qat_shortcuts_land_in_the_criteria():
    conf = cfg.QuantizationAwareTrainingConfig(
        backend="default",
        device="cpu",
        strategy="mse",
        relative=0.02,
        timeout=60,
        max_trials=7,
        objective="modelsize",
        performance_only=False,
    )
    assert conf.tuning_criterion == cfg.TuningCriterion(strategy="mse", timeout=60, max_trials=7, objective="modelsize")
    assert conf.accuracy_criterion == cfg.AccuracyCriterion(tolerable_loss=0.02)
    assert conf.relative == 0.02 and conf.max_trials == 7


def test_shortcut_wins_over_tuning_criterion_and_says_so(caplog):
    with caplog.at_level(logging.WARNING):
        conf = cfg.PostTrainingQuantConfig(strategy="mse", tuning_criterion=cfg.TuningCriterion(strategy="bayesian"))
    assert conf.tuning_criterion.strategy == "mse"
    assert "overrides tuning_criterion.strategy='bayesian'" in caplog.text


def test_seed_pruning_examples():
    pruner = {
        "target_sparsity": 0.9,
        "pruning_type": "snip_momentum",
        "pattern": "4x1",
        "op_names": ["layer1.*"],
        "excluded_op_names": ["layer3.*"],
        "start_step": 0,
        "end_step": 10,
        "pruning_scope": "global",
        "pruning_frequency": 1,
        "min_sparsity_ratio_per_op": 0.0,
        "max_sparsity_ratio_per_op": 0.98,
        "sparsity_decay_type": "exp",
        "pruning_op_types": ["Conv", "Linear"],
    }
    second = {"op_names": ["layer3.*"], "pruning_type": "snip_momentum_progressive"}
    conf = cfg.WeightPruningConfig([pruner, second])
    first, other = conf.resolved_pruners()
    assert first["end_step"] == 10 and first["op_names"] == ("layer1.*",)
    assert other["target_sparsity"] == 0.9 and other["pruning_type"] == "snip_momentum_progressive"

    configs = [
        {"op_names": ["layer1.*"], "pattern": "4x1"},
        {"op_names": ["layer2.*"], "pattern": "1x1", "target_sparsity": 0.5},
    ]
    conf = cfg.WeightPruningConfig(configs, target_sparsity=0.8, excluded_op_names=["classifier"])
    a, b = conf.resolved_pruners()
    assert (a["target_sparsity"], b["target_sparsity"]) == (0.8, 0.5)
    assert a["excluded_op_names"] == ("classifier",)
    for pattern in ("4x1", "1x1", "2:4", "1:8", "channelx1", "1xchannel"):
        assert cfg.WeightPruningConfig(pattern=pattern).pattern == pattern


def test_seed_distillation_and_orchestration_shapes():
    teacher = object()
    d_conf = cfg.DistillationConfig(teacher, cfg.KnowledgeDistillationLossConfig())
    assert d_conf.teacher_model is teacher
    self_kd = cfg.SelfKnowledgeDistillationLossConfig(
        layer_mappings=[[["resblock.1.feature.output", "resblock.deepst.feature.output"]]],
        loss_types=["L2"],
        loss_weights=[1.0],
    )
    conf = cfg.DistillationConfig(teacher_model=teacher, criterion=self_kd)
    assert conf.criterion.layer_mappings == ((("resblock.1.feature.output", "resblock.deepst.feature.output"),),)
    with pytest.raises(ConfigError, match="loss_types"):
        cfg.SelfKnowledgeDistillationLossConfig(layer_mappings=[[["a", "b"]]], loss_types=["L2", "KL"])


def test_seed_mixed_precision_and_benchmark():
    mp = cfg.MixedPrecisionConfig(
        backend="default",
        inputs="image_tensor",
        outputs="a,b",
        device="cpu",
        tuning_criterion=cfg.TuningCriterion(timeout=0, max_trials=100),
        accuracy_criterion=cfg.AccuracyCriterion(tolerable_loss=0.01),
    )
    assert mp.outputs == ("a", "b")
    bc = cfg.BenchmarkConfig(
        warmup=10,
        iteration=100,
        cores_per_instance=4,
        num_of_instance=7,
        inter_num_of_threads=1,
        intra_num_of_threads=4,
    )
    assert bc.cores_per_instance == 4
    with pytest.raises(ConfigError, match="excluded_precisions"):
        cfg.MixedPrecisionConfig(precisions="bf16", excluded_precisions=["bf16"])


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_configs_are_frozen_values(cls):
    a, b = cls(), cls()
    assert a == b and hash(a) == hash(b)
    field = dataclasses.fields(a)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(a, field.name, None)


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_unknown_keyword_argument_is_a_config_error_naming_class_and_allowed(cls):
    with pytest.raises(ConfigError) as err:
        cls(no_such_argument=1)
    assert isinstance(err.value, TypeError)  # what Python raises for it, so `except TypeError` still works
    text = str(err.value)
    assert text.startswith(f"{cls.__name__}() got an unexpected keyword argument 'no_such_argument'")
    first = dataclasses.fields(cls)[0].name
    assert "allowed arguments: " in text and first in text.split("allowed arguments: ")[1]


def test_misspelled_keyword_argument_suggests_the_closest_one():
    with pytest.raises(
        ConfigError, match=r"'aproach' \(did you mean 'approach'\?\); allowed arguments: .*tuning_criterion"
    ):
        cfg.PostTrainingQuantConfig(aproach="static")
    with pytest.raises(ConfigError, match=r"did you mean 'max_trials'\?") as err:
        cfg.TuningCriterion(max_trial=3)
    assert err.value.field == "TuningCriterion.max_trial" and err.value.suggestion == "max_trials"
    # the seed's shortcut arguments (InitVars) are arguments too, and copies/replace keep working
    conf = cfg.PostTrainingQuantConfig(strategy="mse", timeout=3)
    assert conf.replace(approach="dynamic").tuning_criterion.strategy == "mse"


def test_inputs_are_copied_not_shared():
    names = ["layer1.*"]
    recipes = {"smooth_quant": True}
    conf = cfg.WeightPruningConfig(op_names=names)
    ptq = cfg.PostTrainingQuantConfig(recipes=recipes)
    names.append("layer2.*")
    recipes["smooth_quant"] = False
    assert conf.op_names == ("layer1.*",)
    assert ptq.recipes["smooth_quant"] is True
    with pytest.raises(TypeError):
        ptq.recipes["smooth_quant"] = False  # type: ignore[index]


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_dict_and_json_round_trip(cls):
    conf = cls()
    assert cls.from_dict(conf.to_dict()) == conf
    assert cls.from_json(conf.to_json()) == conf
    json.loads(conf.to_json())


def test_round_trip_of_a_rich_config():
    conf = cfg.PostTrainingQuantConfig(
        approach="dynamic",
        recipes={"smooth_quant": True, "smooth_quant_args": {"alpha": 0.5}},
        op_type_dict={"Conv": {"weight": {"granularity": ["per_channel"], "scheme": "sym"}}},
        accuracy_criterion=cfg.AccuracyCriterion(criterion="absolute", tolerable_loss=0.5, higher_is_better=False),
        tuning_criterion=cfg.TuningCriterion(strategy="mse", strategy_kwargs={"confidence_batches": 2}),
    )
    assert cfg.PostTrainingQuantConfig.from_json(conf.to_json()) == conf
    pruning = cfg.WeightPruningConfig([{"op_names": ["a.*"], "pattern": "2:4"}], target_sparsity=0.5)
    assert cfg.WeightPruningConfig.from_json(pruning.to_json()) == pruning


def test_objects_json_cannot_carry_must_be_passed_back():
    teacher = object()
    text = cfg.DistillationConfig(teacher_model=teacher).to_json()
    with pytest.raises(ConfigError, match="pass teacher_model=<object>"):
        cfg.DistillationConfig.from_json(text)
    assert cfg.DistillationConfig.from_json(text, teacher_model=teacher).teacher_model is teacher


def test_error_messages_name_field_value_allowed_and_suggest():
    with pytest.raises(ConfigError) as err:
        cfg.PostTrainingQuantConfig(approach="statc")
    assert err.value.field == "approach" and err.value.value == "statc"
    assert "'static', 'dynamic', 'auto'" in str(err.value) and "did you mean 'static'" in str(err.value)
    with pytest.raises(ConfigError, match="did you mean 'snip_momentum'"):
        cfg.WeightPruningConfig(pruning_type="snip_momentom")
    with pytest.raises(ConfigError, match=r"did you mean '4x1'"):
        cfg.WeightPruningConfig(pattern="ic_pattern_4x1")
    with pytest.raises(ConfigError, match=r"did you mean 'QDQ'"):
        cfg.PostTrainingQuantConfig(quant_format="qdq")
    with pytest.raises(
        UnknownKeyError, match=r"pruning_configs\[0\].target_sparsty: unknown key.*did you mean 'target_sparsity'"
    ):
        cfg.WeightPruningConfig([{"target_sparsty": 0.5}])
    with pytest.raises(UnknownKeyError, match=r"recipes.smoth_quant.*did you mean 'smooth_quant'"):
        cfg.PostTrainingQuantConfig(recipes={"smoth_quant": True})
    with pytest.raises(ConfigError, match=r"op_name_dict key: invalid value '\(unclosed'.*regular expression"):
        cfg.PostTrainingQuantConfig(op_name_dict={"(unclosed": {"weight": {"dtype": "fp32"}}})


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (
            {"min_sparsity_ratio_per_op": 0.5, "max_sparsity_ratio_per_op": 0.4, "target_sparsity": 0.3},
            "min_sparsity_ratio_per_op",
        ),
        ({"start_step": 10, "end_step": 2}, "end_step"),
        ({"target_sparsity": 0.99}, "target_sparsity"),
        ({"pruning_configs": [{"start_step": 5}], "end_step": 1}, "pruning_configs[0].end_step"),
    ],
)
def test_pruning_cross_field_rules(kwargs, field):
    with pytest.raises(ConfigError) as err:
        cfg.WeightPruningConfig(**kwargs)
    assert err.value.field == field


def test_relative_loss_must_be_a_fraction_but_absolute_may_be_large():
    with pytest.raises(ConfigError, match="tolerable_loss"):
        cfg.AccuracyCriterion(tolerable_loss=1.5)
    assert cfg.AccuracyCriterion(criterion="absolute", tolerable_loss=1.5).tolerable_loss == 1.5


def test_custom_strategy_registration_is_accepted_by_the_config():
    from compressor.tuning.registry import available_strategies, register_strategy

    with pytest.raises(ConfigError):
        cfg.TuningCriterion(strategy="mycustom_cfgtest")

    @register_strategy("mycustom_cfgtest")
    class MyStrategy:
        pass

    assert "mycustom_cfgtest" in available_strategies()
    assert cfg.TuningCriterion(strategy="mycustom_cfgtest").strategy == "mycustom_cfgtest"
    with pytest.raises(ConfigError, match="already registered"):
        register_strategy("mycustom_cfgtest")(type("Other", (), {}))
