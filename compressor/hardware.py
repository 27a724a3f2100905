"""What this CPU can do natively for low precision, read from ``/proc/cpuinfo``, and what follows.

A bf16/fp16 model is only faster when the CPU has the instructions *and* the runtime has kernels that
use them. Without both the conversion still works (and is validated for accuracy), but the arithmetic is
emulated (converted to fp32 and back), so a slowdown is the expected outcome, not a result. Every
mixed-precision result and benchmark row carries this verdict, so a slowdown is never reported silently.

    caps = cpu_capabilities()                 # parsed from /proc/cpuinfo (empty off Linux)
    verdict = assess("bf16", caps, runtime_native=True, runtime="torch (oneDNN)")
    verdict.note                              # "native: ..." or "emulated: no speedup expected (...)"

Flags are the kernel's spellings: ``avx512_bf16`` (Cooper Lake, Zen 4+), ``amx_bf16``/``amx_tile``
(Sapphire Rapids+), ``avx512_fp16`` (Sapphire Rapids+), ``amx_fp16`` (Granite Rapids+).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

CPUINFO = Path("/proc/cpuinfo")
CPUINFO_ENV = "COMPRESSOR_CPUINFO"
EMULATED_NOTE = "emulated: no speedup expected"
# Flags worth recording next to a result (a subset of the kernel's list): the SSE/AVX baseline and every
# flag that changes int8/bf16/fp16 kernel choice.
REPORTED_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "amx_fp16",
)
# Which flags give native arithmetic for each precision (any one of them is enough).
NATIVE_FLAGS = {"bf16": ("avx512_bf16", "amx_bf16"), "fp16": ("avx512_fp16", "amx_fp16")}


@dataclass(frozen=True)
class CpuCapabilities:
    """The ISA flags of the first processor entry (all cores of a machine share them)."""

    model_name: str = "unknown"
    flags: frozenset[str] = field(default_factory=frozenset)
    source: str = ""  # where the flags came from (a path, or why there are none)

    def has(self, flag: str) -> bool:
        return flag in self.flags

    @property
    def native_bf16(self) -> bool:
        return any(self.has(f) for f in NATIVE_FLAGS["bf16"])

    @property
    def native_fp16(self) -> bool:
        return any(self.has(f) for f in NATIVE_FLAGS["fp16"])

    @property
    def vnni(self) -> bool:
        return self.has("avx512_vnni") or self.has("avx_vnni")

    @property
    def amx(self) -> bool:
        return self.has("amx_tile")

    def native(self, precision: str) -> bool:
        return any(self.has(f) for f in NATIVE_FLAGS[precision])

    def reported_flags(self) -> list[str]:
        return [f for f in REPORTED_FLAGS if f in self.flags]

    def to_dict(self) -> dict[str, object]:
        return {
            "model_name": self.model_name,
            "flags": self.reported_flags(),
            "native_bf16": self.native_bf16,
            "native_fp16": self.native_fp16,
            "vnni": self.vnni,
            "amx": self.amx,
        }


def parse_cpuinfo(text: str, source: str = "") -> CpuCapabilities:
    """Capabilities from the text of ``/proc/cpuinfo`` (x86 ``flags``; ARM's ``Features`` read too)."""
    model, flags = "unknown", None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key == "model name" and model == "unknown":
            model = value.strip()
        elif key in ("flags", "features") and flags is None:
            flags = frozenset(value.split())
    return CpuCapabilities(model, flags or frozenset(), source)


def cpu_capabilities(path: str | Path | None = None) -> CpuCapabilities:
    """This machine's capabilities; no flags (so: nothing native) when the file cannot be read.

    ``$COMPRESSOR_CPUINFO`` names another file to read instead of ``/proc/cpuinfo`` (e.g. a recorded
    sample, to see what a result would say on another machine).
    """
    return _read_cpuinfo(str(path or os.environ.get(CPUINFO_ENV) or CPUINFO))


@functools.lru_cache(maxsize=8)
def _read_cpuinfo(path: str) -> CpuCapabilities:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        log.info("cannot read %s (%s): assuming no native bf16/fp16", path, exc)
        return CpuCapabilities(source=f"unreadable {path}")
    return parse_cpuinfo(text, str(path))


@dataclass(frozen=True)
class HardwareVerdict:
    """Whether ``precision`` runs natively here, and the sentence to show next to any timing."""

    precision: str
    cpu_native: bool  # the CPU has the instructions
    runtime_native: bool | None  # the runtime's kernels use them (None: not checked)
    runtime: str
    reason: str

    @property
    def native(self) -> bool:
        return self.cpu_native and self.runtime_native is not False

    @property
    def speedup_expected(self) -> bool:
        return self.native

    @property
    def verdict(self) -> str:
        return "native" if self.native else "emulated"

    @property
    def note(self) -> str:
        if self.native:
            return f"native {self.precision}: {self.reason}; a speedup is possible (see the measured latency)"
        return f"{EMULATED_NOTE} ({self.reason})"

    def to_dict(self) -> dict[str, object]:
        return {
            "precision": self.precision,
            "verdict": self.verdict,
            "speedup_expected": self.speedup_expected,
            "cpu_native": self.cpu_native,
            "runtime_native": self.runtime_native,
            "runtime": self.runtime,
            "note": self.note,
        }


def assess(
    precision: str,
    cpu: CpuCapabilities | None = None,
    *,
    runtime: str = "",
    runtime_native: bool | None = None,
    runtime_reason: str = "",
) -> HardwareVerdict:
    """Combine the CPU flags with the runtime's own answer (``runtime_native``, e.g. oneDNN's check)."""
    if precision not in NATIVE_FLAGS:
        from .errors import ConfigError

        raise ConfigError("precision", precision, tuple(NATIVE_FLAGS))
    cpu = cpu_capabilities() if cpu is None else cpu
    present = [f.upper() for f in NATIVE_FLAGS[precision] if cpu.has(f)]
    wanted = "/".join(f.upper() for f in NATIVE_FLAGS[precision])
    if not present:
        reason = f"this CPU ({cpu.model_name}) has no {wanted}"
        reason += f"; {runtime_reason}" if runtime_reason else ""
    elif runtime_native is False:
        reason = f"the CPU has {', '.join(present)} but {runtime or 'the runtime'} "
        reason += runtime_reason or "has no kernels using them"
    else:
        reason = f"{', '.join(present)} on {cpu.model_name}" + (f", used by {runtime}" if runtime else "")
    return HardwareVerdict(precision, bool(present), runtime_native, runtime, reason)


def torch_kernel_support(precision: str) -> bool | None:
    """oneDNN's own answer (``torch.ops.mkldnn._is_mkldnn_{bf16,fp16}_supported``); None without torch.

    oneDNN also says yes on plain AVX-512 CPUs, where it converts to fp32 and back, so this only
    confirms kernels exist: ``assess`` still needs the CPU flags for "native".
    """
    try:
        import torch
    except ImportError:
        return None
    check = {"bf16": "_is_mkldnn_bf16_supported", "fp16": "_is_mkldnn_fp16_supported"}[precision]
    try:
        return bool(torch.backends.mkldnn.is_available() and getattr(torch.ops.mkldnn, check)())
    except (AttributeError, RuntimeError) as exc:  # an older torch without the check
        log.info("torch has no %s check (%s)", check, exc)
        return None
