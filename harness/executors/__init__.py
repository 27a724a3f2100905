"""Executors run Jobs somewhere and return their result rows; registered by name.

An executor owns its capacity: ``prepare(jobs)`` makes what the jobs need available where they run
(the zoo models, by default trained on this host before any job starts), ``slots(jobs, parallel)``
says which disjoint core sets may run a job at the same time, ``run(job, cpus)`` runs one job on
one slot and returns its ``ResultRow`` (status included; ``harness.results.failure_row`` for a job
that produced none), and ``cancel()`` stops whatever runs, from another thread. An executor never
interprets results. ``harness run`` only schedules: it hands each free slot to the next job and
writes each row as it arrives.

A new executor is one module with an ``Executor`` subclass and one ``register_executor`` call (see
docs/extending.md); a suite's ``executor:`` section names it and passes its constructor options.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from compressor import pinning
from compressor.errors import did_you_mean_hint

from ..errors import ExecutorError
from ..matrix import Job
from ..results import ResultRow

log = logging.getLogger(__name__)


class Executor(ABC):
    """Where jobs run. Subclasses implement ``run`` and may override ``prepare``, ``slots`` and ``cancel``."""

    name: ClassVar[str] = ""

    def __init__(self, log_dir: str | Path | None = None) -> None:
        """``log_dir`` keeps each job's files and output (default: a temporary directory)."""
        import tempfile

        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="harness-logs-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def prepare(self, jobs: Sequence[Job], progress: bool = True) -> None:
        """Train (or load from the zoo cache) each model once, before any job starts.

        Jobs then only load; parallel jobs never race to train the same model, and a cold cache does
        not eat into the per-job time limit. A model that fails here fails its jobs, not the run.
        """
        prepare_models(jobs, progress)

    def slots(self, jobs: Sequence[Job], parallel: int) -> list[tuple[int, ...]]:
        """Disjoint core sets of this machine, one per job that may run at once (at least one)."""
        cpus_per_job = max((job.bench_settings().cpus_per_job for job in jobs), default=1)
        return pinning.slots(parallel, cpus_per_job)

    @abstractmethod
    def run(self, job: Job, cpus: tuple[int, ...]) -> ResultRow:  # type: ignore[valid-type]
        """Run ``job`` on ``cpus`` and return its row (a failure row when the job produced none)."""

    def cancel(self) -> None:  # noqa: B027 (optional hook: an executor with nothing to stop keeps it)
        """Stop every running job (Ctrl-C); finished rows are already on disk."""


def prepare_models(
    jobs: Sequence[Job], progress: bool = True, prepare: Callable[[str, str], Any] | None = None
) -> None:
    """Each (model, framework) of ``jobs`` not in the zoo cache, once: ``prepare(model, framework)``
    (default: train it here)."""
    import models

    for model, framework in dict.fromkeys((job.model, job.framework) for job in jobs):
        entry = models.get(model)
        if entry.is_cached(framework):
            continue
        if progress:
            from rich.console import Console

            Console(stderr=True).print(f"preparing {model} ({framework}): not in the zoo cache, training")
        try:
            if prepare is None:
                entry.prepare(framework=framework)
            else:
                prepare(model, framework)
        except Exception as exc:  # the jobs will report it, each with its own row
            log.error("preparing %s for %s failed: %s", model, framework, exc)


_EXECUTORS: dict[str, str | type[Executor]] = {
    "local": "harness.executors.local:LocalExecutor",
    "docker": "harness.executors.docker:DockerExecutor",
}


def register_executor(name: str, target: str | type[Executor]) -> None:
    """``target`` is an ``Executor`` subclass or ``"module:Class"`` (imported on first use)."""
    _EXECUTORS[name] = target


def executor_names() -> list[str]:
    return sorted(_EXECUTORS)


def executor_class(name: str) -> type[Executor]:
    if name not in _EXECUTORS:
        hint = did_you_mean_hint(name, _EXECUTORS)
        raise ExecutorError(f"unknown executor {name!r}{hint}; known: {', '.join(executor_names())}")
    target = _EXECUTORS[name]
    if isinstance(target, str):
        module, cls = target.split(":")
        target = getattr(importlib.import_module(module), cls)
    return target


def executor_options(name: str) -> list[str]:
    """The keyword options ``name``'s constructor takes (a suite's ``executor.options`` keys)."""
    params = inspect.signature(executor_class(name).__init__).parameters
    return [p for p in params if p not in ("self", "log_dir") and params[p].kind is not inspect.Parameter.VAR_KEYWORD]


def check_options(name: str, options: dict[str, Any]) -> None:
    """Raise ``ExecutorError`` naming an option ``name`` does not take, the closest one and the allowed ones."""
    allowed = executor_options(name)
    for key in options:
        if key not in allowed:
            hint = did_you_mean_hint(key, allowed)
            raise ExecutorError(
                f"executor {name!r} has no option {key!r}{hint}; allowed: {', '.join(allowed) or 'none'}"
            )


def get_executor(name: str, **options: Any) -> Executor:
    check_options(name, {k: v for k, v in options.items() if k != "log_dir"})
    return executor_class(name)(**options)
