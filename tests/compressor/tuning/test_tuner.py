"""The Tuner: exit policy, objectives, criteria end to end, and the result when nothing passes."""

from __future__ import annotations

import logging
import time

import digits_models as dm
import numpy as np
import numpy_backend as nb
import pytest
from tuning_helpers import FP32_ALL, Counter, make_conf

from compressor.tuning import TuneStrategy, register_strategy


@register_strategy("silent_for_test")
class Silent(TuneStrategy):
    """Proposes nothing at all, and asks the tuner not to search on without it."""

    continue_when_unmet = False

    def propose(self, history):
        return None


@register_strategy("silent_continued_for_test")
class SilentContinued(TuneStrategy):
    """Proposes nothing at all; the tuner's continuation searches instead."""

    def propose(self, history):
        return None


@register_strategy("repeater_for_test")
class Repeater(TuneStrategy):
    """Proposes the same plan forever."""

    def propose(self, history):
        return self.space.default_plan()


def test_timeout_zero_stops_at_the_first_passing_trial(tune, fragile):
    result = tune(fragile, strategy="basic", timeout=0, max_trials=50)
    assert result.met_criterion
    assert result.trials[-1].met and not any(t.met for t in result.trials[:-1])
    assert result.best_trial_index == result.trials[-1].index
    assert len(result.trials) < 50


@pytest.mark.parametrize(
    ("objective", "measure"),
    [
        ("performance", lambda t: t.latency_ms),
        ("modelsize", lambda t: t.size_bytes),
        ("footprint", lambda t: t.size_bytes),
        ("accuracy", lambda t: t.loss),
    ],
)
def test_positive_timeout_explores_up_to_max_trials_and_picks_the_best_for_the_objective(
    tune, fragile, objective, measure
):
    # basic has 11 plans for this 3-op model; all are explored although the 9th already passes.
    result = tune(fragile, strategy="basic", timeout=3600, max_trials=11, objective=objective)
    assert len(result.trials) == 11
    passing = [t for t in result.trials if t.met and not t.all_fp32]
    assert len(passing) >= 2
    assert result.met_criterion
    best = min(measure(t) for t in passing)
    chosen = next(t for t in result.trials if t.index == result.best_trial_index)
    assert measure(chosen) == best and chosen.met
    assert result.best_plan == chosen.plan


def test_performance_objective_prefers_fewer_fallbacks(tune, mlp):
    result = tune(mlp, strategy="basic", timeout=3600, max_trials=20, objective="performance")
    assert result.met_criterion and result.fallback_ops == ()
    assert result.speedup > 1 and result.is_win


def test_timeout_bounds_the_run_by_time(tune, mlp, digits):
    def slow_eval(model):
        time.sleep(0.05)
        return dm.accuracy(model, digits)

    result = tune(mlp, strategy="exhaustive", timeout=0.3, max_trials=100, eval_func=slow_eval)
    assert 1 <= len(result.trials) < 20


def test_a_strategy_out_of_plans_ends_the_run(tune, fragile):
    result = tune(fragile, strategy="basic", timeout=3600, max_trials=100)
    assert len(result.trials) == 11
    assert not any(t.all_fp32 for t in result.trials)  # strategies never propose an unquantized model


def test_max_trials_always_bounds(tune, fragile):
    result = tune(fragile, strategy="basic", timeout=0, max_trials=3)
    assert len(result.trials) == 3
    assert not result.met_criterion


@pytest.mark.parametrize(
    ("criterion", "higher_is_better", "tolerable"),
    [("relative", True, 0.01), ("absolute", True, 0.01), ("relative", False, 0.5), ("absolute", False, 0.01)],
)
def test_all_four_criterion_combinations_end_to_end(tune, fragile, digits, criterion, higher_is_better, tolerable):
    def metric(model):  # accuracy, or error rate when lower is better
        accuracy = dm.accuracy(model, digits)
        return accuracy if higher_is_better else 1.0 - accuracy

    result = tune(
        fragile,
        strategy="mse",
        criterion=criterion,
        higher_is_better=higher_is_better,
        tolerable_loss=tolerable,
        eval_func=metric,
    )
    assert result.met_criterion
    assert result.fallback_ops == ("fc2",)
    naive = result.trials[0]
    assert not naive.met and naive.loss > tolerable
    # The loss is in the criterion's units and positive means worse, whatever the metric's direction.
    diff = result.baseline_accuracy - naive.accuracy if higher_is_better else naive.accuracy - result.baseline_accuracy
    expected = diff / abs(result.baseline_accuracy) if criterion == "relative" else diff
    assert naive.loss == pytest.approx(expected)


