"""Every registered strategy on the normal and the fragile MLP, determinism, and custom strategies."""

from __future__ import annotations

import logging

import digits_models as dm
import numpy as np
import numpy_backend as nb
import pytest
from tuning_helpers import make_conf

from compressor.algorithms.ptq.algorithm import OpQuant
from compressor.config import TuningCriterion
from compressor.tuning import TuneStrategy, available_strategies, register_strategy
from compressor.tuning.registry import BUILTIN_STRATEGIES


@register_strategy("mycustom")
class MyCustom(TuneStrategy):
    """Seed 002's custom strategy idea: full int8, then fall back ops in the user's order until it passes."""

    def propose(self, history):
        order = self.options.get("order", list(self.space.tunable_ops()))
        if not history:
            return self.space.default_plan()
        if history[-1].met or len(history) > len(order):
            return None
        return self.space.default_plan().with_fallback(*order[: len(history)])


@register_strategy("bad_forced_fc1")
class QuantizesFc1(TuneStrategy):
    """Ignores the space and quantizes fc1 even where the config forces it to fp32."""

    def propose(self, history):
        return self.space.default_plan().with_ops(fc1=OpQuant("int8", "per_channel"))


@pytest.mark.parametrize("strategy", BUILTIN_STRATEGIES)
def test_every_builtin_strategy_meets_one_percent_on_the_normal_mlp(tune, mlp, strategy):
    result = tune(mlp, strategy=strategy, max_trials=30)
    assert result.met_criterion, result.summary()
    assert result.relative_loss <= 0.01
    assert not result.all_fp32 and result.best_plan.quantized_ops
    assert result.strategy == strategy


def test_naive_int8_breaks_the_fragile_mlp(backend, fragile, calib, digits, mlp):
    from compressor.tuning import build_space

    plan = build_space(backend, fragile, make_conf()).default_plan()
    baseline = dm.accuracy(fragile, digits)
    assert baseline == dm.accuracy(mlp, digits)  # the rescaling keeps the fp32 function
    naive = dm.accuracy(backend.quantize(fragile, plan, calib), digits)
    assert (baseline - naive) / baseline > 0.05


@pytest.mark.parametrize(
    ("strategy", "max_trials"),
    [
        ("auto", 10),
        ("basic", 20),
        ("conservative", 10),
        ("mse", 10),
        ("mse_v2", 10),
        ("bayesian", 30),
        ("tpe", 30),
        ("random", 40),
        ("exhaustive", 40),
    ],
)
def test_tuning_rescues_the_fragile_mlp_and_reports_the_culprit(tune, fragile, strategy, max_trials):
    result = tune(fragile, strategy=strategy, max_trials=max_trials)
    assert result.met_criterion, result.summary()
    assert "fc2" in result.fallback_ops
    assert not result.all_fp32


@pytest.fixture(scope="module")
def weight_outliers(mlp, digits):
    return dm.make_weight_outliers(mlp, digits)


def test_weight_outliers_are_fixed_by_per_channel_weights_only(weight_outliers, calib, digits):
    """The model of the no-early-give-up test: every fallback pair still fails, per-channel passes."""
    from compressor.tuning import build_space

    backend = nb.NumpyBackend(granularities=("per_tensor", "per_channel"))
    plan = build_space(backend, weight_outliers, make_conf()).default_plan()
    needed = 0.99 * dm.accuracy(weight_outliers, digits)
    for fallback in ((), ("fc1", "fc2"), ("fc2", "fc3"), ("fc1", "fc3")):
        assert dm.accuracy(backend.quantize(weight_outliers, plan.with_fallback(*fallback), calib), digits) < needed
    per_channel = plan.with_ops(**{op: OpQuant("int8", "per_channel") for op in plan.ops})
    assert dm.accuracy(backend.quantize(weight_outliers, per_channel, calib), digits) >= needed


