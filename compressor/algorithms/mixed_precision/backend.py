"""What a framework must provide for mixed precision: the tuner's backend interface (``PTQBackend``)
plus the precision-specific questions (which precisions, which kernels are native, reload)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from ...hardware import HardwareVerdict
from ..ptq.algorithm import OpInfo, OpQuant, Plan
from ..ptq.backend import PTQBackend
from .algorithm import APPROACH, PRECISIONS, low_precision


class MixedPrecisionBackend(PTQBackend):
    """Per-op bf16/fp16/fp32 conversion of one framework's models.

    ``precisions`` (best first) is what ``op_options`` offers each op; ``mix_precision.fit`` sets it
    from the config and the hardware verdicts.
    """

    precisions: tuple[str, ...] = PRECISIONS

    def set_precisions(self, precisions: Sequence[str]) -> None:
        self.precisions = tuple(precisions)

    def op_options(self, op: OpInfo, approach: str) -> list[OpQuant]:
        if approach != APPROACH:
            return []
        return [low_precision(p) for p in self.precisions if self.supports(op, p)]

    def formats(self, approach: str) -> tuple[str, ...]:
        return ("default",)

    def supports(self, op: OpInfo, precision: str) -> bool:
        """Whether ``op`` can be converted to ``precision`` at all (natively or between casts)."""
        return True

    @abstractmethod
    def hardware(self, precision: str, model: Any = None) -> HardwareVerdict:
        """Native or emulated on this machine with this runtime (``model``: a converted model, if any)."""

    def fp32_compute_ops(self, model: Any) -> list[str]:
        """Converted ops whose arithmetic still runs in fp32 because the runtime lacks the kernel."""
        return []

    @abstractmethod
    def load(self, path: str, fp32_model: Any = None) -> Any:
        """Reload what ``save`` wrote (some frameworks rebuild it onto the fp32 model)."""

    @abstractmethod
    def export_onnx(self, model: Any, path: str, example_batch: Any) -> None:
        """Write the converted model as ONNX, or raise ``BackendError`` saying why it cannot be."""

    def quantize(self, model: Any, plan: Plan, calibration: Sequence[Any]) -> Any:
        """The tuner's name for "apply the plan": here, convert the planned ops."""
        return self.convert(model, plan)

    @abstractmethod
    def convert(self, model: Any, plan: Plan) -> Any:
        """A new native model with each op in the plan's precision; the user's model is not touched."""
