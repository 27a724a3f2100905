"""Import onnx and onnxruntime on first use, with an actionable error when they are missing."""

from __future__ import annotations

from types import ModuleType

from ....errors import BackendError

INSTALL_HINT = "pip install 'compressor[onnx]'"


def onnx() -> ModuleType:
    try:
        import onnx as module
    except ImportError as exc:
        raise BackendError(f"the onnxrt PTQ backend needs the 'onnx' package: {INSTALL_HINT}") from exc
    return module


def ort() -> ModuleType:
    try:
        import onnxruntime as module
    except ImportError as exc:
        raise BackendError(f"the onnxrt PTQ backend needs the 'onnxruntime' package: {INSTALL_HINT}") from exc
    return module


def quantization() -> ModuleType:
    """``onnxruntime.quantization`` (quantize_static, quantize_dynamic, quant_pre_process, calibrators)."""
    ort()
    try:
        import onnxruntime.quantization as module
    except ImportError as exc:  # a runtime-only wheel (onnxruntime-*-mobile) ships without the tools
        raise BackendError(
            f"this onnxruntime build has no 'onnxruntime.quantization' tools ({exc}): {INSTALL_HINT}"
        ) from exc
    return module
