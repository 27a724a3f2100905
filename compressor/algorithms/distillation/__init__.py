"""Knowledge distillation and self-distillation as training components (seed 001 "Distillation").

``make_component(config, model, framework)`` returns the ``TrainingComponent`` that
``training.prepare_compression`` drives; ``build_optimizer(optimizer_conf, params)`` turns
``DistillationConfig.optimizer`` into a framework optimizer. Loss semantics: ``algorithm.py``.
Framework code is imported on first use, so importing this package needs no framework.
"""

from __future__ import annotations

import importlib
from typing import Any

from ...backends import FRAMEWORKS
from ...config_training import DistillationConfig
from ...config_training import optimizer as check_optimizer
from ...errors import BackendError, ConfigError
from ..component import TrainingComponent

# framework -> module with make_component(config, model) and build_optimizer(conf, params)
_BACKENDS = {"torch": "compressor.algorithms.distillation.torch_backend"}


def _backend(framework: str) -> Any:
    if framework not in _BACKENDS:
        raise BackendError(
            f"distillation is not available for framework {framework!r}; supported: {', '.join(sorted(_BACKENDS))}"
        )
    try:
        return importlib.import_module(_BACKENDS[framework])
    except ImportError as exc:
        extra = FRAMEWORKS.get(framework, (None, framework))[1]
        raise BackendError(
            f"distillation for {framework} needs {exc.name}, which is not installed: pip install 'compressor[{extra}]'"
        ) from exc


def make_component(config: DistillationConfig, model: Any, framework: str = "torch") -> TrainingComponent:
    """The distillation component for ``config.criterion`` (knowledge or self-distillation)."""
    if not isinstance(config, DistillationConfig):
        raise ConfigError("config", type(config).__name__, ["DistillationConfig"])
    return _backend(framework).make_component(config, model)


def build_optimizer(optimizer_conf: Any, params: Any, framework: str = "torch") -> Any:
    """``{"SGD": {"learning_rate": 0.1, "momentum": 0.9}}`` (or a ``DistillationConfig``) → an optimizer
    over ``params``. Plain dicts are validated like ``DistillationConfig.optimizer``."""
    if isinstance(optimizer_conf, DistillationConfig):
        optimizer_conf = optimizer_conf.optimizer
    optimizer_conf = check_optimizer("optimizer", optimizer_conf)
    return _backend(framework).build_optimizer(optimizer_conf, params)


__all__ = ["build_optimizer", "make_component"]
