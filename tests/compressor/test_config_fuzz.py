"""Property tests: random bad inputs raise ConfigError and nothing else; nothing bad is accepted."""

from __future__ import annotations

import dataclasses
import math

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from compressor import config as cfg
from compressor.config import PRUNER_KEYS
from compressor.config.quant_options import RECIPES
from compressor.errors import ConfigError
from compressor.tuning.registry import available_strategies

CLASSES = [
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

# Values that are wrong for the field's type whatever the field is (objects-typed fields excluded).
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.just(object()),
)


def _bad_text(allowed):
    return st.text(max_size=12).filter(lambda s: s not in allowed)


not_bool = junk.filter(lambda v: not isinstance(v, bool))
not_number = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.floats(allow_nan=True).filter(lambda f: math.isnan(f) or math.isinf(f)),
)
negative = st.one_of(st.integers(max_value=-1), st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False))
not_ratio = st.one_of(negative, st.floats(min_value=1.0, allow_nan=False, allow_infinity=False), not_number)
non_positive_int = st.one_of(st.integers(max_value=0), st.floats(allow_nan=False), not_number)

# Field → strategy of values that must be rejected, per class. Written from the seed's rules, not
# from the validators, so the test checks the implementation rather than repeating it.
BAD = {
    cfg.AccuracyCriterion: {
        "higher_is_better": not_bool,
        "criterion": _bad_text({"relative", "absolute"}),
        "tolerable_loss": st.one_of(negative, not_number, st.floats(min_value=1.0, max_value=1e6)),
    },
    cfg.TuningCriterion: {
        "strategy": _bad_text(set(available_strategies())),
        "timeout": st.one_of(negative, not_number),
        "max_trials": non_positive_int,
        "objective": _bad_text(set(cfg.OBJECTIVES)),
        "random_seed": st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=3)),
        "strategy_kwargs": st.one_of(
            st.integers(), st.text(min_size=1, max_size=4), st.lists(st.integers(), min_size=1)
        ),
    },
    cfg.PostTrainingQuantConfig: {
        "device": _bad_text(set(cfg.DEVICES)),
        "backend": _bad_text(set(cfg.BACKENDS)),
        "domain": _bad_text(set(cfg.DOMAINS)),
        "quant_format": _bad_text(set(cfg.QUANT_FORMATS)),
        "approach": _bad_text(set(cfg.APPROACHES)),
        "calibration_sampling_size": st.one_of(
            st.integers(max_value=0), st.lists(st.integers(max_value=0), min_size=1), st.just([]), st.none()
        ),
        "reduce_range": st.one_of(st.integers(), st.text(max_size=3)),
        "excluded_precisions": st.one_of(
            _bad_text({"bf16", "fp16"}), st.lists(_bad_text({"bf16", "fp16"}), min_size=1)
        ),
        "quant_level": st.one_of(st.integers().filter(lambda i: i not in (0, 1)), _bad_text({"auto"}), st.booleans()),
        "op_name_dict": st.one_of(
            st.integers(),
            st.text(min_size=1, max_size=3),
            st.just({"(": {"weight": {"dtype": "fp32"}}}),
            st.dictionaries(
                st.sampled_from(["fc.*", "conv1"]),
                _bad_text({"activation", "weight"}).map(lambda k: {k: {}}),
                min_size=1,
            ),
            st.just({"fc": {"weight": {"dtype": ["int4"]}}}),
            st.just({"fc": {"activation": {"scheme": "symmetric"}}}),
        ),
        "recipes": st.one_of(
            st.integers(),
            st.dictionaries(_bad_text(set(RECIPES)), st.booleans(), min_size=1),
            st.just({"smooth_quant": "yes"}),
            st.just({"smooth_quant_args": {"alpha": 2.0}}),
        ),
        "diagnosis": not_bool,
        "performance_only": not_bool,
        "tuning_criterion": st.one_of(st.integers(), st.text(max_size=3), st.just({"max_trials": 0})),
        "accuracy_criterion": st.one_of(st.integers(), st.just({"criterion": "relatve"})),
    },
    cfg.WeightPruningConfig: {
        "target_sparsity": not_ratio,
        "pruning_type": _bad_text({"magnitude", "snip", "snip_momentum", "snip_momentum_progressive"}),
        "pattern": st.one_of(
            st.text(max_size=6).filter(lambda s: s not in ("channelx1", "1xchannel") and "x" not in s and ":" not in s),
            st.builds(lambda a, b: f"{a}:{b}", st.integers(1, 9), st.integers(1, 9)).filter(
                lambda p: int(p.split(":")[0]) >= int(p.split(":")[1])
            ),
            st.just("0x4"),
        ),
        "op_names": st.one_of(st.just(["("]), st.integers(), st.just([1])),
        "start_step": st.one_of(st.integers(max_value=-1), not_number),
        "pruning_scope": _bad_text({"global", "local"}),
        "pruning_frequency": non_positive_int,
        "min_sparsity_ratio_per_op": not_ratio,
        "max_sparsity_ratio_per_op": not_ratio,
        "sparsity_decay_type": _bad_text({"exp", "linear", "cos", "cube"}),
        "pruning_op_types": st.one_of(st.just([]), st.lists(_bad_text({"Conv", "Linear"}), min_size=1)),
        "pruning_configs": st.one_of(
            st.integers(),
            st.lists(st.integers(), min_size=1),
            st.lists(st.dictionaries(_bad_text(set(PRUNER_KEYS)), st.integers(), min_size=1), min_size=1),
            st.just([{"target_sparsity": 1.5}]),
        ),
    },
    cfg.KnowledgeDistillationLossConfig: {
        "temperature": st.one_of(st.integers(max_value=0), negative, not_number),
        "loss_types": st.one_of(
            st.lists(_bad_text({"CE", "KL", "MSE"}), min_size=2, max_size=2),
            st.lists(st.sampled_from(["CE", "KL"]), min_size=3, max_size=4),
            st.just([]),
        ),
        "loss_weights": st.one_of(st.lists(negative, min_size=2, max_size=2), st.just([0, 0]), st.just([0.5])),
    },
    cfg.SelfKnowledgeDistillationLossConfig: {
        "layer_mappings": st.one_of(st.integers(), st.just([["a"]]), st.just([[["a", "b", "c"]]]), st.just([[]])),
        "temperature": st.one_of(st.integers(max_value=0), not_number),
        "loss_types": st.lists(_bad_text({"L2", "KL", "CE"}), min_size=1),
        "add_origin_loss": not_bool,
    },
    cfg.DistillationConfig: {
        "criterion": st.one_of(st.integers(), st.text(max_size=4), st.just({"temperature": -1})),
        "optimizer": st.one_of(
            st.integers(),
            st.just({}),
            st.just({"SGD": {}, "Adam": {}}),
            st.dictionaries(_bad_text({"SGD", "Adam", "AdamW"}), st.just({}), min_size=1, max_size=1),
            st.just({"SGD": {"learning_rat": 0.1}}),
            st.just({"SGD": {"learning_rate": -1}}),
        ),
    },
    cfg.MixedPrecisionConfig: {
        "precisions": st.one_of(
            st.just([]), _bad_text({"bf16", "fp16"}), st.lists(_bad_text({"bf16", "fp16"}), min_size=1)
        ),
        "device": _bad_text(set(cfg.DEVICES)),
        "excluded_precisions": st.just(["bf16"]),
    },
    cfg.BenchmarkConfig: {
        "warmup": st.one_of(st.integers(max_value=-1), not_number),
        "iteration": st.one_of(st.integers(max_value=-2), st.just(0), not_number),
        "cores_per_instance": st.one_of(st.integers(max_value=0), st.text(max_size=3), st.floats()),
        "num_of_instance": st.one_of(st.integers(max_value=0), st.text(max_size=3)),
        "inter_num_of_threads": st.one_of(st.integers(max_value=0), st.booleans()),
        "intra_num_of_threads": st.one_of(st.integers(max_value=0), st.booleans()),
        "backend": _bad_text(set(cfg.BACKENDS)),
    },
}
BAD[cfg.QuantizationAwareTrainingConfig] = {
    k: v
    for k, v in BAD[cfg.PostTrainingQuantConfig].items()
    if k in {f.name for f in dataclasses.fields(cfg.QuantizationAwareTrainingConfig)}
}

