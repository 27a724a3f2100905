"""Post-training quantization: plans, the backend interface and per-framework backends."""

from .algorithm import OpInfo, OpQuant, Plan

__all__ = ["OpInfo", "OpQuant", "Plan"]
