"""Keras pruning component (framework ``"tensorflow"``), driven by the same hooks as torch's (seed 001).

Masks live beside the model: after each optimizer step and at every step boundary the selected kernels
are multiplied by their masks in place (``Variable.assign``), so the model, its optimizer and its
``fit``/custom loop stay as they are. Patterns and schedules are the framework-free ones: a Keras kernel
is viewed in torch's layout for them (Dense ``(in, out)`` as ``(out, in)``, Conv ``(kh, kw, in, out)`` as
``(out, in, kh, kw)``), so '4x1' means the same blocks of output rows on both frameworks.

What TensorFlow cannot honour is refused at ``prepare_compression``, by key: the gradient criteria
(``snip``, ``snip_momentum``, ``snip_momentum_progressive``: a GradientTape's gradients are never visible
to the hooks) and the channel patterns' physical shrinking (``channelx1``/``1xchannel``: no Keras graph
surgery here). ``magnitude`` with NxM, N:M patterns is supported.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ...backends.tf_basics import keras_layers as _layers
from ...errors import ConfigError
from .algorithm import PrunerPlan
from .backend import PruningComponent
from .patterns import CHANNEL_PATTERNS
from .selection import OpInfo

log = logging.getLogger(__name__)

#: Keras layer class → pruning_op_types value
OP_KINDS = {"Dense": "Linear", "Conv1D": "Conv", "Conv2D": "Conv", "Conv3D": "Conv"}
SUPPORTED_TYPES = ("magnitude",)


def to_torch_layout(kernel: np.ndarray) -> np.ndarray:
    """A Keras kernel in torch's weight layout (output channels first)."""
    n = kernel.ndim
    return np.transpose(kernel, (n - 1, n - 2, *range(n - 2)))  # (*spatial, in, out) -> (out, in, *spatial)


def from_torch_layout(array: np.ndarray) -> np.ndarray:
    n = array.ndim
    return np.transpose(array, (*range(2, n), 1, 0))  # (out, in, *spatial) -> (*spatial, in, out)


class KerasPruningComponent(PruningComponent):
    framework = "tensorflow"

    def __init__(self, config: Any, model: Any, *, tolerance: float = 0.01) -> None:
        super().__init__(config, model, tolerance=tolerance)
        for index, pruner in enumerate(self.pruners):
            where = f"pruning_configs[{index}]" if config.pruning_configs else "WeightPruningConfig"
            if pruner["pruning_type"] not in SUPPORTED_TYPES:
                raise ConfigError(
                    f"{where}.pruning_type",
                    pruner["pruning_type"],
                    SUPPORTED_TYPES,
                    reason="not supported on tensorflow: gradient criteria need the gradients, which a Keras "
                    "training loop never hands to the hooks",
                )
            if pruner["pattern"] in CHANNEL_PATTERNS:
                raise ConfigError(
                    f"{where}.pattern",
                    pruner["pattern"],
                    "an 'NxM' or 'N:M' pattern",
                    reason="not supported on tensorflow: channel patterns shrink the graph, which is torch-only",
                )

    def list_ops(self, model: Any) -> list[OpInfo]:
        ops = []
        for layer in _layers(model):
            kind = OP_KINDS.get(type(layer).__name__)
            kernel = getattr(layer, "kernel", None)
            if kind is not None and kernel is not None:
                shape = tuple(to_torch_layout(np.zeros(tuple(kernel.shape), dtype=np.int8)).shape)
                ops.append(OpInfo(layer.name, kind, type(layer).__name__, shape))
        return ops

    def attach(self, model: Any) -> None:
        layers = {layer.name: layer for layer in _layers(model)}
        self.kernels = {op.name: layers[op.name].kernel for plan in self.plans for op in plan.ops}
        self.masks: dict[str, np.ndarray] = {}

    def accumulate_scores(self) -> None:  # magnitude only: nothing to accumulate
        return None

    def scores(self, plan: PrunerPlan) -> dict[str, Any]:
        return {op.name: np.abs(to_torch_layout(np.asarray(self.kernels[op.name].numpy()))) for op in plan.ops}

    def push_masks(self, plan: PrunerPlan) -> None:
        for op in plan.ops:
            mask = plan.mask(op.name, op.shape)
            self.masks[op.name] = from_torch_layout(mask).astype(self.kernels[op.name].dtype)

    def apply_masks(self) -> None:
        for name, mask in self.masks.items():
            kernel = self.kernels[name]
            kernel.assign(np.asarray(kernel.numpy()) * mask)

    def zero_masked_grads(self) -> None:
        """Gradients are not reachable from a Keras loop; the masks are re-applied after the step instead."""

    def finish(self, model: Any) -> Any:
        self.masks = {}
        return model
