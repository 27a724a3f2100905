"""``random``: seeded random plans over every knob and per-op choice (each op falls back to fp32 with a
per-plan probability drawn in [0, 1): a model with several culprits needs most ops in fp32 as often as a
model with one needs few). Never repeats a plan; stops when no new plan turns up."""

from __future__ import annotations

from collections.abc import Sequence

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from ..trial import Trial
from ._encoding import PlanEncoder
from .base import TuneStrategy

_ATTEMPTS = 1000


@register_strategy("random")
class RandomStrategy(TuneStrategy):
    stall_trials = 12  # it never runs out: after 12 trials without progress, the continuation searches

    def __init__(self, space, seed=0, options=None) -> None:
        super().__init__(space, seed, options)
        self.encoder = PlanEncoder(space)

    def propose(self, history: Sequence[Trial]) -> Plan | None:
        seen = {t.key for t in history}
        for _ in range(_ATTEMPTS):
            plan = self.encoder.decode(self.encoder.sample(self.rng, fallback_rate=float(self.rng.uniform(0.0, 1.0))))
            if plan.key not in seen and not plan.all_fp32:
                return plan
        return None
