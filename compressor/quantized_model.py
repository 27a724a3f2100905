"""What ``quantization.fit`` and ``recover`` return: the native model plus what was decided and measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .algorithms.ptq.algorithm import Plan


class QuantizedModel:
    """A tuned model. ``.model`` is the framework's own object; ``.q_config`` says what each op became.

    ``q_config["fallback_ops"]`` lists the ops kept in fp32 (seed 002's ``excluded_symbols``).
    """

    def __init__(self, backend: Any, model: Any, plan: Plan, tuning: Any = None) -> None:
        self.backend = backend
        self.model = model
        self.plan = plan
        self.tuning = tuning

    @property
    def q_config(self) -> dict[str, Any]:
        out = self.plan.to_dict()
        out["fallback_ops"] = list(self.plan.fallback_ops)
        out["quantized_ops"] = list(self.plan.quantized_ops)
        out["all_fp32"] = self.plan.all_fp32
        out["framework"] = self.backend.name
        return out

    @property
    def met_criterion(self) -> bool | None:
        return None if self.tuning is None else self.tuning.met_criterion

    @property
    def accuracy(self) -> float | None:
        return None if self.tuning is None else self.tuning.accuracy

    def save(self, path: str | Path) -> Path:
        """Write the model and, beside it, ``<name>.qconfig.json`` with the per-op decisions."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.backend.save(self.model, str(path))
        sidecar = path.with_name(path.name + ".qconfig.json")
        sidecar.write_text(json.dumps(self.q_config, indent=2, sort_keys=True))
        return path

    def export_onnx(self, path: str | Path, example_batch: Any = None) -> Path:
        """The tuned model as an ONNX file (ONNX models are written as they are)."""
        path = Path(path)
        export = getattr(self.backend, "export_onnx", None)
        if export is None:
            self.backend.save(self.model, str(path))
        else:
            export(self.model, str(path), example_batch)
        return path

    def summary(self) -> str:
        if self.tuning is None:
            return f"recovered plan {self.plan.key}: {len(self.plan.quantized_ops)} int8 ops, fallback {list(self.plan.fallback_ops)}"
        return self.tuning.summary()

    def __repr__(self) -> str:
        state = "" if self.tuning is None else f", met_criterion={self.met_criterion}, accuracy={self.accuracy:.4f}"
        return f"QuantizedModel({self.backend.name}, {len(self.plan.quantized_ops)} int8 ops, fallback={list(self.plan.fallback_ops)}{state})"
