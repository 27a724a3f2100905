"""Every registered strategy on the normal and the fragile MLP, determinism, and custom strategies."""

from __future__ import annotations

import digits_models as dm
import numpy as np
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
