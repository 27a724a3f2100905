"""The tuning space: op_name_dict / op_type_dict restrictions, global knobs, and errors for bad patterns."""

from __future__ import annotations

import pytest
from tuning_helpers import make_conf

from compressor.algorithms.ptq.algorithm import FP32
from compressor.errors import ConfigError
from compressor.tuning import build_space

FP32_RULE = {"activation": {"dtype": ["fp32"]}, "weight": {"dtype": ["fp32"]}}


def space_of(backend, mlp, **ptq):
    return build_space(backend, mlp, make_conf(**ptq))


def test_default_space_is_full_int8_with_every_knob(backend, mlp):
    space = space_of(backend, mlp)
    assert space.op_names == ("fc1", "fc2", "fc3")
    assert space.tunable_ops() == ("fc1", "fc2", "fc3")
    assert space.approaches == ("static",)
    assert space.calibrations == ("minmax", "percentile", "entropy")
    assert space.formats["static"] == ("QOperator", "QDQ")
    assert space.smooth_quant_alphas == (None,)
    plan = space.default_plan()
    assert plan.quantized_ops == ("fc1", "fc2", "fc3")
    assert plan.quant_format == "QOperator" and plan.calibration == "minmax"
    assert plan.ops["fc1"] == backend.op_options(None, "static")[0]  # the backend's best option first
    space.check(plan)


def test_op_name_dict_forces_fp32(backend, mlp):
    space = space_of(backend, mlp, op_name_dict={"fc1.*": FP32_RULE})
    assert space.op("fc1").options("static") == ()
    assert space.tunable_ops() == ("fc2", "fc3")
    assert space.default_plan().fallback_ops == ("fc1",)
    # A plan quantizing fc1 is outside the space.
    with pytest.raises(ConfigError, match="fc1"):
        space.check(space.default_plan().with_ops(fc1=backend.op_options(None, "static")[0]))


def test_activation_dtype_alone_forces_fp32_and_mixed_lists_leave_both_open(backend, mlp):
    space = space_of(
        backend,
        mlp,
        op_name_dict={"fc2": {"activation": {"dtype": ["fp32"]}}, "fc3": {"weight": {"dtype": ["int8", "fp32"]}}},
    )
    assert space.tunable_ops() == ("fc1", "fc3")
    assert space.default_plan().fallback_ops == ("fc2",)


def test_int8_only_dtype_forbids_fallback(backend, mlp):
    space = space_of(
        backend, mlp, op_name_dict={"fc3": {"activation": {"dtype": ["uint8"]}, "weight": {"dtype": ["int8"]}}}
    )
    assert not space.op("fc3").fp32_allowed
    assert space.tunable_ops() == ("fc1", "fc2")
    assert FP32 not in space.op("fc3").choices("static")


def test_granularity_and_scheme_lists_restrict_options(backend, mlp):
    space = space_of(
        backend,
        mlp,
        op_type_dict={"Linear": {"weight": {"granularity": ["per_tensor"], "scheme": ["sym"]}}},
        op_name_dict={"fc2": {"activation": {"scheme": ["sym"]}}},
    )
    for name in space.op_names:
        options = space.op(name).options("static")
        assert options and all(o.weight_granularity == "per_tensor" and o.weight_scheme == "sym" for o in options)
    assert {o.activation_scheme for o in space.op("fc2").options("static")} == {"sym"}
    assert {o.activation_scheme for o in space.op("fc1").options("static")} == {"asym", "sym"}


def test_name_rules_override_type_rules(backend, mlp):
    space = space_of(
        backend,
        mlp,
        op_type_dict={"Linear": FP32_RULE},
        op_name_dict={"fc3": {"activation": {"dtype": ["int8", "fp32"]}, "weight": {"dtype": ["int8", "fp32"]}}},
    )
    assert space.tunable_ops() == ("fc3",)


def test_activation_algorithm_restricts_calibration_and_kl_means_entropy(backend, mlp):
    space = space_of(backend, mlp, op_type_dict={"Linear": {"activation": {"algorithm": ["kl", "minmax"]}}})
    assert space.calibrations == ("minmax", "entropy")


def test_unmatched_op_name_pattern_is_an_error_with_did_you_mean(backend, mlp):
    with pytest.raises(ConfigError) as info:
        space_of(backend, mlp, op_name_dict={"fc4": FP32_RULE})
    text = str(info.value)
    assert "op_name_dict['fc4']" in text
    assert "matches no op name" in text
    assert "'fc1', 'fc2', 'fc3'" in text
    assert "did you mean" in text


def test_unmatched_regex_suggests_the_closest_name(backend, mlp):
    with pytest.raises(ConfigError, match=r"did you mean 'fc2'\?"):
        space_of(backend, mlp, op_name_dict={"fcc2.*": FP32_RULE})


def test_unmatched_op_type_pattern_lists_the_types(backend, mlp):
    with pytest.raises(ConfigError) as info:
        space_of(backend, mlp, op_type_dict={"Conv": FP32_RULE})
    assert "op_type_dict['Conv']" in str(info.value) and "'Linear'" in str(info.value)


def test_contradicting_dtypes_and_unsatisfiable_options_are_errors(backend, mlp):
    with pytest.raises(ConfigError, match="neither int8 nor fp32"):
        space_of(backend, mlp, op_name_dict={"fc1": {"activation": {"dtype": ["int8"]}, "weight": {"dtype": ["fp32"]}}})


def test_approach_auto_tries_static_then_dynamic(backend, mlp):
    space = space_of(backend, mlp, approach="auto")
    assert space.approaches == ("static", "dynamic")
    assert space.formats["dynamic"] == ("QOperator",)
    assert space.calibrations_for("dynamic") == ("minmax",)
    assert space.default_plan().approach == "static"


def test_quant_format_restricts_formats_and_unknown_format_is_refused(backend, mlp):
    assert space_of(backend, mlp, quant_format="QDQ").formats["static"] == ("QDQ",)
    with pytest.raises(ConfigError, match="QDQ"):
        space_of(backend, mlp, approach="dynamic", quant_format="QDQ")


@pytest.mark.parametrize(
    ("recipes", "alphas"),
    [
        ({}, (None,)),
        ({"smooth_quant": False, "smooth_quant_args": {"alpha": 0.7}}, (None,)),
        ({"smooth_quant": True}, (0.5, 0.65, 0.8, None)),
        ({"smooth_quant": True, "smooth_quant_args": {"alpha": "auto"}}, (0.5, 0.65, 0.8, None)),
        ({"smooth_quant": True, "smooth_quant_args": {"alpha": 0.7}}, (0.7,)),
    ],
)
def test_smooth_quant_alpha_candidates(backend, mlp, recipes, alphas):
    assert space_of(backend, mlp, recipes=recipes).smooth_quant_alphas == alphas
