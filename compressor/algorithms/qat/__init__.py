"""Quantization-aware training (``QuantizationAwareTrainingConfig`` in ``training.prepare_compression``)."""

from __future__ import annotations

from typing import Any

from ...errors import BackendError

FRAMEWORKS = ("torch",)


def make_component(config: Any, model: Any, framework: str):
    """The QAT component for ``model``'s framework (only PyTorch so far)."""
    if framework != "torch":
        raise BackendError(f"quantization-aware training supports {list(FRAMEWORKS)}; got a {framework} model")
    from .torch_backend import TorchQAT

    return TorchQAT(config)
