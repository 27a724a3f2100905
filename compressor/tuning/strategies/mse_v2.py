"""``mse_v2``: like ``mse`` but re-ranks after every fallback (the drift of the remaining ops changes
once the worst one is fp32). Once a plan meets the criterion, it tries to quantize the fallen-back ops
again, latest first, keeping each one that still meets (INC's mse_v2). Each step moves the worst op one
step down: to dynamic int8 where the backend offers it in a static plan, else (or if it is dynamic
already) to fp32."""

from __future__ import annotations

from collections.abc import Iterator

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ._steps import demoted, sensitivity_ranking
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
            # cheapest first: an op already stepped down to dynamic int8 goes to fp32 only when no static op is left
            ranked = [op for op in ranked if demoted(self.space, current, [op]).ops[op].dynamic] or ranked
            fallen.append(ranked[0])
            current = demoted(self.space, current, ranked[:1])
            if current.all_fp32:
                return
            yield current
        for op in reversed(list(dict.fromkeys(fallen[:-1]))):  # an op may have stepped down twice
            candidate = current.with_ops(**{op: default.ops[op]})
            yield candidate
            if self.met(candidate):
                current = candidate
