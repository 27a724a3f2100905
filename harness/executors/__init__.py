"""Executors run one Job somewhere with a pinning plan and return its result row; registered by name.

The interface is narrow on purpose: ``run(job, cpus) -> dict`` (a row of ``harness.results.SCHEMA``
columns, status included) and ``cancel()`` (stop whatever is running, from another thread).
An executor never interprets results.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from ..matrix import Job


class Executor(Protocol):
    name: str

    def run(self, job: Job, cpus: tuple[int, ...]) -> dict[str, Any]: ...

    def cancel(self) -> None: ...


_EXECUTORS = {"local": "harness.executors.local:LocalExecutor", "docker": "harness.executors.docker:DockerExecutor"}


def register_executor(name: str, target: str) -> None:
    """``target`` is "module:Class"; imported on first use."""
    _EXECUTORS[name] = target


def executor_names() -> list[str]:
    return sorted(_EXECUTORS)


def get_executor(name: str, **options: Any) -> Executor:
    if name not in _EXECUTORS:
        raise KeyError(f"unknown executor {name!r}; known: {', '.join(executor_names())}")
    module, cls = _EXECUTORS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)
