"""``mse_v2``: like ``mse`` but re-ranks after every fallback (the drift of the remaining ops changes
once the worst one is fp32). Once a plan meets the criterion, it tries to quantize the fallen-back ops
again, latest first, keeping each one that still meets (INC's mse_v2)."""

from __future__ import annotations

from collections.abc import Iterator

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ._steps import sensitivity_ranking
from .base import SequentialStrategy


@register_strategy("mse_v2")
class MSEv2Strategy(SequentialStrategy):
    def candidates(self) -> Iterator[Plan]:
        default = self.space.default_plan()
        current = default
        yield current
        fallen: list[str] = []
        while not self.met(current):
            ranked = sensitivity_ranking(self, current)
            if not ranked:
                return
            fallen.append(ranked[0])
            current = current.with_fallback(ranked[0])
            if current.all_fp32:
                return
            yield current
        for op in reversed(fallen[:-1] if len(fallen) > 1 else []):
            candidate = current.with_ops(**{op: default.ops[op]})
            yield candidate
            if self.met(candidate):
                current = candidate
