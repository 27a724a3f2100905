"""Mixed precision (bf16/fp16 + fp32): per-op precision plans on the PTQ plan vocabulary, so the tuner's
strategies, history, resume and recover work unchanged; one backend per framework."""

from .algorithm import PRECISIONS, TuningView, precision_order

__all__ = ["PRECISIONS", "TuningView", "precision_order"]
