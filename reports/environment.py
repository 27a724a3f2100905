"""The environment block: what the numbers were measured on, summarised from the result rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

# ISA extensions that decide int8/bf16 speed; the full flag list is too long to be read.
KEY_CPU_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)


@dataclass(frozen=True)
class Environment:
    git_sha: list[str]
    cpu_model: list[str]
    cpu_flags: str
    cores: list[str]
    pinning: list[str]
    python: list[str]
    hostname: list[str]
    packages: dict[str, str] = field(default_factory=dict)

    def items(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the templates; several distinct values are joined with ``; ``."""
        return [
            ("git sha", "; ".join(self.git_sha) or "unknown"),
            ("CPU model", "; ".join(self.cpu_model) or "unknown"),
            ("CPU flags", self.cpu_flags or "unknown"),
            ("cores used", "; ".join(self.cores) or "unknown"),
            ("pinning", "; ".join(self.pinning) or "unknown"),
            ("python", "; ".join(self.python) or "unknown"),
            ("hostname", "; ".join(self.hostname) or "unknown"),
        ]


def summarize_environment(frame: pd.DataFrame) -> Environment:
    cores = []
    for used, cpus in zip(frame["cores_used"], frame["cpus"], strict=True):
        text = _text(used)
        if text and _text(cpus):
            text = f"{text} (cpus {_text(cpus)})"
        cores.append(text or _text(cpus))
    return Environment(
        git_sha=_distinct(frame["git_sha"]),
        cpu_model=_distinct(frame["cpu_model"]),
        cpu_flags=_flags_summary(frame["cpu_flags"]),
        cores=_distinct(pd.Series(cores, dtype=object)),
        pinning=_distinct(frame["pinning"]),
        python=_distinct(frame["python"]),
        hostname=_distinct(frame["hostname"]),
        packages=_packages(frame["package_versions"]),
    )


def _flags_summary(column: pd.Series) -> str:
    flags: set[str] = set()
    for value in column.dropna():
        flags.update(str(value).replace(",", " ").split())
    if not flags:
        return ""
    present = [f for f in KEY_CPU_FLAGS if f in flags]
    absent = [f for f in KEY_CPU_FLAGS if f not in flags]
    parts = [f"has {' '.join(present) or 'none of the key ISA flags'}"]
    if absent:
        parts.append(f"lacks {' '.join(absent)}")
    return f"{'; '.join(parts)} ({len(flags)} flags in all)"


def _packages(column: pd.Series) -> dict[str, str]:
    """Merged ``package -> version``; a package seen with several versions lists them all."""
    seen: dict[str, list[str]] = {}
    for value in column.dropna():
        try:
            parsed = json.loads(value) if isinstance(value, str) else dict(value)
        except (TypeError, ValueError):
            continue
        for name, version in parsed.items():
            versions = seen.setdefault(str(name), [])
            if str(version) not in versions:
                versions.append(str(version))
    return {name: ", ".join(versions) for name, versions in sorted(seen.items())}


def _distinct(column: pd.Series) -> list[str]:
    out = []
    for value in column:
        text = _text(value)
        if text and text not in out:
            out.append(text)
    return out


def _text(value: object) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)
