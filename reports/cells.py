"""Table cells as display strings: one em dash for every unknown value, one number format per column."""

from __future__ import annotations

import math

MISSING = "—"


def fmt(value: object, pattern: str) -> str:
    """``pattern.format(value)`` for a number; the em dash for None, NaN or anything not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return MISSING
    return MISSING if math.isnan(number) else pattern.format(number)


def text(value: object) -> str:
    """``str(value)``; the em dash for None, NaN and the empty string."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return str(value)
