"""``conservative``: accuracy first. Start from fp32 and quantize op groups (ops of one type, the largest
group first) back while the criterion holds. A group that breaks it is thinned greedily: drop the op
whose fp32 fallback helps most until the group fits.

Because it grows from fp32, its first passing plan can leave many ops in fp32; with ``timeout > 0`` it
keeps adding groups and the tuner picks the best passing plan for the objective.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...algorithms.ptq.algorithm import Plan
from ..registry import register_strategy
from .base import SequentialStrategy


@register_strategy("conservative")
class ConservativeStrategy(SequentialStrategy):
    def groups(self) -> list[list[str]]:
        approach = self.space.approaches[0]
        by_type: dict[str, list[str]] = {}
        for choice in self.space.ops:
            if choice.tunable(approach):
                by_type.setdefault(choice.op.op_type, []).append(choice.name)
        order = list(by_type)
        return sorted(by_type.values(), key=lambda ops: (-len(ops), order.index(self.space.op(ops[0]).op.op_type)))

    def candidates(self) -> Iterator[Plan]:
        accepted: list[str] = []
        for group in self.groups():
            plan = self.space.plan(quantize=accepted + group)
            yield plan
            if self.met(plan):
                accepted += group
                continue
            current = list(group)
            while len(current) > 1:
                tries = [(op, self.space.plan(quantize=accepted + [o for o in current if o != op])) for op in current]
                for _, candidate in tries:
                    yield candidate
                passing = [(op, c) for op, c in tries if self.met(c)]
                if passing:
                    op = min(passing, key=lambda item: self.loss_of(item[1]))[0]
                    accepted += [o for o in current if o != op]
                    break
                # Sorted is stable: equal losses drop the earliest op first.
                op = min(tries, key=lambda item: self.loss_of(item[1]))[0]
                current.remove(op)
            else:
                single = self.space.plan(quantize=accepted + current)
                yield single
                if self.met(single):
                    accepted += current