def test_no_plan_meets_returns_the_closest_with_an_explanation(tune, fragile, caplog):
    with caplog.at_level(logging.WARNING, logger="compressor.tuning"):
        result = tune(fragile, strategy="mse", max_trials=2, tolerable_loss=0.0001)
    assert result is not None and not result.met_criterion
    assert result.best_plan.fallback_ops == ("fc2",)  # the closest accuracy
    assert result.model is not None and result.accuracy == max(t.accuracy for t in result.trials)
    assert "No quantized plan meets" in result.explanation
    assert "Ops that hurt most: fc2" in result.explanation
    assert "criterion NOT met" in result.summary()
    assert any("No quantized plan meets" in r.getMessage() for r in caplog.records)


def test_no_plan_meets_without_pairs_still_names_the_drifting_op(tune, fragile):
    result = tune(fragile, strategy="basic", max_trials=1)
    assert not result.met_criterion and result.fallback_ops == ()
    assert "drifts most: fc2" in result.explanation


def test_every_op_forced_to_fp32_is_reported_as_not_quantized(tune, mlp):
    result = tune(mlp, strategy="basic", op_name_dict={"fc.*": FP32_ALL})
    assert len(result.trials) == 1  # nothing to tune
    assert result.all_fp32 and not result.is_quantized
    assert not result.met_criterion  # an fp32 model is not a passing quantization
    assert "not a quantized model" in result.explanation
    assert "NOT QUANTIZED" in result.summary()


def test_op_name_dict_fp32_forcing_is_honoured_in_every_trial(tune, fragile):
    result = tune(fragile, strategy="basic", timeout=3600, max_trials=15, op_name_dict={"fc1": FP32_ALL})
    assert all("fc1" in t.fallback_ops for t in result.trials)
    assert "fc1" in result.fallback_ops and result.met_criterion


def test_a_plan_slower_than_fp32_is_never_reported_as_a_win(tune, mlp, calib, digits):
    slow_int8 = nb.NumpyBackend(latency_model=nb.modeled_latency(int8_cost=1.5))
    result = tune(mlp, strategy="basic", tuner_backend=slow_int8)
    assert result.met_criterion and result.speedup < 1
    assert not result.is_win
    assert "Not a win" in result.explanation
    assert "NOT faster than fp32" in result.summary()


def test_measured_latency_path_runs(tune, mlp):
    result = tune(mlp, strategy="basic", tuner_backend=nb.NumpyBackend(iterations=5))
    assert result.fp32_latency_ms > 0 and result.latency_ms > 0
    assert result.speedup == pytest.approx(result.fp32_latency_ms / result.latency_ms)


def test_result_fields_and_summary_table(tune, fragile, tmp_path):
    result = tune(fragile, strategy="mse")
    assert result.baseline_accuracy == pytest.approx(dm.accuracy(fragile, dm.load()))
    assert result.size_bytes < result.fp32_size_bytes
    assert result.history_path == str(tmp_path / "ws" / "history.jsonl")
    assert result.seconds > 0 and result.seed == 1978 and result.strategy == "mse"
    table = result.summary().splitlines()
    assert table[0].startswith(
        "| Optimization method | Accuracy | Relative accuracy loss [%] | Tuning cost [s] | Trials"
    )
    assert table[2].startswith("| fp32 baseline |")
    assert table[3].startswith("| int8 mse |") and "| 2 |" in table[3]


def test_the_returned_model_is_the_evaluated_one(tune, fragile, digits):
    result = tune(fragile, strategy="basic")
    assert dm.accuracy(result.model, digits) == result.accuracy


