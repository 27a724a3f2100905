"""compressor.timing: the one timed loop (warmup untimed, then one perf_counter_ns per call)."""

from __future__ import annotations

import numpy as np
import pytest

from compressor import timing


def test_warmup_is_untimed_and_batches_cycle():
    calls: list = []
    barrier: list = []
    run = timing.timed_run(
        calls.append, ["a", "b", "c"], warmup=2, iterations=4, before_timing=lambda: barrier.append(len(calls))
    )
    assert calls == ["a", "b", "a", "b", "c", "a"]
    assert barrier == [2]  # released between warmup and the timed calls
    assert len(run.latencies_ns) == 4 and all(ns >= 0 for ns in run.latencies_ns)
    assert run.wall_ns >= sum(run.latencies_ns)
    assert run.samples_ms == [ns / 1e6 for ns in run.latencies_ns]


def test_time_calls_returns_ms_per_timed_call():
    calls: list = []
    samples = timing.time_calls(calls.append, 7, warmup=3, iterations=5)
    assert calls == [7] * 8 and len(samples) == 5 and all(isinstance(s, float) for s in samples)
    assert timing.time_calls(calls.append, 7, warmup=0, iterations=0) == []


def test_median_and_percentile_match_numpy():
    samples = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
    assert timing.median(samples) == 3.5
    for q in (0, 50, 90, 99, 100):
        assert timing.percentile(samples, q) == pytest.approx(float(np.percentile(samples, q)))
    with pytest.raises(ValueError):
        timing.percentile([], 50)
    with pytest.raises(ValueError):
        timing.median([])
