"""PTQ backends by framework name, imported on first use."""

from __future__ import annotations

from ..lazy import load_implementation
from .backend import PTQBackend

_BACKENDS = {
    "torch": "compressor.algorithms.ptq.torch_backend:TorchPTQBackend",
    "onnxrt": "compressor.algorithms.ptq.onnxrt_backend:OnnxRuntimePTQBackend",
}


def ptq_backend(framework: str, **options) -> PTQBackend:
    return load_implementation(_BACKENDS, framework, "post-training quantization")(**options)
