"""Subset screening: a trial is evaluated on a quarter of the eval set first and rejected there when it
cannot pass; plans that can pass, and the returned plan, are always evaluated on the whole set."""

from __future__ import annotations

import math

import digits_models as dm
import numpy as np
import pytest
from tuning_helpers import make_conf

from compressor.errors import ConfigError
from compressor.tuning import Tuner
from compressor.tuning.history import read_history
from compressor.tuning.tuner import SCREEN_FRACTION


class SubsetEval:
    """Digits accuracy on the leading ``subset`` of the test split; counts full and subset calls."""

    def __init__(self, digits):
        self.digits = digits
        self.full = 0
        self.partial = 0

    def __call__(self, model, subset=None):
        x, y = self.digits.x_test, self.digits.y_test
        if subset is not None and subset < 1:
            count = math.ceil(subset * len(y))
            picked = np.arange(count) * len(y) // count  # spread over the split, as models.evaluation.spread
            x, y = x[picked], y[picked]
            self.partial += 1
        else:
            self.full += 1
        return float(np.mean(np.argmax(model(x), axis=1) == y))


def _tuner(backend, model, calib, eval_func, workspace, **kwargs):
    conf = make_conf(strategy=kwargs.pop("strategy", "basic"), max_trials=kwargs.pop("max_trials", 30))
    return Tuner(backend, model, conf, calib, eval_func, workspace=workspace, **kwargs)


def test_failing_trials_are_rejected_on_the_subset_and_the_result_is_full_set(
    backend, fragile, calib, digits, tmp_path
):
    counter = SubsetEval(digits)
    result = _tuner(backend, fragile, calib, counter, tmp_path / "ws").run()
    assert result.met_criterion and not result.all_fp32
    screened = [t for t in result.trials if t.screened]
    assert screened and result.screened_trials == len(screened)
    assert all(t.evaluated_fraction == SCREEN_FRACTION and not t.met for t in screened)
    # Full evaluations: the baseline and every unscreened trial; the screened ones cost a quarter each.
    assert counter.full == 1 + len(result.trials) - len(screened)
    assert counter.partial == 1 + len(result.trials)  # the fp32 subset baseline, then every trial
    chosen = next(t for t in result.trials if t.index == result.best_trial_index)
    assert not chosen.screened
    assert result.accuracy == dm.accuracy(result.model, digits)  # the whole test split, not an estimate
    recorded = read_history(result.history_path)
    assert [t.evaluated_fraction for t in recorded.trials] == [t.evaluated_fraction for t in result.trials]


def test_screening_never_decides_a_pass(backend, mlp, calib, digits, tmp_path):
    """On the normal MLP naive int8 passes: nothing is screened, the pass is a full-set pass."""
    counter = SubsetEval(digits)
    result = _tuner(backend, mlp, calib, counter, tmp_path / "ws").run()
    assert result.met_criterion and result.screened_trials == 0
    assert all(t.evaluated_fraction == 1.0 for t in result.trials)


def test_a_closest_plan_that_was_only_screened_is_reported_on_the_full_set(backend, fragile, calib, digits, tmp_path):
    """Nothing passes (two trials of naive plans): the result is still a full-set accuracy."""
    counter = SubsetEval(digits)
    conf = make_conf(strategy="mse", max_trials=1)
    result = Tuner(backend, fragile, conf, calib, counter, workspace=tmp_path / "ws").run()
    assert not result.met_criterion and result.trials[0].screened
    assert result.accuracy == dm.accuracy(result.model, digits)


def test_screening_is_off_for_a_plain_eval_func_and_on_request(backend, fragile, calib, digits, tmp_path):
    plain = _tuner(backend, fragile, calib, lambda m: dm.accuracy(m, digits), tmp_path / "a").run()
    assert plain.screened_trials == 0
    off = _tuner(backend, fragile, calib, SubsetEval(digits), tmp_path / "b", eval_subset=0).run()
    assert off.screened_trials == 0
    assert [t.key for t in off.trials] == [t.key for t in plain.trials]


@pytest.mark.parametrize(
    ("value", "eval_func", "message"),
    [
        (0.5, lambda m: 1.0, "accepts subset="),
        (1.5, None, "a fraction in (0, 1)"),
        ("half", None, "a fraction in (0, 1)"),
        (True, None, "a fraction in (0, 1)"),
    ],
)
def test_bad_eval_subset_is_refused_by_name(backend, mlp, calib, digits, tmp_path, value, eval_func, message):
    with pytest.raises(ConfigError) as info:
        _tuner(backend, mlp, calib, eval_func or SubsetEval(digits), tmp_path / "ws", eval_subset=value)
    assert "eval_subset" in str(info.value) and message in str(info.value)


def test_dataloader_evaluation_screens_on_batches_spread_over_the_loader(digits):
    from compressor.metrics import make_eval_func

    class Basics:
        @staticmethod
        def runner(model):
            return lambda inputs: model(inputs[0])

    batches = [(digits.x_test[i : i + 50], digits.y_test[i : i + 50]) for i in range(0, 400, 50)]  # 8 batches
    seen = []

    class Loader:
        def __iter__(self):
            for batch in batches:
                seen.append(1)
                yield batch

    eval_func = make_eval_func(Basics, Loader(), "topk")
    model = dm.train_mlp(digits, epochs=2)
    full = eval_func(model)
    assert len(seen) == 8
    seen.clear()
    quarter = eval_func(model, subset=0.25)
    assert len(seen) == 8  # every batch is drawn; the model runs on batches 3 and 7 only
    rows = np.r_[150:200, 350:400]
    expected = float(np.mean(np.argmax(model(digits.x_test[rows]), axis=1) == digits.y_test[rows]))
    assert quarter == expected and 0 <= full <= 1


def test_a_screened_plan_that_meets_on_the_full_set_is_reported_as_met(backend, mlp, calib, digits, tmp_path):
    """A subset that misleads (every quantized model looks 0.5 worse on it): nothing passes the screen, and
    the closest plan, evaluated on the full set for the report, does meet: the result says so."""
    honest = SubsetEval(digits)

    def misleading(model, subset=None):
        value = honest(model, subset)
        return value - 0.5 if subset is not None and model is not prepared[0] else value

    prepared = [None]
    tuner = _tuner(backend, mlp, calib, misleading, tmp_path / "ws", max_trials=3)
    original = tuner.backend.prepare
    tuner.backend.prepare = lambda model: prepared.__setitem__(0, original(model)) or prepared[0]
    result = tuner.run()
    assert all(t.screened for t in result.trials)
    assert result.met_criterion and result.accuracy == dm.accuracy(result.model, digits)
