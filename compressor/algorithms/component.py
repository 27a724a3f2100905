"""The interface every training-time technique implements (QAT, pruning, distillation).

``training.CompressionManager`` holds one component per config and forwards each seed-001 hook to all
of them in order. A component changes the user's model *in place* (module swaps that keep the same
``Parameter`` objects, masks applied to ``.data``) so that an optimizer built before
``prepare_compression`` keeps training the right tensors. Only ``on_train_end`` may hand back a new
model object (e.g. QAT's converted int8 model, pruning's physically shrunk model); the manager then
exposes it as ``compression_manager.model``.

No framework import here: components for each framework live in their technique's folder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class TrainingComponent(ABC):
    """One technique's reaction to the training loop's hooks. Every hook is optional to override."""

    #: short name used in summaries and errors ("qat", "pruning", "distillation")
    name: str = "component"
    #: order of ``on_train_begin``/``on_train_end`` across components (distillation 0, pruning 1, QAT 2)
    end_order: int = 1

    @abstractmethod
    def validate(self, model: Any) -> None:
        """Check the config against ``model`` (regexes match ops, patterns divide shapes …) and raise
        ``ConfigError`` before any training starts. Called by ``prepare_compression``."""

    def on_train_begin(self, model: Any) -> None:  # noqa: B027  (optional hook)
        """Install what the technique needs (fake-quant modules, masks, teacher hooks) in ``model``."""

    def on_epoch_begin(self, epoch: int) -> None:  # noqa: B027  (optional hook)
        pass

    def on_step_begin(self, step: int) -> None:  # noqa: B027  (optional hook)
        pass

    def on_after_compute_loss(self, inputs: Any, outputs: Any, loss: Any, teacher_outputs: Any = None) -> Any:
        """Return the (possibly new) loss; the manager chains components' results."""
        return loss

    def on_before_optimizer_step(self) -> None:  # noqa: B027  (optional hook)
        pass

    def on_after_optimizer_step(self) -> None:  # noqa: B027  (optional hook)
        pass

    def on_step_end(self) -> None:  # noqa: B027  (optional hook)
        pass

    def on_epoch_end(self) -> None:  # noqa: B027  (optional hook)
        pass

    def on_train_end(self, model: Any) -> Any:
        """Finish (remove hooks, convert, shrink) and return the model to expose from now on."""
        return model

    def summary(self) -> dict[str, Any]:
        """JSON-able facts about what was done (sparsity per op, ops quantized, loss terms …)."""
        return {}
