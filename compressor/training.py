"""Training-time compression entry points (seed 001: ``from ...training import WeightPruningConfig``)."""

from __future__ import annotations

from .config import (
    DistillationConfig,
    KnowledgeDistillationLossConfig,
    QuantizationAwareTrainingConfig,
    SelfKnowledgeDistillationLossConfig,
    WeightPruningConfig,
)

__all__ = [
    "DistillationConfig",
    "KnowledgeDistillationLossConfig",
    "QuantizationAwareTrainingConfig",
    "SelfKnowledgeDistillationLossConfig",
    "WeightPruningConfig",
]
