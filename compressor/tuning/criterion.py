"""The accuracy criterion as arithmetic: how much worse a plan is than the fp32 baseline, and whether
that is tolerable.

All four combinations of ``criterion`` (relative/absolute) and ``higher_is_better`` go through one
``accuracy_loss``: a positive loss always means "worse than the baseline" in the criterion's units (a
fraction of the baseline for relative, metric units for absolute), so strategies can rank plans by loss
without knowing which direction the metric runs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import AccuracyCriterion


# Float noise must not flip a plan that sits exactly on the tolerance (0.99 vs 1 - 0.01).
_EPS = 1e-12


def accuracy_loss(baseline: float, accuracy: float, criterion: AccuracyCriterion) -> float:
    """How much worse ``accuracy`` is than ``baseline``; negative when it is better.

    Relative losses are fractions of ``|baseline|``; a zero baseline falls back to the absolute
    difference (a relative loss of a zero metric is undefined, and "no worse than 0" is what users mean).
    A non-finite accuracy is infinitely bad.
    """
    accuracy = float(accuracy)
    baseline = float(baseline)
    if not math.isfinite(accuracy):
        return math.inf
    diff = baseline - accuracy if criterion.higher_is_better else accuracy - baseline
    if criterion.criterion == "relative" and baseline != 0:
        return diff / abs(baseline)
    return diff


def meets(baseline: float, accuracy: float, criterion: AccuracyCriterion) -> bool:
    """True when ``accuracy`` is within ``criterion.tolerable_loss`` of ``baseline``."""
    return accuracy_loss(baseline, accuracy, criterion) <= criterion.tolerable_loss + _EPS


def describe(criterion: AccuracyCriterion) -> str:
    """``relative loss <= 1.00%`` / ``absolute loss <= 0.5`` (with the metric's direction)."""
    direction = "" if criterion.higher_is_better else ", lower is better"
    if criterion.criterion == "relative":
        return f"relative loss <= {100 * criterion.tolerable_loss:.2f}%{direction}"
    return f"absolute loss <= {criterion.tolerable_loss:g}{direction}"


def format_loss(loss: float, criterion: AccuracyCriterion) -> str:
    if criterion.criterion == "relative":
        return f"{100 * loss:.2f}%"
    return f"{loss:.4g}"
