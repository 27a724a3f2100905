"""Weight pruning during training: ``make_component(config, model, framework)``.

Framework-free parts: ``schedule`` (when and how sparse), ``patterns`` (units pruned together),
``allocation`` (global/local scope with per-op bounds), ``selection`` (which ops, config checks),
``algorithm`` (one pruner's masks), ``backend`` (the hook logic of the ``TrainingComponent``).
Framework parts: ``torch_backend`` and ``torch/`` (criteria, channel chains, physical shrink).
"""

from __future__ import annotations

from typing import Any

from ...errors import BackendError
from ..lazy import load_implementation
from .backend import PruningComponent

#: framework → "module:class" of its component, imported on first use
_COMPONENTS = {
    "torch": "compressor.algorithms.pruning.torch_backend:TorchPruningComponent",
}


def make_component(config: Any, model: Any, framework: str, **options: Any) -> PruningComponent:
    """The pruning component for one ``WeightPruningConfig``; ``options``: ``tolerance`` (0.01), the
    slack allowed between a pruner's target and reached sparsity before the report says "not met"."""
    if framework not in _COMPONENTS:
        raise BackendError(
            f"pruning does not support framework {framework!r}; supported frameworks: {sorted(_COMPONENTS)}"
        )
    return load_implementation(_COMPONENTS, framework, "pruning")(config, model, **options)


__all__ = ["PruningComponent", "make_component"]
