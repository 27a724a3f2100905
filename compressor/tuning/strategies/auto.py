"""``auto`` (the default): the cheapest likely-good plans first.

1. the backend's first plan for this model: full int8 with its best format and default knobs, or its preset
   for the model type (ONNX Runtime: a transformer's linears in dynamic int8, per-channel weights);
2. the same with per-channel weights (free at run time, often the whole fix);
3. the other SmoothQuant alphas (and no smoothing) on the best plan so far, when the recipe is on;
4. the other calibration methods on the best plan so far;
5. each small group of ops with one role (the backend's ``op_groups``: a transformer's Q·Kᵀ or softmax·V
   MatMuls) one step down, then those groups together, from the best plan so far;
6. the ops ranked by op-output MSE moved one step down, cumulatively, from the best plan so far: a static
   int8 op to dynamic int8 where the backend offers it (ONNX Runtime's MatMul/Gemm), else to fp32; the
   number of ops grows x1.5 per trial (``smallest_prefix``), so 49 ops take ~10 trials, not 49;
7. the same ranked ops in fp32 (when step 6 had dynamic demotions to make), growing the same way;
8. the rest of ``basic``'s sequence.

Dynamic int8 comes before fp32 because it keeps the weights int8 and drops only the calibrated activation
range, the usual culprit. Knobs come before fallback because they keep every op int8 (the speed) and cost
one trial each; on a MiniLM classifier per-channel weights alone met a 1% criterion that ten fallbacks did
not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ._steps import (
    _with_preference,
    basic_sequence,
    can_demote_to_dynamic,
    demoted,
    group_steps,
    sensitivity_ranking,
    smallest_prefix,
)
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
        yield from group_steps(self.space, base)
        base = self.best_plan()
        ranked = sensitivity_ranking(self, base)
        if can_demote_to_dynamic(self.space, base):
            yield from smallest_prefix(self, lambda k: demoted(self.space, base, ranked[:k]), len(ranked))
        yield from smallest_prefix(self, lambda k: base.with_fallback(*ranked[:k]), len(ranked))
        yield from basic_sequence(self)
