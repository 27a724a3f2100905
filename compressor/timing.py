"""The one timed loop behind every latency compressor reports (public API, framework-free).

``fn`` is called on the batches in turn: ``warmup`` times untimed (lazy compilation, caches, thread
pools starting), then ``iterations`` times, each call timed alone with ``time.perf_counter_ns``.
Everything a framework needs (inference mode, thread counts, tensors made from numpy) is set up by the
caller before the loop, so a timed iteration is the call and two clock reads.

    from compressor.timing import time_calls, median, percentile
    samples = time_calls(lambda x: session.run(None, x), feed, warmup=3, iterations=20)   # ms per call
    median(samples), percentile(samples, 90)
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TimedRun", "median", "percentile", "time_calls", "timed_run"]


@dataclass(frozen=True)
class TimedRun:
    """Nanoseconds of each timed call, and of the whole timed loop (``wall_ns``, for throughput)."""

    latencies_ns: list[int]
    wall_ns: int

    @property
    def samples_ms(self) -> list[float]:
        return [ns / 1e6 for ns in self.latencies_ns]


def timed_run(
    fn: Callable[[Any], Any],
    batches: Sequence[Any],
    *,
    warmup: int,
    iterations: int,
    before_timing: Callable[[], None] | None = None,
) -> TimedRun:
    """``fn(batches[i % len(batches)])``: ``warmup`` calls untimed, then ``before_timing()`` (e.g. a
    barrier that starts several processes together), then ``iterations`` timed calls."""
    n = len(batches)
    clock = time.perf_counter_ns
    for i in range(warmup):
        fn(batches[i % n])
    if before_timing is not None:
        before_timing()
    latencies = [0] * iterations
    start = clock()
    for i in range(iterations):
        batch = batches[i % n]
        t0 = clock()
        fn(batch)
        latencies[i] = clock() - t0
    return TimedRun(latencies, clock() - start)


def time_calls(fn: Callable[[Any], Any], batch: Any, *, warmup: int = 3, iterations: int = 20) -> list[float]:
    """Milliseconds of each of ``iterations`` timed calls ``fn(batch)``, after ``warmup`` untimed ones."""
    return timed_run(fn, [batch], warmup=warmup, iterations=iterations).samples_ms


def median(samples: Sequence[float]) -> float:
    """The median (``statistics.median``); an empty sequence is a ``ValueError``."""
    return float(statistics.median(samples))


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linearly interpolated as ``numpy.percentile``'s default."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within [0, 100], got {q}")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo))
