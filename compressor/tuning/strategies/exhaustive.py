"""``exhaustive``: every plan of the space, nearest to the default plan first.

Plans are enumerated by how many choices differ from the full-int8 default (global knobs and per-op
choices, fp32 fallback included): the default, then every single change, then every pair, and so on
until the whole space is covered. ``max_trials`` bounds it (the space grows exponentially).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ._encoding import PlanEncoder
from .base import SequentialStrategy


@register_strategy("exhaustive")
class ExhaustiveStrategy(SequentialStrategy):
    def candidates(self) -> Iterator[Plan]:
        encoder = PlanEncoder(self.space)
        origin = encoder.encode(self.space.default_plan())
        dims = [d for d, size in enumerate(encoder.sizes) if size > 1]
        for distance in range(len(dims) + 1):
            for changed in itertools.combinations(dims, distance):
                others = [[v for v in range(encoder.sizes[d]) if v != origin[d]] for d in changed]
                for values in itertools.product(*others):
                    codes = list(origin)
                    for d, v in zip(changed, values, strict=True):
                        codes[d] = v
                    plan = encoder.decode(codes)
                    if not plan.all_fp32:
                        yield plan
