"""Knowledge distillation and self-distillation as training components (seed 001 "Distillation").

``make_component(config, model, framework)`` returns the ``TrainingComponent`` that
``training.prepare_compression`` drives; ``build_optimizer(optimizer_conf, params)`` turns
``DistillationConfig.optimizer`` into a framework optimizer. Loss semantics: ``algorithm.py``.
Framework code is imported on first use, so importing this package needs no framework.
"""

from __future__ import annotations

from typing import Any

from ...config.training import DistillationConfig
from ...config.training import optimizer as check_optimizer
from ...errors import ConfigError
from ..component import TrainingComponent
from ..lazy import load_implementation

#: framework -> "module:class" with make_component(config, model) and build_optimizer(conf, params)
IMPLEMENTATIONS = {
    "torch": "compressor.algorithms.distillation.torch_backend:TorchDistillation",
    "tensorflow": "compressor.algorithms.distillation.keras_backend:KerasDistillation",
}


def make_component(config: DistillationConfig, model: Any, framework: str = "torch") -> TrainingComponent:
    """The distillation component for ``config.criterion`` (knowledge or self-distillation)."""
    if not isinstance(config, DistillationConfig):
        raise ConfigError("config", type(config).__name__, ["DistillationConfig"])
    return load_implementation("distillation", framework).make_component(config, model)


def build_optimizer(optimizer_conf: Any, params: Any, framework: str = "torch") -> Any:
    """``{"SGD": {"learning_rate": 0.1, "momentum": 0.9}}`` (or a ``DistillationConfig``) → an optimizer
    over ``params``. Plain dicts are validated like ``DistillationConfig.optimizer``."""
    if isinstance(optimizer_conf, DistillationConfig):
        optimizer_conf = optimizer_conf.optimizer
    optimizer_conf = check_optimizer("optimizer", optimizer_conf)
    return load_implementation("distillation", framework).build_optimizer(optimizer_conf, params)


__all__ = ["IMPLEMENTATIONS", "build_optimizer", "make_component"]
