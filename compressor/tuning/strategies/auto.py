"""``auto`` (the default): the cheapest likely-good plans first.

1. full int8 with the backend's best format and default knobs;
2. the same with per-channel weights (free at run time, often the whole fix);
3. the other SmoothQuant alphas (and no smoothing) on the best plan so far, when the recipe is on;
4. the other calibration methods on the best plan so far;
5. fp32 fallback of the ops ranked by op-output MSE (cumulative) from the best plan so far;
6. the rest of ``basic``'s sequence.

Knobs come before fallback because they keep every op int8 (the speed) and cost one trial each; on a
MiniLM classifier per-channel weights alone met a 1% criterion that ten fallbacks did not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ._steps import _with_preference, basic_sequence, cumulative_fallbacks, sensitivity_ranking
from .base import SequentialStrategy


@register_strategy("auto")
class AutoStrategy(SequentialStrategy):
    def candidates(self) -> Iterator[Plan]:
        default = self.space.default_plan()
        yield default
        yield _with_preference(self.space, default, {"weight_granularity": "per_channel"})
        base = self.best_plan()
        for alpha in self.space.smooth_quant_alphas:
            yield replace(base, smooth_quant_alpha=alpha)
        base = self.best_plan()
        for calibration in self.space.calibrations_for(base.approach):
            yield replace(base, calibration=calibration)
        base = self.best_plan()
        yield from cumulative_fallbacks(base, sensitivity_ranking(self, base))
        yield from basic_sequence(self)
