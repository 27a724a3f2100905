"""What a framework must provide for post-training quantization and tuning.

The tuner only talks to this interface; each framework implements it in its own
``<framework>_backend.py`` (imported lazily, so a missing framework only matters when used).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from .algorithm import OpInfo, OpQuant, Plan


class PTQBackend(ABC):
    """One framework's PTQ operations. Models are the framework's native objects."""

    name: str = ""

    def prepare(self, model: Any) -> Any:
        """Called once before tuning (e.g. shape inference, graph clean-up); op names come from its result."""
        return model

    @abstractmethod
    def quantizable_ops(self, model: Any) -> list[OpInfo]:
        """The ops a plan may quantize, in execution order."""

    @abstractmethod
    def op_options(self, op: OpInfo, approach: str) -> list[OpQuant]:
        """The int8 choices this backend can run for ``op`` (fp32 fallback is always allowed)."""

    @abstractmethod
    def formats(self, approach: str) -> tuple[str, ...]:
        """Quantized model formats worth trying, best first (e.g. ("QOperator", "QDQ"))."""

    @abstractmethod
    def quantize(self, model: Any, plan: Plan, calibration: Sequence[Any]) -> Any:
        """A new native model with ``plan`` applied; ``calibration`` is a list of input batches."""

    @abstractmethod
    def op_outputs(self, model: Any, batches: Sequence[Any], op_names: Sequence[str]) -> dict[str, Any]:
        """Outputs (numpy arrays) of the named ops for ``batches``; used to rank op sensitivity."""

    @abstractmethod
    def latency_ms(self, model: Any, batch: Any, *, warmup: int = 3, iterations: int = 20) -> float:
        """Median latency of one forward pass on ``batch`` in milliseconds (perf_counter_ns)."""

    @abstractmethod
    def save(self, model: Any, path: str) -> None:
        """Write the native model to ``path``."""

    @abstractmethod
    def size_bytes(self, model: Any) -> int:
        """Serialized size of the model."""
