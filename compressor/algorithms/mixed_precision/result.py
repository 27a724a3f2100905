"""What ``mix_precision.fit``/``load``/``recover`` return: the converted model, what each op became, and
whether the hardware makes a speedup possible at all (so a slowdown is never reported silently)."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from ...hardware import HardwareVerdict, cpu_capabilities
from ...saved_forms import MIXED_PRECISION_FORMS, ONNX, calibration_example, saved_form
from ..ptq.algorithm import Plan
from .algorithm import ops_by_dtype

log = logging.getLogger(__name__)
SIDECAR_SUFFIX = ".mixed_precision.json"


class MixedPrecisionModel:
    """A bf16/fp16 + fp32 model. ``.model`` is the framework's own object.

    ``fp32_ops``: ops kept in fp32 (fallback for accuracy); ``fp32_compute_ops``: converted ops whose
    arithmetic still runs in fp32 because the runtime has no kernel for them; ``hardware``: the verdict
    per precision used (``.emulated`` / ``.hardware_note`` say "emulated: no speedup expected").
    """

    def __init__(
        self,
        backend: Any,
        model: Any,
        plan: Plan,
        *,
        hardware: dict[str, HardwareVerdict],
        tuning: Any = None,
        requested: tuple[str, ...] = (),
    ) -> None:
        self.backend = backend
        self.model = model
        self.plan = plan
        self.hardware = hardware
        self.tuning = tuning
        self.requested = requested

    # --- what was done -----------------------------------------------------------------------------
    @property
    def ops(self) -> dict[str, str]:
        return {name: choice.dtype for name, choice in self.plan.ops.items()}

    @property
    def precisions(self) -> tuple[str, ...]:
        """Low precisions actually used, in the order they were preferred."""
        used = set(ops_by_dtype(self.plan)) - {"fp32"}
        order = list(self.requested) + sorted(used - set(self.requested))
        return tuple(p for p in order if p in used)

    @property
    def converted_ops(self) -> tuple[str, ...]:
        return self.plan.quantized_ops

    @property
    def fp32_ops(self) -> tuple[str, ...]:
        return self.plan.fallback_ops

    @property
    def fp32_compute_ops(self) -> list[str]:
        return self.backend.fp32_compute_ops(self.model)

    @property
    def all_fp32(self) -> bool:
        """No op was converted: not a mixed-precision model."""
        return self.plan.all_fp32

    @property
    def emulated(self) -> bool:
        verdicts = [self.hardware[p] for p in (self.precisions or self.requested) if p in self.hardware]
        return not verdicts or not all(v.native for v in verdicts)

    @property
    def hardware_note(self) -> str:
        shown = self.precisions or self.requested
        return "; ".join(self.hardware[p].note for p in shown if p in self.hardware)

    # --- what was measured -------------------------------------------------------------------------
    @property
    def met_criterion(self) -> bool | None:
        return None if self.tuning is None else self.tuning.met_criterion

    @property
    def accuracy(self) -> float | None:
        return None if self.tuning is None else self.tuning.accuracy

    @property
    def speedup(self) -> float:
        return math.nan if self.tuning is None else self.tuning.speedup

    @property
    def config(self) -> dict[str, Any]:
        return {
            "framework": self.backend.name,
            "precisions": list(self.precisions),
            "ops": self.ops,
            "fp32_ops": list(self.fp32_ops),
            "fp32_compute_ops": self.fp32_compute_ops,
            "all_fp32": self.all_fp32,
            "emulated": self.emulated,
            "hardware_note": self.hardware_note,
            "hardware": {p: v.to_dict() for p, v in self.hardware.items()},
            "cpu": cpu_capabilities().to_dict(),
        }

    # --- artefacts ---------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model in the form the suffix names (torch: ``.pt``/``.pth`` state dict or ``.onnx``
        export; ONNX models: ``.onnx``; others: ``ConfigError``) and, beside it,
        ``<name>.mixed_precision.json`` (per-op precisions, verdict). Reload with ``mix_precision.load``."""
        path = Path(path)
        form = saved_form(MIXED_PRECISION_FORMS, self.backend.name, path, "mixed-precision")
        path.parent.mkdir(parents=True, exist_ok=True)
        if form == ONNX:
            self.export_onnx(path)
        else:
            self.backend.save(self.model, str(path))
        path.with_name(path.name + SIDECAR_SUFFIX).write_text(json.dumps(self.config, indent=2, sort_keys=True))
        return path

    def export_onnx(self, path: str | Path, example_batch: Any = None) -> Path:
        """The converted model as ONNX; without ``example_batch``, the first batch tuning measured with."""
        path = Path(path)
        if example_batch is None:
            example_batch = calibration_example(self.tuning)
        self.backend.export_onnx(self.model, str(path), example_batch)
        return path

    def summary(self) -> str:
        label = "+".join(self.precisions) or "fp32"
        lines = [f"Mixed precision ({self.backend.name}): {label} on {len(self.converted_ops)} op(s)."]
        if self.tuning is not None:
            t = self.tuning
            lines.append(
                f"Accuracy {t.accuracy:.4f} vs fp32 {t.baseline_accuracy:.4f}; criterion "
                f"{'met' if t.met_criterion else 'NOT met'}; latency {t.latency_ms:.3f} ms vs fp32 "
                f"{t.fp32_latency_ms:.3f} ms ({t.speedup:.2f}x); {len(t.trials)} trial(s)."
            )
            lines.append(t.explanation.replace("int8", label))
        if self.all_fp32:
            lines.append("NOT CONVERTED: every op is fp32.")
        lines.append(f"fp32 fallback ops: {shorten(self.fp32_ops) or 'none'}.")
        if self.fp32_compute_ops:
            lines.append(f"Converted but computed in fp32 (no kernel): {shorten(self.fp32_compute_ops)}.")
        lines.append(f"Hardware: {self.hardware_note}.")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        state = "" if self.tuning is None else f", met_criterion={self.met_criterion}, accuracy={self.accuracy:.4f}"
        return (
            f"MixedPrecisionModel({self.backend.name}, {'+'.join(self.precisions) or 'fp32'} on "
            f"{len(self.converted_ops)} ops, fp32={list(self.fp32_ops)}, "
            f"{'emulated' if self.emulated else 'native'}{state})"
        )


def shorten(names: Any, shown: int = 6) -> str:
    names = list(names)
    text = ", ".join(names[:shown])
    return text + (f", ... ({len(names)} in all)" if len(names) > shown else "")
