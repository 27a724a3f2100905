"""Mixed precision (bf16/fp16 + fp32): per-op precision plans on the PTQ plan vocabulary, so the tuner's
strategies, history, resume and recover work unchanged; one backend per framework."""

from __future__ import annotations

from typing import Any

from ..lazy import load_implementation
from .algorithm import PRECISIONS, TuningView, precision_order
from .backend import MixedPrecisionBackend

#: framework -> "module:class" of its backend, imported on first use
IMPLEMENTATIONS = {
    "torch": "compressor.algorithms.mixed_precision.torch_backend:TorchMixedPrecisionBackend",
    "onnxrt": "compressor.algorithms.mixed_precision.onnxrt_backend:OnnxRuntimeMixedPrecisionBackend",
    "tensorflow": "compressor.algorithms.mixed_precision.keras_backend:KerasMixedPrecisionBackend",
}


def mixed_precision_backend(framework: str, **options: Any) -> MixedPrecisionBackend:
    """The mixed-precision backend of ``framework``; ``options`` go to its constructor (``threads=``…)."""
    return load_implementation("mixed_precision", framework)(**options)


__all__ = [
    "IMPLEMENTATIONS",
    "PRECISIONS",
    "MixedPrecisionBackend",
    "TuningView",
    "mixed_precision_backend",
    "precision_order",
]
