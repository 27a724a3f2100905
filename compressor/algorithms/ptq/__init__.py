"""Post-training quantization: plans, the backend interface and per-framework backends."""

from __future__ import annotations

from typing import Any

from ..lazy import load_implementation
from .algorithm import OpInfo, OpQuant, Plan
from .backend import PTQBackend

#: framework -> "module:class" of its backend, imported on first use
IMPLEMENTATIONS = {
    "torch": "compressor.algorithms.ptq.torch_backend:TorchPTQBackend",
    "onnxrt": "compressor.algorithms.ptq.onnxrt_backend:OnnxRuntimePTQBackend",
    "tensorflow": "compressor.algorithms.ptq.tflite_backend:TFLitePTQBackend",
}


def ptq_backend(framework: str, **options: Any) -> PTQBackend:
    """The PTQ backend of ``framework``; ``options`` go to its constructor (every backend takes
    ``threads=``, the intra-op threads its ``latency_ms`` times with)."""
    return load_implementation("ptq", framework)(**options)


__all__ = ["IMPLEMENTATIONS", "OpInfo", "OpQuant", "PTQBackend", "Plan", "ptq_backend"]
