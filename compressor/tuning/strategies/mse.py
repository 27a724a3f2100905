"""``mse``: rank ops once by how far their int8 output drifts from fp32 (op-output MSE on a calibration
batch, computed for the full-int8 plan) and fall back the worst first, cumulatively."""

from __future__ import annotations

from collections.abc import Iterator

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ._steps import cumulative_fallbacks, sensitivity_ranking
from .base import SequentialStrategy


@register_strategy("mse")
class MSEStrategy(SequentialStrategy):
    def candidates(self) -> Iterator[Plan]:
        default = self.space.default_plan()
        yield default
        yield from cumulative_fallbacks(default, sensitivity_ranking(self, default))
