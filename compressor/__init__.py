"""compressor: post-training quantization with accuracy-aware tuning, QAT, pruning, distillation,
mixed precision and benchmarking behind the 2.x API of seed 001.

``import compressor`` needs no deep-learning framework: backends import theirs lazily.
"""

from __future__ import annotations

from . import mix_precision
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
from .errors import BackendError, CompressorError, ConfigError
from .quantization import recover
from .tuning.registry import register_strategy

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
    "WeightPruningConfig",
    "__version__",
    "mix_precision",
    "recover",
    "register_strategy",
]
