"""Mixed-precision backends by framework name, imported on first use."""

from __future__ import annotations

from ..lazy import load_implementation
from .backend import MixedPrecisionBackend

_BACKENDS = {
    "torch": "compressor.algorithms.mixed_precision.torch_backend:TorchMixedPrecisionBackend",
    "onnxrt": "compressor.algorithms.mixed_precision.onnxrt_backend:OnnxRuntimeMixedPrecisionBackend",
}


def mixed_precision_backend(framework: str, **options) -> MixedPrecisionBackend:
    return load_implementation(_BACKENDS, framework, "mixed precision")(**options)
