"""The framework-free vocabulary of post-training quantization.

A *plan* is one point of the tuning space: global settings that a backend applies to the whole model
(approach, calibration method, format, SmoothQuant alpha) plus one ``OpQuant`` per quantizable op
(int8 with its weight/activation options, or fp32 fallback). Strategies propose plans; backends apply
them; the history stores them as JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ...config.frozen import FrozenDict
from ...errors import ConfigError

APPROACHES = ("static", "dynamic")
CALIBRATIONS = ("minmax", "percentile", "entropy")
FORMATS = ("default", "QDQ", "QOperator")
# bf16/fp16 are the per-op choices of mixed precision (algorithms/mixed_precision), which reuses plans.
OP_DTYPES = ("int8", "bf16", "fp16", "fp32")
GRANULARITIES = ("per_tensor", "per_channel")
SCHEMES = ("sym", "asym")
# How an int8 op of a *static* plan gets its activation range: calibrated ahead of time, or computed per
# batch at run time (weights int8, activations quantized on the fly). In a dynamic plan every op is dynamic.
ACTIVATION_MODES = ("static", "dynamic")


@dataclass(frozen=True)
class OpInfo:
    """A quantizable op as the backend sees it. ``name`` is unique within the model."""

    name: str
    op_type: str  # backend spelling: "Conv", "Gemm", "MatMul", "Linear", "Conv2d", ...
    has_weight: bool = True


@dataclass(frozen=True)
class OpQuant:
    """The choice for one op."""

    dtype: str = "int8"
    weight_granularity: str = "per_tensor"
    weight_scheme: str = "sym"
    activation_scheme: str = "asym"
    activation_mode: str = "static"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("dtype", OP_DTYPES),
            ("weight_granularity", GRANULARITIES),
            ("weight_scheme", SCHEMES),
            ("activation_scheme", SCHEMES),
            ("activation_mode", ACTIVATION_MODES),
        ):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"OpQuant.{name}", getattr(self, name), allowed)

    @property
    def quantized(self) -> bool:
        return self.dtype != "fp32"

    @property
    def dynamic(self) -> bool:
        """An int8 op whose activations are quantized at run time."""
        return self.quantized and self.activation_mode == "dynamic"

    def to_dict(self) -> dict[str, str]:
        """Its fields; ``activation_mode`` only when not the default, so plans written before it existed keep
        their keys (a history from an older version still resumes)."""
        fields = asdict(self)
        if self.activation_mode == "static":
            del fields["activation_mode"]
        return fields


FP32 = OpQuant(dtype="fp32")


@dataclass(frozen=True)
class Plan:
    """Global settings + per-op choices. Hashable, JSON round-trippable, with a stable ``key``."""

    ops: FrozenDict = field(default_factory=FrozenDict)  # op name -> OpQuant
    approach: str = "static"
    calibration: str = "minmax"
    quant_format: str = "default"
    smooth_quant_alpha: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ops, FrozenDict):
            object.__setattr__(self, "ops", FrozenDict(self.ops))
        for name, allowed in (("approach", APPROACHES), ("calibration", CALIBRATIONS), ("quant_format", FORMATS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"Plan.{name}", getattr(self, name), allowed)
        for op, choice in self.ops.items():
            if not isinstance(choice, OpQuant):
                raise ConfigError(f"Plan.ops[{op!r}]", choice, "an OpQuant")
        alpha = self.smooth_quant_alpha
        if alpha is not None and not (isinstance(alpha, (int, float)) and 0.0 <= alpha <= 1.0):
            raise ConfigError("Plan.smooth_quant_alpha", alpha, "None or a number in [0, 1]")

    # --- derived views ---------------------------------------------------------------------------
    @property
    def fallback_ops(self) -> tuple[str, ...]:
        """Ops left in fp32, in model order."""
        return tuple(name for name, choice in self.ops.items() if not choice.quantized)

    @property
    def quantized_ops(self) -> tuple[str, ...]:
        return tuple(name for name, choice in self.ops.items() if choice.quantized)

    @property
    def dynamic_ops(self) -> tuple[str, ...]:
        """Int8 ops whose activations are quantized at run time (in a static plan), in model order."""
        return tuple(name for name, choice in self.ops.items() if choice.dynamic)

    @property
    def all_fp32(self) -> bool:
        """Every op fell back: not a quantized model, whatever the accuracy says."""
        return not self.quantized_ops

    def with_ops(self, **changes: OpQuant) -> Plan:
        ops = dict(self.ops)
        ops.update(changes)
        return replace(self, ops=FrozenDict(ops))

    def with_fallback(self, *names: str) -> Plan:
        return self.with_ops(**{n: FP32 for n in names})

    # --- serialisation ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "approach": self.approach,
            "calibration": self.calibration,
            "quant_format": self.quant_format,
            "smooth_quant_alpha": self.smooth_quant_alpha,
            "ops": {name: choice.to_dict() for name, choice in self.ops.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        body = dict(data)
        ops = FrozenDict((name, OpQuant(**choice)) for name, choice in body.pop("ops", {}).items())
        return cls(ops=ops, **body)

    @property
    def key(self) -> str:
        """A stable identifier: equal plans have equal keys across processes."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
