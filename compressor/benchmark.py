"""``benchmark.fit``: throughput and latency of a model, in this process or as pinned parallel instances.

    from compressor import benchmark
    from compressor.config import BenchmarkConfig
    result = benchmark.fit(model, BenchmarkConfig(warmup=5, iteration=100, cores_per_instance=1,
                                                  num_of_instance=2), b_dataloader=loader)
    print(result.summary())

Nothing re-runs the user's script, so it works from a notebook. One instance is measured in this process
(threads limited, not pinned). Several instances each get a worker process pinned to its own cores with
``numactl --physcpubind`` (or ``os.sched_setaffinity`` when numactl is missing — reported in ``pinning``
and ``warnings``); all warm up, then start measuring together. The result names the cores each instance
actually ran on, read from the kernel.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import backends
from .backends.batches import split_batch
from .config import BenchmarkConfig
from .errors import ConfigError
from .multi_instance.launch import export_model, run_workers, save_batches
from .multi_instance.runners import PREPARERS, timed_loop
from .multi_instance.stats import BenchmarkResult, InstanceResult, Latency
from .pinning import available_cpus, cpus_allowed, format_cpu_list, pinning_method, plan_cores

log = logging.getLogger(__name__)

__all__ = ["BenchmarkResult", "InstanceResult", "Latency", "fit"]


def fit(
    model: Any,
    config: BenchmarkConfig | None = None,
    b_dataloader: Iterable[Any] | None = None,
    b_func: Any = None,
    *,
    conf: BenchmarkConfig | None = None,
    allow_oversubscription: bool = False,
    timeout_s: float = 600.0,
) -> BenchmarkResult:
    """Measure ``model`` on the batches of ``b_dataloader`` as ``config`` says; never returns None.

    ``conf=`` is accepted as the real 2.x releases spell it; ``config`` wins when both are given.
    ``allow_oversubscription=True`` lets cores_per_instance × num_of_instance exceed the cores available
    (instances then share cores, assigned round-robin). ``timeout_s`` bounds each worker's warmup and run.
    """
    config = config or conf or BenchmarkConfig()
    if b_func is not None:
        raise ConfigError(
            "b_func", b_func, "None", reason="custom benchmark functions are not supported; pass b_dataloader="
        )
    framework = backends.detect_framework(model)
    basics = backends.basics(framework)
    if isinstance(model, Path):
        model = str(model)
    batches = _collect_batches(b_dataloader, config.iteration, basics.input_count(model))
    iterations = len(batches) if config.iteration == -1 else config.iteration
    cores = plan_cores(config.cores_per_instance, config.num_of_instance, allow_oversubscription)
    warnings: list[str] = []
    wanted, available = sum(len(c) for c in cores), available_cpus()
    if wanted > len(available):
        warnings.append(f"oversubscribed: {wanted} cores requested, {len(available)} available; instances share cores")
    if len(cores) == 1:
        return _in_process(framework, model, batches, config, iterations, warnings)
    return _instances(framework, model, batches, config, iterations, cores, warnings, timeout_s)


def _collect_batches(loader: Iterable[Any] | None, iteration: int, arity: int | None) -> list[tuple]:
    if loader is None:
        raise ConfigError("b_dataloader", None, "a dataloader of input batches")
    batches = []
    for item in loader:
        inputs, _ = split_batch(item, arity=arity)
        batches.append(inputs)
        if iteration != -1 and len(batches) >= iteration:
            break  # later batches would never be timed
    if not batches:
        raise ConfigError("b_dataloader", loader, "a dataloader that yields at least one batch", reason="it is empty")
    return batches


def _in_process(
    framework: str, model: Any, batches: list, config: BenchmarkConfig, iterations: int, warnings: list[str]
) -> BenchmarkResult:
    intra = config.intra_num_of_threads or config.cores_per_instance
    if config.cores_per_instance and config.cores_per_instance < len(available_cpus()):
        warnings.append(
            f"num_of_instance=1 runs in this process without pinning; cores_per_instance={config.cores_per_instance} "
            f"only limits threads (the process may run on cores {format_cpu_list(available_cpus())})"
        )
    prepared = PREPARERS[framework](model, batches, intra, config.inter_num_of_threads)
    try:
        report = timed_loop(prepared, config.warmup, iterations)
    finally:
        prepared.restore()
    warnings.extend(prepared.warnings)
    report["cpus"] = cpus_allowed()
    instance = InstanceResult.from_report(0, "none", report)
    return _finish(framework, "none", [instance], [report], config, batches, warnings)


def _instances(
    framework: str,
    model: Any,
    batches: list,
    config: BenchmarkConfig,
    iterations: int,
    cores: list[list[int]],
    warnings: list[str],
    timeout_s: float,
) -> BenchmarkResult:
    method, why = pinning_method()
    if why:
        warnings.append(
            f"PINNING FALLBACK: {why}; each instance pinned itself with os.sched_setaffinity at start "
            "instead of numactl --physcpubind (install numactl for pinning before the interpreter starts)"
        )  # pinning_method logged it already
    with tempfile.TemporaryDirectory(prefix="compressor-bench-") as tmp:
        folder = Path(tmp)
        model_path = export_model(framework, model, batches[0], folder)
        batches_path = save_batches(batches, folder / "batches.npz")
        specs = [
            {
                "framework": framework,
                "model": model_path,
                "batches": batches_path,
                "warmup": config.warmup,
                "iterations": iterations,
                "intra": config.intra_num_of_threads or len(cpus),
                "inter": config.inter_num_of_threads,
                "cpus": cpus,
                "affinity": cpus if method == "sched_setaffinity" else None,
                "result": str(folder / f"result{i}.json"),
            }
            for i, cpus in enumerate(cores)
        ]
        reports = run_workers(specs, method, folder, timeout_s)
    instances = []
    for i, (report, cpus) in enumerate(zip(reports, cores, strict=True)):
        if sorted(report["cpus"]) != sorted(set(cpus)):
            warnings.append(f"instance {i} asked for cores {format_cpu_list(cpus)} but ran on {report['cpus']}")
        warnings.extend(f"instance {i}: {w}" for w in report.get("warnings", []))
        instances.append(InstanceResult.from_report(i, method, report))
    return _finish(framework, method, instances, reports, config, batches, warnings)


def _finish(
    framework: str,
    pinning: str,
    instances: list[InstanceResult],
    reports: list[dict],
    config: BenchmarkConfig,
    batches: list,
    warnings: list[str],
) -> BenchmarkResult:
    first = batches[0][0]
    result = BenchmarkResult.aggregate(
        framework,
        pinning,
        instances,
        [r["latencies_ns"] for r in reports],
        config.warmup,
        int(first.shape[0]) if first.ndim else 1,
        warnings,
    )
    log.info("%s", result.summary())
    return result