def test_a_strategy_with_nothing_to_propose_still_gets_a_result(tune, mlp):
    result = tune(mlp, strategy="silent_for_test")
    assert result.best_plan is None and not result.met_criterion
    assert result.model is not None and result.accuracy == result.baseline_accuracy
    assert "proposed no plan" in result.explanation


def test_a_strategy_that_ends_early_is_continued_until_the_criterion_holds(tune, mlp):
    result = tune(mlp, strategy="silent_continued_for_test")
    assert result.met_criterion and not result.all_fp32 and result.trials


def test_repeated_proposals_are_not_evaluated_twice(tune, mlp, digits):
    counter = Counter(lambda m: dm.accuracy(m, digits))
    result = tune(mlp, strategy="repeater_for_test", timeout=3600, eval_func=counter)
    assert len(result.trials) == 1 and counter.calls == 2  # baseline + one trial


def test_eval_func_must_return_a_number(tune, mlp):
    from compressor.errors import ConfigError

    with pytest.raises(ConfigError, match="eval_func"):
        tune(mlp, eval_func=lambda m: {"acc": 1.0})


def test_calibration_is_saved_without_pickle(tune, mlp, calib, tmp_path):
    tune(mlp, strategy="basic")
    with np.load(tmp_path / "ws" / "calibration.npz", allow_pickle=False) as data:
        assert "arity" in data.files
    from compressor.tuning import calibration

    saved = calibration.load(tmp_path / "ws" / "calibration.npz")
    assert len(saved) == len(calib) and all(np.array_equal(a[0], b[0]) for a, b in zip(saved, calib, strict=True))


def test_sampling_size_limits_the_calibration_batches(tune, mlp, tmp_path):
    from compressor.tuning import calibration

    tune(mlp, conf=make_conf(calibration_sampling_size=[60]))
    assert len(calibration.load(tmp_path / "ws" / "calibration.npz")) == 2  # 50 + 50 >= 60


def test_performance_only_quantizes_the_default_plan_without_evaluating(tune, mlp):
    result = tune(mlp, conf=make_conf(performance_only=True), eval_func=None)
    assert len(result.trials) == 1 and result.best_plan.fallback_ops == ()
    assert np.isnan(result.accuracy) and np.isnan(result.baseline_accuracy)
    assert not result.met_criterion and "not checked" in result.explanation
    assert result.speedup > 1


def test_eval_func_is_required_unless_performance_only(backend, mlp, calib, tmp_path):
    from compressor.errors import ConfigError
    from compressor.tuning import Tuner

    with pytest.raises(ConfigError, match="performance_only"):
        Tuner(backend, mlp, make_conf(), calib, None, workspace=tmp_path)


def test_dynamic_approach_needs_no_calibration_data(tune, mlp, digits, backend, tmp_path):
    from compressor.tuning import Tuner

    conf = make_conf(approach="dynamic", strategy="basic")
    result = Tuner(backend, mlp, conf, [], lambda m: dm.accuracy(m, digits), workspace=tmp_path).run()
    assert result.met_criterion and result.best_plan.approach == "dynamic"


def test_a_plan_the_backend_cannot_build_is_a_failed_trial_not_the_end(tune, mlp, tmp_path):
    """Calibrators that fail on some data, kernels that do not exist: recorded, then tuning goes on."""
    from compressor.errors import BackendError
    from compressor.tuning.history import read_history

    class Flaky(nb.NumpyBackend):
        def __init__(self, fail_first: int):
            super().__init__()
            self.fail_first = fail_first
            self.calls = 0

        def quantize(self, model, plan, calibration):
            self.calls += 1
            if self.calls <= self.fail_first:
                raise BackendError("calibration 'minmax' failed on inf")
            return super().quantize(model, plan, calibration)

    result = tune(mlp, strategy="basic", tuner_backend=Flaky(1), workspace=tmp_path / "a")
    assert result.met_criterion
    history = read_history(result.history_path)
    assert history.trials[0].error == "calibration 'minmax' failed on inf"
    assert history.trials[0].key != result.best_plan.key

    with pytest.raises(BackendError, match="could not build any"):
        tune(mlp, strategy="basic", max_trials=3, tuner_backend=Flaky(99), workspace=tmp_path / "b")
