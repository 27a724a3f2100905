"""Which cores each benchmark instance gets, and how the pinning is applied.

``numactl --physcpubind`` pins before the worker's interpreter starts, so every thread it later creates
(OpenMP, ONNX Runtime pools) inherits the mask. Without numactl the worker calls
``os.sched_setaffinity`` itself first thing, before importing a framework — nearly as good, and reported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..errors import ConfigError


def available_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def parse_cpu_list(text: str) -> list[int]:
    """``"0-2,5"`` -> ``[0, 1, 2, 5]`` (the kernel's Cpus_allowed_list format)."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def format_cpu_list(cpus: list[int]) -> str:
    return ",".join(str(c) for c in cpus)


def cpus_allowed(status: Path = Path("/proc/self/status")) -> list[int]:
    """The cores this process may run on, as the kernel reports them (the pinning actually applied)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                return parse_cpu_list(line.split(":", 1)[1])
    except OSError:
        pass
    return sorted(os.sched_getaffinity(0))


def plan_cores(
    cores_per_instance: int | None, num_of_instance: int | None, allow_oversubscription: bool = False
) -> list[list[int]]:
    """One list of cores per instance, disjoint unless oversubscription is allowed (then assigned round-robin)."""
    cpus = available_cpus()
    instances = num_of_instance or 1
    per = cores_per_instance or max(1, len(cpus) // instances)
    wanted = per * instances
    if wanted > len(cpus) and not allow_oversubscription:
        raise ConfigError(
            "cores_per_instance * num_of_instance",
            f"{per} * {instances} = {wanted}",
            f"at most {len(cpus)} (cores available to this process: {format_cpu_list(cpus)})",
            reason="more cores requested than exist",
            suggestion=None,
        )
    return [[cpus[(i * per + j) % len(cpus)] for j in range(per)] for i in range(instances)]


def pinning_method() -> tuple[str, str | None]:
    """``("numactl", None)`` when numactl can pin here, else ``("sched_setaffinity", why)``."""
    exe = shutil.which("numactl")
    if exe is None:
        return "sched_setaffinity", "numactl not found on PATH"
    cpu = available_cpus()[0]
    try:
        probe = subprocess.run([exe, f"--physcpubind={cpu}", "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "sched_setaffinity", f"numactl could not run ({exc})"
    if probe.returncode != 0:
        return "sched_setaffinity", f"numactl --physcpubind refused: {probe.stderr.decode(errors='replace').strip()}"
    return "numactl", None


def command_prefix(method: str, cpus: list[int]) -> list[str]:
    """What goes before ``python -m compressor.bench.worker`` for ``method``."""
    if method == "numactl":
        return [shutil.which("numactl") or "numactl", f"--physcpubind={format_cpu_list(cpus)}"]
    return []
