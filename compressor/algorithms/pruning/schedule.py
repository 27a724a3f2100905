"""When to prune and how sparse: the step schedule of one pruner (no framework import).

Steps are *global* training steps counted by the component (one per ``on_step_begin`` call), never
the loop's ``step`` argument, which the seed-001 loops reset every epoch.

Pruning events fall on ``start_step + k * pruning_frequency`` up to ``end_step``, plus ``end_step``
itself when the grid misses it, so the target is always reached exactly at ``end_step``.
``start_step == end_step`` is one-shot pruning at that step. At an event the scheduled sparsity is
``decay(target, progress)`` with ``progress = (step - start) / (end - start)``; the shapes follow
Intel Neural Compressor's ``IterativeScheduler`` (all start at 0 and end at the target; midway at
target 0.8 they give cube 0.10 < cos 0.23 < linear 0.40 < exp 0.55):

- ``linear``: ``target * p``
- ``cos``:    ``target * (1 - cos(p * pi / 2))``          (slow start)
- ``cube``:   ``target * p**3``                            (slowest start)
- ``exp``:    ``1 - (1 - target) ** p``                    (fast start: density shrinks geometrically)

The first event (progress 0) therefore prunes nothing in iterative mode, exactly as in INC.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

DecayFn = Callable[[float, float], float]

DECAYS: dict[str, DecayFn] = {}


def register_decay(name: str) -> Callable[[DecayFn], DecayFn]:
    def register(fn: DecayFn) -> DecayFn:
        DECAYS[name] = fn
        return fn

    return register


@register_decay("linear")
def _linear(target: float, progress: float) -> float:
    return target * progress


@register_decay("cos")
def _cos(target: float, progress: float) -> float:
    return target * (1.0 - math.cos(progress * math.pi / 2))


@register_decay("cube")
def _cube(target: float, progress: float) -> float:
    return target * progress**3


@register_decay("exp")
def _exp(target: float, progress: float) -> float:
    return 1.0 - (1.0 - target) ** progress


#: sub-steps that ``snip_momentum_progressive`` spreads each event's new pruning over (INC uses 4)
PROGRESSIVE_STEPS = 4


@dataclass(frozen=True)
class Schedule:
    target: float
    start: int
    end: int
    frequency: int
    decay: str

    @property
    def one_shot(self) -> bool:
        return self.start == self.end

    def events(self) -> list[int]:
        steps = list(range(self.start, self.end + 1, self.frequency))
        if steps[-1] != self.end:
            steps.append(self.end)
        return steps

    def is_event(self, step: int) -> bool:
        if step < self.start or step > self.end:
            return False
        return step == self.end or (step - self.start) % self.frequency == 0

    def sparsity_at(self, step: int) -> float:
        """The sparsity an event at ``step`` prunes to (0 before ``start``, the target from ``end``)."""
        if step >= self.end:
            return self.target
        if step < self.start:
            return 0.0
        progress = (step - self.start) / (self.end - self.start)
        return min(self.target, DECAYS[self.decay](self.target, progress))

    def progressive_interval(self) -> int | None:
        """Steps between progressive sub-steps, or None when progressive pruning degenerates to plain
        pruning (INC: too short a pruning window or a frequency below 2)."""
        if self.end - self.start <= PROGRESSIVE_STEPS or self.frequency < 2:
            return None
        return max(1, self.frequency // PROGRESSIVE_STEPS)

    def progressive_parts(self) -> int:
        interval = self.progressive_interval()
        return 1 if interval is None else min(PROGRESSIVE_STEPS, self.frequency // interval)
