"""Pareto front of (speedup, accuracy loss): faster is better, lower loss is better."""

from __future__ import annotations

import math
from collections.abc import Sequence


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated ``(speedup, loss)`` points, sorted by increasing speedup.

    A point is dominated when another is at least as fast and at least as accurate and strictly
    better in one of the two. NaN points are never on the front; exact duplicates all stay on it.
    """
    valid = [i for i, (s, loss) in enumerate(points) if not (math.isnan(s) or math.isnan(loss))]
    front = []
    for i in valid:
        si, li = points[i]
        dominated = any(
            points[j][0] >= si and points[j][1] <= li and (points[j][0] > si or points[j][1] < li) for j in valid
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], -points[i][1]))
