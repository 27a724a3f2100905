"""Core pinning of benchmark processes: which cores, and how (public API; the harness uses it too).

``numactl --physcpubind`` pins before the child's interpreter starts, so every thread it later creates
(OpenMP, ONNX Runtime pools) inherits the mask. Without a working numactl the child calls
``os.sched_setaffinity`` itself first thing, before importing a framework: nearly as good, and never
silent (``pinning_method`` logs the fallback and returns why). ``none`` only where neither exists.

    from compressor import pinning
    method, why = pinning.pinning_method()                  # ("numactl", None) or ("sched_setaffinity", "...")
    for cores in pinning.slots(parallel_jobs=2, cpus_per_job=4): ...      # disjoint cores per job
    cores = pinning.plan_cores(cores_per_instance=1, num_of_instance=2)   # cores per benchmark instance
    argv = [*pinning.argv_prefix(method, cores[0]), sys.executable, "-m", "worker"]
    pinning.cpus_allowed()                                  # what the kernel enforces on this process
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

log = logging.getLogger(__name__)

METHODS = ("numactl", "sched_setaffinity", "none")
STATUS = Path("/proc/self/status")

__all__ = [
    "METHODS",
    "Pinning",
    "argv_prefix",
    "available_cpus",
    "cpus_allowed",
    "cpus_allowed_list",
    "format_cpu_list",
    "method",
    "numactl_problem",
    "parse_cpu_list",
    "pinning_method",
    "plan_cores",
    "slots",
]


# --- cores ---------------------------------------------------------------------------------------------
def available_cpus() -> list[int]:
    """The cores this process may run on (its affinity mask), sorted."""
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


def format_cpu_list(cpus: Iterable[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0,1,2,5"`` (what numactl and ``parse_cpu_list`` accept)."""
    return ",".join(str(c) for c in cpus)


def cpus_allowed_list(status: Path = STATUS) -> str:
    """This process's ``Cpus_allowed_list`` as the kernel writes it (``"0-3"``): the pinning actually
    applied, not what was asked for. Without /proc: the affinity mask, comma-separated."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return format_cpu_list(available_cpus())


def cpus_allowed(status: Path = STATUS) -> list[int]:
    """``cpus_allowed_list`` as a list of cores."""
    return parse_cpu_list(cpus_allowed_list(status))


def plan_cores(
    cores_per_instance: int | None, num_of_instance: int | None, allow_oversubscription: bool = False
) -> list[list[int]]:
    """One list of cores per benchmark instance, disjoint unless oversubscription is allowed (then
    assigned round-robin); more cores than exist is a ``ConfigError``."""
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


def slots(parallel_jobs: int, cpus_per_job: int, cpus: list[int] | None = None) -> list[tuple[int, ...]]:
    """Disjoint core sets, one per concurrently running job.

    With fewer cores than ``parallel_jobs × cpus_per_job`` the number of slots shrinks (jobs never
    share cores, since that would corrupt timings); at least one slot always exists.
    """
    cpus = available_cpus() if cpus is None else cpus
    per = max(1, min(cpus_per_job, len(cpus)))
    count = max(1, min(parallel_jobs, len(cpus) // per))
    if count < parallel_jobs:
        log.warning(
            "%d parallel jobs × %d cores do not fit %d cores: running %d at a time",
            parallel_jobs,
            per,
            len(cpus),
            count,
        )
    return [tuple(cpus[i * per : (i + 1) * per]) for i in range(count)]


# --- method --------------------------------------------------------------------------------------------
def numactl_problem() -> str | None:
    """None when ``numactl --physcpubind`` works here, else why not (containers often forbid it)."""
    exe = shutil.which("numactl")
    if exe is None:
        return "numactl not found on PATH"
    return _probe_numactl(exe)


@functools.cache
def _probe_numactl(exe: str) -> str | None:
    """One probe per numactl binary and process: binding the first allowed core for ``true``."""
    cpu = available_cpus()[0]
    try:
        done = subprocess.run([exe, f"--physcpubind={cpu}", "--", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"numactl could not run ({exc})"
    if done.returncode != 0:
        return f"numactl --physcpubind refused: {done.stderr.decode(errors='replace').strip()[-200:]}"
    return None


def pinning_method(preferred: str | None = None) -> tuple[str, str | None]:
    """``(method, why_not_numactl)``: ``("numactl", None)`` when numactl can pin here, else
    ``("sched_setaffinity", why)`` (logged as a warning; ``("none", why)`` where even that is missing).

    ``preferred`` forces a method from ``METHODS``; a name not in it, or ``"numactl"`` where numactl
    cannot pin, is a ``ConfigError`` (a ``ValueError``).
    """
    if preferred is not None:
        if preferred not in METHODS:
            raise ConfigError("pinning method", preferred, METHODS)
        why = numactl_problem() if preferred == "numactl" else None
        if why is not None:
            others = [m for m in METHODS if m != preferred]
            raise ConfigError("pinning method", preferred, others, reason=f"requested but {why}", suggestion=None)
        return preferred, None
    why = numactl_problem()
    if why is None:
        return "numactl", None
    if hasattr(os, "sched_setaffinity"):
        log.warning("PINNING FALLBACK: %s; pinning with os.sched_setaffinity instead", why)
        return "sched_setaffinity", why
    log.warning("no way to pin processes on this platform (%s): they run unpinned (pinning=none)", why)
    return "none", why


def method(preferred: str | None = None) -> str:
    """The best pinning method available here, or ``preferred`` when it is allowed (``pinning_method``)."""
    return pinning_method(preferred)[0]


# --- applying it ---------------------------------------------------------------------------------------
def argv_prefix(method: str, cpus: Iterable[int]) -> list[str]:
    """What goes before a child's command line: numactl's binding, or nothing (``sched_setaffinity``:
    the child pins itself before importing a framework; ``none``: unpinned)."""
    if method == "numactl":
        return [shutil.which("numactl") or "numactl", f"--physcpubind={format_cpu_list(cpus)}", "--"]
    return []


@dataclass(frozen=True)
class Pinning:
    """How to pin one child process: its cores and the method; ``argv_prefix`` wraps its command."""

    cpus: tuple[int, ...]
    method: str

    @property
    def argv_prefix(self) -> list[str]:
        return argv_prefix(self.method, self.cpus)
