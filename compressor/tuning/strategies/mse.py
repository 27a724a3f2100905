"""``mse``: rank ops once by how far their int8 output drifts from fp32 (op-output MSE on a calibration
batch, computed for the full-int8 plan) and fall back the worst first, cumulatively. Where the backend can
run an op of a static plan in dynamic int8 (ONNX Runtime's MatMul/Gemm), the ranked ops go there first
(cumulatively, the same order), then to fp32: the cheapest precision that restores accuracy."""

from __future__ import annotations

from collections.abc import Iterator

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ._steps import can_demote_to_dynamic, cumulative_fallbacks, demoted, sensitivity_ranking
from .base import SequentialStrategy


@register_strategy("mse")
class MSEStrategy(SequentialStrategy):
    def candidates(self) -> Iterator[Plan]:
        default = self.space.default_plan()
        yield default
        ranked = sensitivity_ranking(self, default)
        if can_demote_to_dynamic(self.space, default):
            yield from (demoted(self.space, default, ranked[:k]) for k in range(1, len(ranked) + 1))
        yield from cumulative_fallbacks(default, ranked)
