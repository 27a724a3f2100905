"""Model-level helpers of the public API, for any framework compressor has a backend for.

    compressor.framework_of(model)        # "torch" | "onnxrt" | ...
    compressor.model_size_bytes(q_model)  # serialized size of an fp32, int8, bf16 or pruned model
    compressor.optimize_fp32(onnx_model)  # ONNX Runtime's offline graph optimizations (the fp32 baseline
                                          # seed 002 calls "fp32 + graph optimization")

Each takes the framework's native model (or a ``QuantizedModel`` / mixed-precision result, unwrapped).
"""

from __future__ import annotations

from typing import Any

from . import backends
from .errors import ConfigError

OPTIMIZATION_LEVELS = ("basic", "extended", "all")


def _native(model: Any) -> Any:
    inner = getattr(model, "model", None)
    return inner if inner is not None and type(model).__module__.startswith("compressor.") else model


def framework_of(model: Any) -> str:
    """The framework name of ``model`` (``compressor.vocabulary.FRAMEWORKS``); ConfigError when none fits."""
    return backends.detect_framework(_native(model))


def model_size_bytes(model: Any, *, framework: str | None = None) -> int:
    """Serialized size of ``model`` in bytes (what ``save`` would write)."""
    from .algorithms.ptq import ptq_backend

    model = _native(model)
    framework = framework or backends.detect_framework(model)
    return int(ptq_backend(framework).size_bytes(model))


def optimize_fp32(model: Any, *, level: str = "extended") -> Any:
    """``model`` after its runtime's offline fp32 graph optimizations: ONNX Runtime's graph optimizations, or
    for a Keras model its float TensorFlow Lite conversion (``level`` is ONNX Runtime's only)."""
    from .algorithms.ptq import ptq_backend

    model = _native(model)
    framework = backends.detect_framework(model)
    if level not in OPTIMIZATION_LEVELS:
        raise ConfigError("level", level, OPTIMIZATION_LEVELS)
    backend = ptq_backend(framework)
    if not hasattr(backend, "fp32_optimized"):
        raise ConfigError(
            "model",
            framework,
            ("onnxrt", "tensorflow"),
            reason="offline fp32 graph optimization exists for ONNX Runtime and TensorFlow only",
        )
    model = backends.basics(framework).load(model)
    return backend.fp32_optimized(model, level=level)
