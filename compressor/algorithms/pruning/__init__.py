"""Weight pruning during training: ``make_component(config, model, framework)``.

Framework-free parts: ``schedule`` (when and how sparse), ``patterns`` (units pruned together),
``allocation`` (global/local scope with per-op bounds), ``selection`` (which ops, config checks),
``algorithm`` (one pruner's masks), ``backend`` (the hook logic of the ``TrainingComponent``).
Framework parts: ``torch_backend`` and ``torch/`` (criteria, channel chains, physical shrink);
``keras_backend`` (magnitude masks on Keras kernels).
"""

from __future__ import annotations

from typing import Any

from ..lazy import load_implementation
from .backend import PruningComponent

#: framework -> "module:class" of its component, imported on first use
IMPLEMENTATIONS = {
    "torch": "compressor.algorithms.pruning.torch_backend:TorchPruningComponent",
    "tensorflow": "compressor.algorithms.pruning.keras_backend:KerasPruningComponent",
}


def make_component(config: Any, model: Any, framework: str, **options: Any) -> PruningComponent:
    """The pruning component for one ``WeightPruningConfig``; ``options``: ``tolerance`` (0.01), the
    slack allowed between a pruner's target and reached sparsity before the report says "not met"."""
    return load_implementation("pruning", framework)(config, model, **options)


__all__ = ["IMPLEMENTATIONS", "PruningComponent", "make_component"]
