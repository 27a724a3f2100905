"""The environment a result row was measured in: commit, packages, CPU, pinning actually applied."""

from __future__ import annotations

import functools
import json
import os
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path

import compressor
from compressor import pinning

PACKAGES = ("compressor", "numpy", "onnx", "onnxruntime", "torch", "torchao", "pandas", "pyarrow", "pydantic")
REPO = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def git_sha() -> str:
    """HEAD of the source tree, with ``-dirty`` when tracked files differ (``unknown`` outside git)."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_info() -> tuple[str, str]:
    """CPU model and the reported ISA flags, from compressor's one CPU-info source."""
    caps = compressor.cpu_capabilities()
    return caps.model_name, " ".join(caps.reported_flags())


def allowed_cpus() -> str:
    """This process's ``Cpus_allowed_list`` (what the kernel enforces, not what was asked for)."""
    return pinning.cpus_allowed_list()


def environment_columns() -> dict[str, object]:
    model, flags = cpu_info()
    return {
        "git_sha": git_sha(),
        "package_versions": json.dumps(package_versions(), sort_keys=True),
        "cpu_model": model,
        "cpu_flags": flags,
        "cores_used": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "hostname": socket.gethostname(),
    }
