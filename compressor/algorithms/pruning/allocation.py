"""How many units each op of one pruner loses at a pruning event: ``pruning_scope`` (numpy only).

Inputs per op: its unit scores (lower = less important; ``-inf`` marks units pruned earlier, which
always stay pruned), the elements one unit zeroes, and the op's element count.

- ``local``: every op is pruned to the scheduled sparsity on its own ranking.
  ``min_sparsity_ratio_per_op`` has no effect here (every op already gets the target).
- ``global``: units of all the pruner's ops are ranked together by their score *per element*
  (so channel units of different sizes compare fairly) and the lowest are pruned until the pruner's
  element sparsity reaches the scheduled value. Each op keeps at least ``1 - max_sparsity_ratio_per_op``
  of its weights and is pruned at least ``min(min_sparsity_ratio_per_op, scheduled)``, so the minimum
  ramps up with the schedule instead of jumping to its value at the first event.

Rounding: a unit is taken when at least half of it is still needed to reach the target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OpUnits:
    scores: np.ndarray  # one score per unit
    unit_size: int  # elements zeroed by pruning one unit
    numel: int  # elements of the op's weight


Allocator = Callable[[Sequence[OpUnits], float, float, float], list[np.ndarray]]
SCOPES: dict[str, Allocator] = {}


def register_scope(name: str) -> Callable[[Allocator], Allocator]:
    def register(fn: Allocator) -> Allocator:
        SCOPES[name] = fn
        return fn

    return register


def _count(ratio: float, op: OpUnits) -> int:
    return int(np.floor(ratio * op.numel / op.unit_size + 0.5))


def _bounds(op: OpUnits, low_ratio: float, max_ratio: float) -> tuple[int, int]:
    n_units = len(op.scores)
    upper = min(n_units, int(np.floor(max_ratio * op.numel / op.unit_size + 1e-9)))
    already = int(np.count_nonzero(np.isneginf(op.scores)))
    lower = max(min(_count(low_ratio, op), upper), already)
    return lower, max(upper, lower)


def _lowest(scores: np.ndarray, k: int) -> np.ndarray:
    pruned = np.zeros(len(scores), dtype=bool)
    pruned[np.argsort(scores, kind="stable")[:k]] = True
    return pruned


@register_scope("local")
def allocate_local(ops: Sequence[OpUnits], target: float, min_ratio: float, max_ratio: float) -> list[np.ndarray]:
    out = []
    for op in ops:
        lower, upper = _bounds(op, 0.0, max_ratio)
        out.append(_lowest(op.scores, min(max(_count(target, op), lower), upper)))
    return out


@register_scope("global")
def allocate_global(ops: Sequence[OpUnits], target: float, min_ratio: float, max_ratio: float) -> list[np.ndarray]:
    bounds = [_bounds(op, min(min_ratio, target), max_ratio) for op in ops]
    orders = [np.argsort(op.scores, kind="stable") for op in ops]
    forced = sum(lower * op.unit_size for (lower, _), op in zip(bounds, ops, strict=True))
    budget = target * sum(op.numel for op in ops) - forced

    # Candidates beyond each op's forced minimum and up to its maximum, ranked by score per element.
    cand_op, cand_rank, cand_score, cand_size = [], [], [], []
    for i, (op, (lower, upper), order) in enumerate(zip(ops, bounds, orders, strict=True)):
        ranks = np.arange(lower, upper)
        cand_op.append(np.full(len(ranks), i))
        cand_rank.append(ranks)
        cand_score.append(op.scores[order[ranks]] / op.unit_size)
        cand_size.append(np.full(len(ranks), op.unit_size))
    counts = [lower for lower, _ in bounds]
    if cand_op:
        which = np.concatenate(cand_op)
        sizes = np.concatenate(cand_size)
        ranking = np.argsort(np.concatenate(cand_score), kind="stable")
        needed = np.cumsum(sizes[ranking]) - sizes[ranking] / 2 <= budget
        for i in which[ranking][needed]:
            counts[i] += 1
    return [
        _lowest(op.scores, k) if k else np.zeros(len(op.scores), dtype=bool) for op, k in zip(ops, counts, strict=True)
    ]