CASES = [(cls, name) for cls, fields in BAD.items() for name in fields]


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], deadline=None)
@given(st.sampled_from(CASES).flatmap(lambda case: st.tuples(st.just(case), BAD[case[0]][case[1]])))
def test_bad_values_always_raise_config_error(case_value):
    (cls, name), value = case_value
    try:
        cls(**{name: value})
    except ConfigError as exc:
        assert exc.field.split(".")[0].split("[")[0].split(" ")[0] == name, str(exc)
        assert str(exc)
    else:
        raise AssertionError(f"{cls.__name__}({name}={value!r}) was silently accepted")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.sampled_from(CLASSES).flatmap(
        lambda cls: st.tuples(
            st.just(cls),
            st.dictionaries(
                st.sampled_from([f.name for f in dataclasses.fields(cls)] + ["bogus_key"]), junk, max_size=4
            ),
        )
    )
)
def test_random_inputs_raise_only_config_error(cls_kwargs):
    """Whatever arrives, only ConfigError escapes; what is accepted survives a JSON round trip."""
    cls, kwargs = cls_kwargs
    try:
        conf = cls.from_dict(kwargs)
    except ConfigError:
        return
    objects = {k: getattr(conf, k) for k in ("teacher_model", "example_inputs") if hasattr(conf, k)}
    assert cls.from_json(conf.to_json(), **objects) == conf