@pytest.mark.parametrize("strategy", BUILTIN_STRATEGIES)
def test_no_strategy_gives_up_with_budget_left(tune, weight_outliers, strategy, caplog):
    """Per-tensor weights first (ONNX Runtime's order) and outliers that no fp32 fallback short of all-fp32
    cures: ``mse`` alone runs out after 3 plans. Every strategy must go on into the rest of the space."""
    backend = nb.NumpyBackend(latency_model=nb.modeled_latency(), granularities=("per_tensor", "per_channel"))
    with caplog.at_level(logging.INFO, logger="compressor.tuning.tuner"):
        result = tune(weight_outliers, strategy=strategy, max_trials=50, tuner_backend=backend)
    assert result.met_criterion and not result.all_fp32, result.summary()
    assert result.trials and len(result.trials) <= 50
    if strategy == "mse":  # its own sequence is 3 plans long: the continuation found the answer
        assert len(result.trials) > 3
        assert "has no more plans after 3 of 50 trials and the criterion is unmet" in caplog.text


def test_exhausted_space_is_logged_as_such(tune, mlp, digits, caplog):
    """An impossible criterion: the continuation searches until nothing is left, and says so."""
    backend = nb.NumpyBackend(latency_model=nb.modeled_latency(), granularities=("per_tensor",))
    strict = make_conf(strategy="mse", max_trials=500)

    def eval_func(model):  # every quantized model is 0.5 below fp32: no plan can pass
        return dm.accuracy(model, digits) - (0.0 if model is mlp else 0.5)

    with caplog.at_level(logging.INFO, logger="compressor.tuning.tuner"):
        result = tune(mlp, strict, tuner_backend=backend, eval_func=eval_func)
    assert not result.met_criterion
    assert len(result.trials) < 500
    assert "the tuning space reachable from the best plan is exhausted after" in caplog.text


def test_mse_ranks_the_culprit_first_and_needs_one_fallback(tune, fragile):
    result = tune(fragile, strategy="mse")
    assert [t.fallback_ops for t in result.trials] == [(), ("fc2",)]


def test_smooth_quant_rescues_without_fallback(tune, fragile):
    result = tune(fragile, strategy="auto", recipes={"smooth_quant": True})
    assert result.met_criterion and result.fallback_ops == ()
    assert result.best_plan.smooth_quant_alpha == 0.5


@pytest.mark.parametrize("strategy", BUILTIN_STRATEGIES)
def test_same_seed_gives_the_same_plan_sequence(tune, fragile, tmp_path, strategy):
    runs = [
        tune(fragile, strategy=strategy, max_trials=12, timeout=3600, seed=7, workspace=tmp_path / f"run{i}")
        for i in range(2)
    ]
    keys = [[t.key for t in run.trials] for run in runs]
    assert keys[0] == keys[1]
    assert len(keys[0]) >= 2


@pytest.mark.parametrize("strategy", ["random", "bayesian", "tpe"])
def test_seeded_strategies_depend_on_the_seed(tune, fragile, tmp_path, strategy):
    sequences = {
        seed: [
            t.key
            for t in tune(
                fragile, strategy=strategy, max_trials=8, timeout=3600, seed=seed, workspace=tmp_path / str(seed)
            ).trials
        ]
        for seed in (1, 2)
    }
    assert sequences[1] != sequences[2]


def test_exhaustive_enumerates_nearest_plans_first_without_repeats(tune, mlp):
    result = tune(mlp, strategy="exhaustive", max_trials=25, timeout=3600)
    keys = [t.key for t in result.trials]
    assert len(keys) == len(set(keys)) == 25
    assert result.trials[0].plan.fallback_ops == () and result.trials[0].plan.calibration == "minmax"


def test_custom_strategy_registered_by_name_runs_end_to_end(tune, fragile):
    assert "mycustom" in available_strategies()
    assert TuningCriterion(strategy="mycustom").strategy == "mycustom"
    result = tune(fragile, strategy="mycustom", strategy_kwargs={"order": ["fc2", "fc1"]})
    assert result.met_criterion and result.strategy == "mycustom"
    assert [t.fallback_ops for t in result.trials] == [(), ("fc2",)]


