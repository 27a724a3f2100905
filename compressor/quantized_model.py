"""What ``quantization.fit`` and ``recover`` return: the native model plus what was decided and measured;
``load`` reads back what ``QuantizedModel.save`` wrote (forms by suffix: ``saved_forms.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .algorithms.ptq.algorithm import Plan
from .errors import BackendError, ConfigError
from .saved_forms import ONNX, QUANTIZED_FORMS, calibration_example, saved_form

SIDECAR_SUFFIX = ".qconfig.json"
PLAN_KEYS = ("approach", "calibration", "quant_format", "smooth_quant_alpha", "ops")  # q_config's plan part


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
        """Write the model in the form the suffix names, and beside it ``<name>.qconfig.json`` with the
        per-op decisions. torch: ``.pt``/``.pth``/``.pt2`` (torch archive) or ``.onnx`` (ONNX export, QDQ);
        ONNX models: ``.onnx``; Keras models (TensorFlow Lite): ``.tflite``. Any other suffix is a
        ``ConfigError``. Reload with ``quantization.load``."""
        path = Path(path)
        form = saved_form(QUANTIZED_FORMS, self.backend.name, path, "int8")
        path.parent.mkdir(parents=True, exist_ok=True)
        if form == ONNX:
            try:
                self.export_onnx(path)
            except BackendError as exc:
                raise BackendError(
                    f"{path.name}: the .onnx suffix exports the model to ONNX, which failed ({exc}); "
                    f"save it as .pt to keep the {self.backend.name} form"
                ) from exc
        else:
            self.backend.save(self.model, str(path))
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        sidecar.write_text(json.dumps(self.q_config, indent=2, sort_keys=True))
        return path

    def export_onnx(self, path: str | Path, example_batch: Any = None) -> Path:
        """The tuned model as an ONNX file (ONNX models are written as they are). Without ``example_batch``
        the first calibration batch is used: the one kept in the tuning workspace, or the rows a static
        torch int8 model keeps for export."""
        path = Path(path)
        export = getattr(self.backend, "export_onnx", None)
        if export is None:
            self.backend.save(self.model, str(path))
            return path
        if example_batch is None:
            example_batch = calibration_example(self.tuning)
        export(self.model, str(path), example_batch)
        return path

    def summary(self) -> str:
        if self.tuning is None:
            return f"recovered plan {self.plan.key}: {len(self.plan.quantized_ops)} int8 ops, fallback {list(self.plan.fallback_ops)}"
        return self.tuning.summary()

    def __repr__(self) -> str:
        state = "" if self.tuning is None else f", met_criterion={self.met_criterion}, accuracy={self.accuracy:.4f}"
        return f"QuantizedModel({self.backend.name}, {len(self.plan.quantized_ops)} int8 ops, fallback={list(self.plan.fallback_ops)}{state})"


def load(path: str | Path, fp32_model: Any = None, *, backend_options: dict[str, Any] | None = None) -> QuantizedModel:
    """Reload what ``QuantizedModel.save`` wrote: ``.onnx`` as an ONNX model (also what a torch model
    exported), ``.pt``/``.pth``/``.pt2`` as a torch int8 model, ``.tflite`` as a TensorFlow Lite model. ``fp32_model`` (the ``nn.Module`` it was
    quantized from) is needed only for dynamic torch models. ``q_config`` comes from the sidecar
    ``<name>.qconfig.json`` that ``save`` writes beside the model."""
    from .algorithms.ptq import ptq_backend

    path = Path(path)
    framework = {".onnx": "onnxrt", ".tflite": "tensorflow"}.get(path.suffix.lower(), "torch")
    saved_form(QUANTIZED_FORMS, framework, path, "int8")  # refuses suffixes save never writes
    if not path.is_file():
        raise ConfigError("path", str(path), "a file written by QuantizedModel.save", reason="file not found")
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        raise ConfigError(
            "path",
            str(path),
            "a model saved by QuantizedModel.save, with its sidecar beside it",
            reason=f"{sidecar.name} (the per-op decisions save writes) is missing",
        )
    decisions = json.loads(sidecar.read_text())
    plan = Plan.from_dict({k: v for k, v in decisions.items() if k in PLAN_KEYS})
    backend = ptq_backend(framework, **(backend_options or {}))
    return QuantizedModel(backend, backend.load(str(path), fp32_model), plan)
