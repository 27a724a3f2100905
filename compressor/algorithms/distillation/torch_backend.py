"""PyTorch distillation: the component for each criterion config type, and the optimizer builder."""

from __future__ import annotations

from typing import Any

from ...config.training import KnowledgeDistillationLossConfig, SelfKnowledgeDistillationLossConfig
from ...errors import ConfigError
from ..component import TrainingComponent
from .torch_kd import TorchKnowledgeDistillation
from .torch_optim import build_torch_optimizer
from .torch_self_kd import TorchSelfDistillation

COMPONENTS: dict[type, type[TrainingComponent]] = {
    KnowledgeDistillationLossConfig: TorchKnowledgeDistillation,
    SelfKnowledgeDistillationLossConfig: TorchSelfDistillation,
}


class TorchDistillation:
    """What ``distillation.make_component`` / ``build_optimizer`` load for ``"torch"``."""

    @staticmethod
    def make_component(config: Any, model: Any) -> TrainingComponent:
        criterion = config.criterion
        cls = COMPONENTS.get(type(criterion))
        if cls is None:
            raise ConfigError("criterion", type(criterion).__name__, [c.__name__ for c in COMPONENTS])
        return cls(config, model)

    build_optimizer = staticmethod(build_torch_optimizer)
