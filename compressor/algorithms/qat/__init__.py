"""Quantization-aware training (``QuantizationAwareTrainingConfig`` in ``training.prepare_compression``)."""

from __future__ import annotations

from typing import Any

from ..component import TrainingComponent
from ..lazy import load_implementation

#: framework -> "module:class" of its component, imported on first use
IMPLEMENTATIONS = {
    "torch": "compressor.algorithms.qat.torch_backend:TorchQAT",
    "tensorflow": "compressor.algorithms.qat.keras_backend:KerasQAT",
}


def make_component(config: Any, model: Any, framework: str) -> TrainingComponent:
    """The QAT component for ``model``'s framework."""
    return load_implementation("qat", framework)(config)


__all__ = ["IMPLEMENTATIONS", "make_component"]
