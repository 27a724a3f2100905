"""``exhaustive``: every plan of the space, nearest to the default plan first.

Plans are enumerated by how many choices differ from the full-int8 default (global knobs and per-op
choices, fp32 fallback included): the default, then every single change, then every pair, and so on
until the whole space is covered. ``max_trials`` bounds it (the space grows exponentially).

Coarse before fine: a model-wide option (every op's weights per-channel, say) is one choice, and so is the
set of ops left in fp32. The default's knob variants come right after the default, then its fallback sets
by size (every single op, every pair, ...), then the per-op enumeration. Counted per op, per-channel weights everywhere are as far from the default as
there are ops, beyond a 50-trial budget on a three-layer MLP whose only fix they were.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ._encoding import PlanEncoder
from ._steps import knob_variants
from .base import SequentialStrategy


@register_strategy("exhaustive")
class ExhaustiveStrategy(SequentialStrategy):
    def candidates(self) -> Iterator[Plan]:
        encoder = PlanEncoder(self.space)
        default = self.space.default_plan()
        yield default
        yield from knob_variants(self.space, default)
        # Which ops stay int8 is the coarse choice: every fallback set of the default, smallest first.
        tunable = self.space.tunable_ops(default.approach)
        for size in range(1, len(tunable)):
            for ops in itertools.combinations(tunable, size):
                yield default.with_fallback(*ops)
        origin = encoder.encode(default)
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
