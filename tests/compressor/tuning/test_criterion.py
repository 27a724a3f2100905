"""``meets`` / ``accuracy_loss``: relative and absolute criteria, both metric directions."""

from __future__ import annotations

import math

import pytest

from compressor.config import AccuracyCriterion
from compressor.tuning import accuracy_loss, meets


@pytest.mark.parametrize(
    ("criterion", "higher_is_better", "tolerable", "baseline", "passing", "failing"),
    [
        ("relative", True, 0.01, 0.80, 0.7921, 0.7919),  # may lose 1% of 0.80 = 0.008
        ("relative", False, 0.01, 2.00, 2.0199, 2.0201),  # a loss metric may rise by 1% of 2.00
        ("absolute", True, 0.02, 0.80, 0.7801, 0.7799),
        ("absolute", False, 0.02, 2.00, 2.0199, 2.0201),
    ],
)
def test_four_combinations(criterion, higher_is_better, tolerable, baseline, passing, failing):
    rule = AccuracyCriterion(criterion=criterion, higher_is_better=higher_is_better, tolerable_loss=tolerable)
    assert meets(baseline, passing, rule)
    assert not meets(baseline, failing, rule)
    # Better than the baseline always passes, with a negative loss.
    better = baseline + 0.1 if higher_is_better else baseline - 0.1
    assert meets(baseline, better, rule)
    assert accuracy_loss(baseline, better, rule) < 0


def test_exact_boundary_passes_despite_float_rounding():
    rule = AccuracyCriterion(tolerable_loss=0.01)
    assert meets(1.0, 0.99, rule)
    assert meets(0.7, 0.7 * (1 - 0.01), rule)


def test_relative_loss_uses_the_magnitude_of_a_negative_baseline():
    rule = AccuracyCriterion(criterion="relative", tolerable_loss=0.1)  # e.g. a negative log-likelihood score
    assert accuracy_loss(-2.0, -2.1, rule) == pytest.approx(0.05)
    assert meets(-2.0, -2.1, rule)
    assert not meets(-2.0, -2.3, rule)


def test_zero_baseline_and_non_finite_accuracy():
    rule = AccuracyCriterion(tolerable_loss=0.01)
    assert meets(0.0, 0.0, rule)
    assert accuracy_loss(0.0, -0.005, rule) == pytest.approx(0.005)  # absolute difference for a zero baseline
    assert accuracy_loss(0.9, math.nan, rule) == math.inf
    assert not meets(0.9, math.nan, rule)
