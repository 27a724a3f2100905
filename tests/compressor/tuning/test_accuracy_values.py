"""What eval_func may return: a finite real number for the fp32 baseline, checked before any trial.

A NaN/inf baseline would make every loss undefined (the run would spend its whole budget and report
nothing), and a string "0.9" or a bool coerced to a float hides a bug in the evaluation. A trial that
returns NaN/inf is a plan that broke the model: recorded as a failed trial, never meeting the criterion.
"""

from __future__ import annotations

import math

import digits_models as dm
import numpy as np
import pytest
from tuning_helpers import Counter

from compressor.errors import ConfigError
from compressor.tuning import read_history


@pytest.mark.parametrize(
    ("value", "type_text"),
    [
        (float("nan"), "nan (float)"),
        (float("inf"), "inf (float)"),
        (np.float32("nan"), "nan (numpy.float32)"),
        ("0.9", "a str"),
        (None, "a NoneType"),
        (True, "a bool"),
        (np.array([0.9, 0.8]), "a numpy.ndarray of shape (2,)"),
        ({"accuracy": 0.9}, "a dict"),
    ],
    ids=["nan", "inf", "numpy-nan", "str", "None", "bool", "array", "dict"],
)
def test_a_baseline_that_is_not_a_finite_number_is_refused_before_any_trial(tune, mlp, tmp_path, value, type_text):
    counter = Counter(lambda m: value)
    with pytest.raises(ConfigError) as info:
        tune(mlp, strategy="basic", max_trials=5, eval_func=counter)
    text = str(info.value)
    assert text.startswith("eval_func: invalid value") and type_text in text
    assert "for the fp32 baseline" in text and "a finite real number" in text
    assert counter.calls == 1  # no trial was evaluated
    assert not (tmp_path / "ws" / "history.jsonl").exists()


def _f32_array(value):
    return np.array(value, dtype=np.float32)


@pytest.mark.parametrize(
    "wrap",
    [float, int, np.float32, np.float64, np.array, _f32_array],
    ids=["float", "int", "np.float32", "np.float64", "np.array", "np.array-float32"],
)
def test_real_numbers_of_any_numeric_type_are_accepted(tune, mlp, digits, wrap):
    wrapped = tune(mlp, strategy="basic", eval_func=lambda m: wrap(1000 * dm.accuracy(m, digits)))
    assert isinstance(wrapped.baseline_accuracy, float) and isinstance(wrapped.accuracy, float)
    assert wrapped.baseline_accuracy == float(wrap(1000 * dm.accuracy(mlp, digits)))


def test_a_nan_trial_is_a_recorded_failure_and_tuning_goes_on(tune, fragile, digits):
    calls = []

    def eval_func(model):
        calls.append(model)
        return math.nan if len(calls) == 2 else dm.accuracy(model, digits)  # the first trial breaks

    result = tune(fragile, strategy="basic", timeout=0, max_trials=30, eval_func=eval_func)
    first = result.trials[0]
    assert math.isnan(first.accuracy) and first.loss == math.inf and not first.met
    assert result.met_criterion and result.best_trial_index != 0
    recorded = read_history(result.history_path).trial(0)
    assert math.isnan(recorded.accuracy) and not recorded.met


def test_a_non_number_from_a_later_trial_is_refused_and_earlier_trials_are_kept(tune, fragile, digits, tmp_path):
    calls = []

    def eval_func(model):
        calls.append(model)
        return "0.9" if len(calls) == 4 else dm.accuracy(model, digits)

    with pytest.raises(ConfigError, match=r"invalid value '0\.9' \(eval_func\(model\) returned a str for trial 2"):
        tune(fragile, strategy="basic", timeout=3600, max_trials=10, eval_func=eval_func)
    assert len(read_history(tmp_path / "ws" / "history.jsonl").trials) == 2
