"""``basic``: full int8 with default knobs, one-knob variants, per-op fp32 fallback one op at a time on
the best variant, then the fallbacks that helped most accumulated (INC's basic strategy)."""

from __future__ import annotations

from collections.abc import Iterator

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ._steps import basic_sequence
from .base import SequentialStrategy


@register_strategy("basic")
class BasicStrategy(SequentialStrategy):
    def candidates(self) -> Iterator[Plan]:
        yield from basic_sequence(self)
