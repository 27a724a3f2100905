"""What the tuner runs when a strategy has no more plans but the criterion is unmet and budget is left.

Every strategy's own heuristic covers part of the space (``mse`` only fallbacks in its ranked order,
``conservative`` only op groups...). A tool that stops there with trials to spare leaves the answer
untried: on a small MLP with weight outliers ``mse`` stopped after 3 of 50 trials while per-channel
weights alone met the criterion. This continuation searches the rest of the space, cheapest first, from
the best plan found so far:

0. each small group of ops with one role (``_steps.group_steps``) one step down, then those groups together;
1. alternately, the knob variants of the best plan (calibration method, format, SmoothQuant alpha, weight
   granularity and schemes, the other approach: each keeps every op int8) and 2. the ops still quantized in
   the best plan, ranked by op-output MSE, first one step down (static int8 to dynamic int8 where the backend
   offers it; x1.5 more ops per trial), then in fp32, cumulatively;
3. ``basic``'s whole sequence (knob variants of the default, every single-op fallback, then those that
   helped most accumulated);
4. hill climbing: the knob variants, single-op demotions and single-op fallbacks of whichever plan is best now, again and
   again while that yields an untried plan;
5. every set of fp32 ops on the best plan's knobs, fewest first (``fallback_sets``).

It ends when a plan meets the criterion (the tuner stops asking), the budget ends, or step 5 has
enumerated every fallback set: the space reachable from the best plan is exhausted. Deterministic in the
history, so a resumed run takes the same path.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...algorithms.ptq.algorithm import Plan
from ._steps import (
    basic_sequence,
    can_demote_to_dynamic,
    cumulative_fallbacks,
    demoted,
    fallback_sets,
    group_steps,
    knob_variants,
    sensitivity_ranking,
    single_fallbacks,
    smallest_prefix,
)
from .base import SequentialStrategy


class ContinueSearch(SequentialStrategy):
    """Not registered: the tuner appends it to any strategy that ends early (see the module docstring)."""

    def candidates(self) -> Iterator[Plan]:
        base = self.best_plan()
        yield from group_steps(self.space, base)
        base = self.best_plan()
        knobs = knob_variants(self.space, base)
        fallbacks = self._ranked_steps(base) if base.quantized_ops else iter(())
        # Alternated: a knob variant keeps every op int8 (the whole fix on a weight outlier), a ranked fallback
        # removes a culprit (the fix on activation outliers); either may be the one the budget has room for.
        yield from _alternate(knobs, fallbacks)
        yield from basic_sequence(self)
        while True:
            base = self.best_plan()
            fresh = [p for p in self._neighbours(base) if self.result(p) is None]
            if not fresh:
                break
            yield from fresh
        # Hill climbing only moves down; a plan that needs one op back in int8 and another out is not a
        # neighbour of any plan tried (4 ops, 3 culprits: the best plan kept the wrong op int8).
        yield from fallback_sets(self.space, self.best_plan())

    def _ranked_steps(self, base: Plan) -> Iterator[Plan]:
        """The ranked ops one step down (dynamic int8 where offered), then in fp32, cumulatively."""
        ranked = sensitivity_ranking(self, base)
        if can_demote_to_dynamic(self.space, base):
            yield from smallest_prefix(self, lambda k: demoted(self.space, base, ranked[:k]), len(ranked))
        yield from cumulative_fallbacks(base, ranked)

    def _neighbours(self, base: Plan) -> list[Plan]:
        singles = [plan for _, plan in single_fallbacks(self.space, base)]
        steps = [demoted(self.space, base, [op]) for op in base.quantized_ops]
        return [*knob_variants(self.space, base), *steps, *singles]


def _alternate(*sources: Iterator[Plan]) -> Iterator[Plan]:
    """One plan from each source in turn until all are exhausted."""
    pending = [iter(source) for source in sources]
    while pending:
        for source in list(pending):
            plan = next(source, None)
            if plan is None:
                pending.remove(source)
            else:
                yield plan
