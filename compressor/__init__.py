"""compressor: post-training quantization with accuracy-aware tuning, QAT, pruning, distillation,
mixed precision and benchmarking behind the 2.x API of seed 001.

``import compressor`` needs no deep-learning framework: backends import theirs lazily.
``frameworks()``, ``supported_frameworks(technique)`` and ``available_strategies()`` say what is there;
``compressor.pinning`` (cores, numactl) and ``compressor.timing`` (the timed loop) are public modules too.
``framework_of``, ``model_size_bytes``, ``optimize_fp32`` work on any backend's model; ``cpu_capabilities()``
is the one source of CPU model and ISA flags (``compressor.hardware`` also gives the bf16/fp16 verdict).
"""

from __future__ import annotations

from . import mix_precision
from .algorithms.lazy import supported_frameworks
from .backends import frameworks
from .config import (
    AccuracyCriterion,
    BenchmarkConfig,
    DistillationConfig,
    KnowledgeDistillationLossConfig,
    MixedPrecisionConfig,
    PostTrainingQuantConfig,
    QuantizationAwareTrainingConfig,
    SelfKnowledgeDistillationLossConfig,
    TuningCriterion,
    WeightPruningConfig,
)
from .errors import BackendError, CompressorError, ConfigError, UnsupportedFrameworkError
from .hardware import cpu_capabilities
from .model_utils import framework_of, model_size_bytes, optimize_fp32
from .quantization import recover
from .tuning.registry import available_strategies, register_strategy

__version__ = "0.1.0"

__all__ = [
    "AccuracyCriterion",
    "BackendError",
    "BenchmarkConfig",
    "CompressorError",
    "ConfigError",
    "DistillationConfig",
    "KnowledgeDistillationLossConfig",
    "MixedPrecisionConfig",
    "PostTrainingQuantConfig",
    "QuantizationAwareTrainingConfig",
    "SelfKnowledgeDistillationLossConfig",
    "TuningCriterion",
    "UnsupportedFrameworkError",
    "WeightPruningConfig",
    "__version__",
    "available_strategies",
    "cpu_capabilities",
    "framework_of",
    "frameworks",
    "mix_precision",
    "model_size_bytes",
    "optimize_fp32",
    "recover",
    "register_strategy",
    "supported_frameworks",
]