def test_custom_strategy_proposing_outside_the_space_is_refused(tune, mlp):
    from compressor.errors import ConfigError

    rule = {"fc1": {"activation": {"dtype": ["fp32"]}, "weight": {"dtype": ["fp32"]}}}
    with pytest.raises(ConfigError, match="fc1"):
        tune(mlp, strategy="bad_forced_fc1", op_name_dict=rule)


def test_mse_strategy_needs_the_tuner_for_sensitivity(backend, mlp):
    from compressor.errors import ConfigError
    from compressor.tuning import build_space, get_strategy

    strategy = get_strategy("mse")(build_space(backend, mlp, make_conf()), 0, {})
    first = strategy.propose([])
    assert first is not None

    class Done:
        key, met, loss, all_fp32, fallback_ops = first.key, False, 1.0, False, ()

    with pytest.raises(ConfigError, match="sensitivity"):
        strategy.propose([Done()])


def test_strategies_only_read_history_and_keep_rng_local(backend, mlp):
    from compressor.tuning import build_space, get_strategy

    space = build_space(backend, mlp, make_conf())
    state = np.random.get_state()[1].copy()
    a = get_strategy("random")(space, 3, {}).propose([])
    b = get_strategy("random")(space, 3, {}).propose([])
    assert a.key == b.key
    assert (np.random.get_state()[1] == state).all()


def under_ranged_calibration(digits, factor=0.3):
    """Calibration inputs scaled by ``factor``: every calibrated activation range is too small for the eval
    data and clips it, whatever the method; ranges taken at run time (dynamic) are right."""
    return [(x * factor,) for (x,) in dm.calibration_batches(digits)]


@pytest.mark.parametrize("strategy", ["auto", "mse", "mse_v2"])
def test_ops_go_to_dynamic_int8_before_fp32(strategy, mlp, digits, tmp_path):
    """Where the backend can run an op of a static plan with run-time activation ranges, the strategies' ranked
    fallback moves ops there first: the result keeps every op int8, and no plan before it had an fp32 op."""
    from compressor.tuning import Tuner

    backend = nb.NumpyBackend(latency_model=nb.modeled_latency(), dynamic_in_static=True)
    calib = under_ranged_calibration(digits)
    conf = make_conf(strategy=strategy, max_trials=30)
    result = Tuner(backend, mlp, conf, calib, lambda m: dm.accuracy(m, digits), workspace=tmp_path / "ws").run()
    assert result.met_criterion and not result.fallback_ops, result.summary()
    assert result.best_plan.dynamic_ops, result.summary()
    assert all(not t.plan.fallback_ops for t in result.trials), [t.plan.fallback_ops for t in result.trials]
    # without dynamic ops in the space the same data needs fp32 fallback (or does not meet at all)
    plain = nb.NumpyBackend(latency_model=nb.modeled_latency())
    other = Tuner(plain, mlp, conf, calib, lambda m: dm.accuracy(m, digits), workspace=tmp_path / "plain").run()
    assert not other.met_criterion or other.fallback_ops


def test_the_continuation_reaches_plans_that_only_move_an_op_back_to_int8(tune, mlp, digits, caplog):
    """Only fc1 and fc3 in fp32 (fc2 int8) passes, while every plan with fc2 in fp32 looks better than the rest:
    ``basic`` and the continuation's downward moves (more ops to fp32) from the best plan never put fc2 back.
    The fallback-set enumeration at the end of the continuation does, before the space counts as exhausted."""
    backend = nb.NumpyBackend(latency_model=nb.modeled_latency(), granularities=("per_tensor",))

    def eval_func(model):
        if model is mlp:
            return dm.accuracy(model, digits)
        fp32 = {layer.name for layer in model.layers if not isinstance(layer, nb.QDense)}
        if fp32 == {"fc1", "fc3"}:
            return dm.accuracy(mlp, digits)
        return 0.5 + (0.1 if "fc2" in fp32 else 0.0)

    with caplog.at_level(logging.INFO, logger="compressor.tuning.tuner"):
        result = tune(mlp, strategy="basic", max_trials=300, eval_func=eval_func, tuner_backend=backend)
    assert result.met_criterion and result.fallback_ops == ("fc1", "fc3"), result.summary()
    assert "exhausted" not in caplog.text
