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

from compressor.hardware import REPORTED_FLAGS

PACKAGES = ("compressor", "numpy", "onnx", "onnxruntime", "torch", "torchao", "pandas", "pyarrow", "pydantic")
# Flags that change int8/bf16 kernel choice (compressor.hardware's list plus the SSE/AVX baseline);
# the full list is long and says little more.
RELEVANT_FLAGS = ("sse4_2", "avx", *REPORTED_FLAGS)
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


@functools.lru_cache(maxsize=1)
def cpu_info() -> tuple[str, str]:
    model, flags = platform.processor() or "unknown", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("unknown", "", "x86_64"):
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                present = set(value.split())
                flags = " ".join(f for f in RELEVANT_FLAGS if f in present)
    except OSError:
        pass
    return model, flags


def allowed_cpus() -> str:
    """This process's ``Cpus_allowed_list`` (what the kernel enforces, not what was asked for)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))


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
