"""The accuracy criterion as arithmetic: how much worse a plan is than the fp32 baseline, and whether
that is tolerable.

All four combinations of ``criterion`` (relative/absolute) and ``higher_is_better`` go through one
``accuracy_loss``: a positive loss always means "worse than the baseline" in the criterion's units (a
fraction of the baseline for relative, metric units for absolute), so strategies can rank plans by loss
without knowing which direction the metric runs.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

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


ACCURACY_ALLOWED = "a finite real number (int, float, numpy scalar or 0-d array): the model's accuracy"


def as_accuracy(value: Any, where: str, *, finite: bool) -> float:
    """``eval_func``'s return value for ``where`` ("the fp32 baseline", "trial 3") as a float.

    Only real numbers are accepted (int, float, numpy scalars, 0-d arrays/tensors), never coerced: a
    string "0.9", None, a bool or an array is a bug in the evaluation, not an accuracy. ``finite`` (the
    baseline) also refuses NaN/inf: every loss against such a baseline is undefined, so no trial could
    ever be judged and the tuner would spend its whole budget. A trial's NaN/inf is returned as is: that
    plan broke the model, and the trial is recorded as failing (infinite loss, never "met").
    """
    number = value.item() if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)) else value
    if isinstance(number, bool) or not isinstance(number, numbers.Real):
        raise ConfigError(
            "eval_func",
            value,
            ACCURACY_ALLOWED,
            reason=f"eval_func(model) returned a {_type_name(value)} for {where}, not a number",
        )
    number = float(number)
    if finite and not math.isfinite(number):
        raise ConfigError(
            "eval_func",
            value,
            ACCURACY_ALLOWED,
            reason=f"eval_func(model) returned {number} ({_type_name(value)}) for {where}; every accuracy loss "
            "against a non-finite baseline is undefined, so no trial could be judged",
        )
    return number


def _type_name(value: Any) -> str:
    kind = type(value)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    shape = getattr(value, "shape", None)
    return f"{name} of shape {tuple(shape)}" if shape else name
