"""Benchmark results: per-instance and aggregate throughput and latency percentiles."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Latency:
    """Milliseconds per timed iteration (one batch)."""

    median: float
    p90: float
    p99: float
    mean: float

    @classmethod
    def from_ns(cls, latencies_ns: Any) -> Latency:
        ms = np.asarray(latencies_ns, dtype=np.float64) / 1e6
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        return cls(float(p50), float(p90), float(p99), float(ms.mean()))


@dataclass(frozen=True)
class InstanceResult:
    """One instance: the cores it actually ran on, how they were pinned, its threads and timings."""

    instance: int
    cpus: tuple[int, ...]
    pinning_method: str
    threads: dict[str, int | None]
    latency_ms: Latency
    throughput: float  # samples per second over the timed loop's wall time
    iterations: int
    samples: int
    wall_s: float

    @classmethod
    def from_report(cls, instance: int, method: str, report: dict[str, Any]) -> InstanceResult:
        wall_s = report["wall_ns"] / 1e9
        return cls(
            instance=instance,
            cpus=tuple(report["cpus"]),
            pinning_method=method,
            threads=dict(report["threads"]),
            latency_ms=Latency.from_ns(report["latencies_ns"]),
            throughput=report["samples"] / wall_s if wall_s > 0 else float("inf"),
            iterations=len(report["latencies_ns"]),
            samples=int(report["samples"]),
            wall_s=wall_s,
        )


@dataclass(frozen=True)
class BenchmarkResult:
    """What ``benchmark.fit`` measured; ``throughput`` sums the instances, latency spans all their iterations."""

    framework: str
    pinning: str  # "numactl" | "sched_setaffinity" | "none"
    instances: tuple[InstanceResult, ...]
    throughput: float
    latency_ms: Latency
    warmup: int
    batch_size: int
    warnings: tuple[str, ...] = field(default=())

    @classmethod
    def aggregate(
        cls,
        framework: str,
        pinning: str,
        instances: list[InstanceResult],
        all_latencies_ns: list[Any],
        warmup: int,
        batch_size: int,
        warnings: list[str],
    ) -> BenchmarkResult:
        return cls(
            framework=framework,
            pinning=pinning,
            instances=tuple(instances),
            throughput=float(sum(i.throughput for i in instances)),
            latency_ms=Latency.from_ns(np.concatenate([np.asarray(x, dtype=np.int64) for x in all_latencies_ns])),
            warmup=warmup,
            batch_size=batch_size,
            warnings=tuple(warnings),
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        lines = [
            f"{self.framework}: {len(self.instances)} instance(s), pinning={self.pinning}, batch={self.batch_size}",
            f"  throughput {self.throughput:.1f} samples/s; latency ms median {self.latency_ms.median:.3f} "
            f"p90 {self.latency_ms.p90:.3f} p99 {self.latency_ms.p99:.3f}",
        ]
        for i in self.instances:
            lines.append(
                f"  #{i.instance} cpus={','.join(map(str, i.cpus)) or '?'} threads={i.threads} "
                f"{i.throughput:.1f} samples/s, median {i.latency_ms.median:.3f} ms, {i.iterations} iterations"
            )
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)
