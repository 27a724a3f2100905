"""The public 2.x configuration API (seed 001): every config is a frozen value, validated on construction.

``compressor.config`` is the one public path; the modules behind it:

- ``quantization``: ``PostTrainingQuantConfig``, ``QuantizationAwareTrainingConfig``, ``TuningCriterion``,
  ``AccuracyCriterion``, ``MixedPrecisionConfig``, ``BenchmarkConfig``
- ``training``: ``WeightPruningConfig`` and the distillation configs
- ``base`` (the ``Config`` base class, dict/JSON round trips), ``checks`` (field validators),
  ``quant_options`` (op dicts and recipes), ``frozen`` (the immutable containers configs hold)
"""

from __future__ import annotations

from ..algorithms.pruning.patterns import CHANNEL_PATTERNS
from .base import Config
from .frozen import FrozenDict
from .quantization import (
    APPROACHES,
    BACKENDS,
    CRITERIA,
    DEVICES,
    DOMAINS,
    LOW_PRECISIONS,
    OBJECTIVES,
    QUANT_FORMATS,
    AccuracyCriterion,
    BenchmarkConfig,
    MixedPrecisionConfig,
    PostTrainingQuantConfig,
    QuantizationAwareTrainingConfig,
    TuningCriterion,
)
from .training import (
    DECAY_TYPES,
    KD_LOSS_TYPES,
    OPTIMIZERS,
    PRUNER_KEYS,
    PRUNING_OP_TYPES,
    PRUNING_SCOPES,
    PRUNING_TYPES,
    SELF_KD_LOSS_TYPES,
    DistillationConfig,
    KnowledgeDistillationLossConfig,
    SelfKnowledgeDistillationLossConfig,
    WeightPruningConfig,
    optimizer,
    pattern,
)

__all__ = [
    # the configs (also re-exported by ``compressor``)
    "AccuracyCriterion",
    "BenchmarkConfig",
    "DistillationConfig",
    "KnowledgeDistillationLossConfig",
    "MixedPrecisionConfig",
    "PostTrainingQuantConfig",
    "QuantizationAwareTrainingConfig",
    "SelfKnowledgeDistillationLossConfig",
    "TuningCriterion",
    "WeightPruningConfig",
    # their base, value types, allowed values and field validators
    "Config",
    "FrozenDict",
    "APPROACHES",
    "BACKENDS",
    "CRITERIA",
    "DEVICES",
    "DOMAINS",
    "LOW_PRECISIONS",
    "OBJECTIVES",
    "QUANT_FORMATS",
    "CHANNEL_PATTERNS",
    "DECAY_TYPES",
    "KD_LOSS_TYPES",
    "OPTIMIZERS",
    "PRUNER_KEYS",
    "PRUNING_OP_TYPES",
    "PRUNING_SCOPES",
    "PRUNING_TYPES",
    "SELF_KD_LOSS_TYPES",
    "optimizer",
    "pattern",
]
