"""``auto`` (the default): the cheapest likely-good plans first. Full int8 with the backend's best
format and default knobs, then the other SmoothQuant alphas when the recipe is on, then fp32 fallback
of the ops ranked by op-output MSE (cumulative), and finally the rest of ``basic``'s sequence."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ._steps import basic_sequence, cumulative_fallbacks, sensitivity_ranking
from .base import SequentialStrategy


@register_strategy("auto")
class AutoStrategy(SequentialStrategy):
    def candidates(self) -> Iterator[Plan]:
        default = self.space.default_plan()
        yield default
        for alpha in self.space.smooth_quant_alphas[1:]:
            yield replace(default, smooth_quant_alpha=alpha)
        base = self.best_trial() or self.result(default)
        base_plan = base.plan if base is not None else default
        yield from cumulative_fallbacks(base_plan, sensitivity_ranking(self, base_plan))
        yield from basic_sequence(self)
