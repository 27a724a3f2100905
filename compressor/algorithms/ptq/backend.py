"""What a framework must provide for post-training quantization and tuning.

The tuner only talks to this interface; each framework implements it in its own
``<framework>_backend.py`` (imported lazily, so a missing framework only matters when used).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from ...errors import BackendError, ConfigError, did_you_mean_hint
from .algorithm import OpInfo, OpQuant, Plan

DEFAULT_THREADS = 1  # one intra-op thread: the steadiest latencies on a shared machine


def timing_threads(threads: int | None, alias: str | None = None, alias_value: int | None = None) -> int:
    """The intra-op threads a backend's ``latency_ms`` runs with: every backend constructor takes
    ``threads=``; ``alias`` is its older framework-specific name (``num_threads``,
    ``intra_op_num_threads``), still accepted. Neither given: ``DEFAULT_THREADS``."""
    if threads is not None and alias_value is not None and threads != alias_value:
        raise ConfigError(
            "threads", threads, f"{alias}={alias_value} or nothing", reason=f"both threads and {alias} were given"
        )
    field, value = ("threads", threads) if threads is not None or alias is None else (alias, alias_value)
    if value is None:
        return DEFAULT_THREADS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(field, value, "an integer >= 1")
    return value


def check_plan_ops(plan: Plan, names: Sequence[str]) -> None:
    """``BackendError`` (with a did-you-mean) when ``plan`` names an op that is not among ``names``."""
    unknown = [name for name in plan.ops if name not in names]
    if unknown:
        raise BackendError(
            f"plan names op(s) {unknown} that this model does not have"
            + did_you_mean_hint(unknown[0], list(names))
            + "; use the names from quantizable_ops(prepare(model))"
        )


class PTQBackend(ABC):
    """One framework's PTQ operations. Models are the framework's native objects."""

    name: str = ""
    #: intra-op threads of ``latency_ms``; constructors take ``threads=`` (see ``timing_threads``)
    threads: int = DEFAULT_THREADS

    def fingerprint(self, model: Any) -> str:
        """A digest of the fp32 model's weights (and structure), recorded in the tuning history so that a
        resume refuses a workspace written for other weights. "" when unknown: then only the re-measured
        fp32 baseline guards a resume. The default uses the framework's basics (``compressor.backends``)."""
        from ... import backends

        try:
            framework = backends.detect_framework(model)
        except ConfigError:
            return ""
        return backends.basics(framework).fingerprint(model)

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
        """Median latency of one forward pass on ``batch`` in milliseconds, at ``self.threads`` intra-op
        threads (``compressor.timing``: warmup untimed, then perf_counter_ns per call)."""

    @abstractmethod
    def save(self, model: Any, path: str) -> None:
        """Write the native model to ``path``."""

    def load(self, path: str, fp32_model: Any = None) -> Any:
        """Reload what ``save`` wrote (some frameworks rebuild it onto the fp32 model)."""
        raise BackendError(f"the {self.name or type(self).__name__} backend cannot reload saved models")

    @abstractmethod
    def size_bytes(self, model: Any) -> int:
        """Serialized size of the model."""
