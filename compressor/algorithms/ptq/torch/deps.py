"""Optional-import guards: a missing framework is a BackendError that says how to install it."""

from __future__ import annotations

import contextlib
import logging
from types import ModuleType

from ....errors import BackendError

INSTALL_HINT = "pip install 'compressor[torch]'"


def require_torch() -> ModuleType:
    try:
        import torch
    except ImportError as exc:
        raise BackendError(f"the torch PTQ backend needs PyTorch: {INSTALL_HINT} ({exc})") from exc
    return torch


@contextlib.contextmanager
def _quiet(*logger_names: str):
    # torchao logs a WARNING for each CUDA-only extension it cannot load on a CPU build, and torch's
    # pytree logs a deprecation for one of torchao's enums; both are harmless here and would be read
    # as failures by users, so they are silenced for the import only.
    loggers = [logging.getLogger(name) for name in logger_names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def require_pt2e() -> ModuleType:
    """torchao's pt2e package (prepare/convert and the X86 inductor quantizer live there since torch 2.10)."""
    require_torch()
    try:
        with _quiet("torchao", "torch.utils._pytree"):
            import torchao.quantization.pt2e as pt2e
            import torchao.quantization.pt2e.quantize_pt2e  # noqa: F401
            import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer  # noqa: F401
    except ImportError as exc:
        raise BackendError(
            f"static int8 with the torch backend needs torchao (pt2e moved there from torch.ao): {INSTALL_HINT} ({exc})"
        ) from exc
    return pt2e
