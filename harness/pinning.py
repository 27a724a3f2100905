"""Core pinning of job processes: numactl when it works here, else sched_setaffinity; never silent.

The method actually applied is recorded in each result row (``pinning``), and the worker records
the ``Cpus_allowed_list`` the kernel enforced (``cpus``).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass

log = logging.getLogger(__name__)

METHODS = ("numactl", "sched_setaffinity", "none")


@dataclass(frozen=True)
class Pinning:
    """How to pin one job: the cores and the method; ``argv_prefix`` wraps the worker command."""

    cpus: tuple[int, ...]
    method: str

    @property
    def argv_prefix(self) -> list[str]:
        if self.method == "numactl":
            return ["numactl", f"--physcpubind={','.join(map(str, self.cpus))}", "--"]
        return []

    def apply_in_child(self) -> None:
        """``preexec_fn`` for sched_setaffinity (runs in the child between fork and exec)."""
        if self.method == "sched_setaffinity":
            os.sched_setaffinity(0, self.cpus)


def available_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


@functools.lru_cache(maxsize=1)
def numactl_works() -> bool:
    """numactl exists and may bind here (containers often forbid its memory policy calls)."""
    exe = shutil.which("numactl")
    if exe is None:
        return False
    cpu = available_cpus()[0]
    try:
        done = subprocess.run([exe, f"--physcpubind={cpu}", "--", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    if done.returncode != 0:
        log.warning("numactl is installed but failed here (%s); pinning with sched_setaffinity", done.stderr[-200:])
    return done.returncode == 0


def method(preferred: str | None = None) -> str:
    """The best pinning method available (or ``preferred`` when it is allowed here)."""
    if preferred is not None:
        if preferred not in METHODS:
            raise ValueError(f"unknown pinning method {preferred!r}; allowed: {', '.join(METHODS)}")
        if preferred == "numactl" and not numactl_works():
            raise ValueError("pinning 'numactl' requested but numactl is missing or not permitted here")
        return preferred
    if numactl_works():
        return "numactl"
    if hasattr(os, "sched_setaffinity"):
        return "sched_setaffinity"
    log.warning("no way to pin processes on this platform: jobs run unpinned (recorded as pinning=none)")
    return "none"


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
