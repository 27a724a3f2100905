"""Post-training quantization of Keras models to TensorFlow Lite (registered name ``"tensorflow"``).

Static plans are TFLite's full-integer int8 (int8 activations and weights, float input and output): the
model is converted once with its calibration batches as the representative dataset, *calibrate only*, and
every plan is then quantized from that calibrated flatbuffer by TFLite's MLIR quantizer
(``convert.mlir_quantize``, what ``tf.lite.experimental.QuantizationDebugger`` uses for selective
quantization): fp32 fallback is its ``denylisted_nodes`` (op output tensors), so a fallback set costs
milliseconds, not a conversion. Dynamic plans are TFLite's dynamic-range quantization (int8 weights,
activations quantized per call by the hybrid kernels); TFLite cannot keep single ops float there.

What TFLite lets a plan choose (measured with TF 2.21): weights are symmetric int8; per-channel or
per-tensor is one switch for convolutions and one for fully-connected layers (the majority of each kind
decides, logged); activations are asymmetric int8 ranges from min/max calibration only. Op names are the
layer paths of the ops' weights in the converted graph (``model/dense_1``); ``quantizable_ops`` lists
them. Quantized models are ``tf_basics.TFLiteModel`` (the flatbuffer), run by ``ai_edge_litert``; the
fp32 baseline is timed as the float TFLite model on the same interpreter (XNNPACK), so a speedup is int8
against float on one runtime.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import BackendError, ConfigError
from .algorithm import APPROACHES, OpInfo, OpQuant, Plan
from .backend import PTQBackend, check_plan_ops, timing_threads

log = logging.getLogger(__name__)

# TFLite builtin op -> whether its second input is a weight (constant) a plan quantizes
_QUANTIZABLE = {"CONV_2D": True, "DEPTHWISE_CONV_2D": True, "FULLY_CONNECTED": True, "BATCH_MATMUL": False}
_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")
_STATIC = (OpQuant(weight_granularity="per_channel"), OpQuant())
_STATIC_DENSE = (OpQuant(), OpQuant(weight_granularity="per_channel"))
_DYNAMIC = (OpQuant(weight_granularity="per_channel"),)


@dataclass(frozen=True)
class _Op:
    info: OpInfo
    output: str  # the op's output tensor name in the float model (what denylisted_nodes matches)
    weight: str | None  # its weight tensor name (kept through quantization; locates the op in any form)


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise BackendError(
            "the tensorflow backend needs TensorFlow: pip install 'compressor[tf]' (tensorflow-cpu, ai-edge-litert)"
        ) from exc
    return tf


class TFLitePTQBackend(PTQBackend):
    """PTQ of Keras models (``keras.Model``) to TensorFlow Lite; batches are tuples of numpy arrays."""

    name = "tensorflow"

    def __init__(self, num_threads: int | None = None, *, threads: int | None = None) -> None:
        """``threads``: interpreter threads of ``latency_ms`` (``num_threads``: TFLite's name; default 1)."""
        _tf()
        self.threads = timing_threads(threads, "num_threads", num_threads)
        self._float: dict[int, tuple[Any, bytes]] = {}
        self._calibrated: dict[tuple[int, str], bytes] = {}
        self._op_lists: dict[int, list[_Op]] = {}
        self._reference: list[_Op] = []  # the ops of the last fp32 model listed: op_outputs finds them anywhere

    # --- model and space ---------------------------------------------------------------------------
    def prepare(self, model: Any) -> Any:
        from ...backends import tf_basics

        model = tf_basics.load(model)
        if isinstance(model, tf_basics.TFLiteModel):
            raise ConfigError("model", "a .tflite model", "a Keras model or a .keras file", reason="it is converted")
        if not hasattr(model, "inputs") or not model.inputs:
            raise ConfigError("model", type(model).__name__, "a built Keras model (with inputs)")
        return model

    def calibration_methods(self) -> tuple[str, ...]:
        return ("minmax",)  # TFLite's calibrator records min/max ranges only

    def quantizable_ops(self, model: Any) -> list[OpInfo]:
        return [op.info for op in self._ops(model)]

    def op_options(self, op: OpInfo, approach: str) -> list[OpQuant]:
        if approach not in APPROACHES:
            raise ConfigError("approach", approach, APPROACHES)
        if approach == "dynamic":
            return list(_DYNAMIC) if op.has_weight else []
        if not op.has_weight:
            return [OpQuant()]
        return list(_STATIC if op.op_type in _CONVS else _STATIC_DENSE)

    def formats(self, approach: str) -> tuple[str, ...]:
        if approach not in APPROACHES:
            raise ConfigError("approach", approach, APPROACHES)
        return ("default",)  # one form: the TFLite flatbuffer

    # --- quantization ------------------------------------------------------------------------------
    def quantize(self, model: Any, plan: Plan, calibration: Sequence[Any]) -> Any:
        from ...backends.tf_basics import TFLiteModel

        ops = self._ops(model)
        names = [op.info.name for op in ops]
        check_plan_ops(plan, names)
        if plan.smooth_quant_alpha is not None:
            raise BackendError("the tensorflow backend has no SmoothQuant")
        choices = {op.info.name: plan.ops.get(op.info.name) or self._first(op.info, plan.approach) for op in ops}
        fp32 = [op for op in ops if not choices[op.info.name].quantized]
        if len(fp32) == len(ops):
            log.info("every op of the plan is fp32: returning the float TFLite model")
            return TFLiteModel(self._float_model(model)[1], threads=self.threads)
        if plan.approach == "dynamic":
            if fp32:
                raise BackendError(
                    "TFLite's dynamic-range quantization cannot keep single ops in float "
                    f"({[op.info.name for op in fp32]}); use approach='static' for per-op fallback"
                )
            return TFLiteModel(self._dynamic(model), threads=self.threads)
        if plan.calibration not in self.calibration_methods():
            raise BackendError(f"TFLite calibrates min/max ranges only, not {plan.calibration!r}")
        if not calibration:
            raise BackendError("static quantization needs calibration batches; none were given")
        per_channel_convs, per_channel_dense = self._granularity(ops, choices)
        convert = _convert_module()
        try:
            content = convert.mlir_quantize(
                self._calibrated_model(model, calibration),
                disable_per_channel=not (per_channel_convs or per_channel_dense),
                disable_per_channel_for_dense_layers=not per_channel_dense,
                fully_quantize=False,
                denylisted_nodes=[op.output for op in fp32] or None,
            )
        except Exception as exc:
            raise BackendError(f"TFLite quantization failed: {type(exc).__name__}: {exc}") from exc
        return TFLiteModel(content, threads=self.threads)

    def _first(self, op: OpInfo, approach: str) -> OpQuant:
        from .algorithm import FP32

        options = self.op_options(op, approach)
        return options[0] if options else FP32

    def _granularity(self, ops: list[_Op], choices: dict[str, OpQuant]) -> tuple[bool, bool]:
        """(per-channel convs, per-channel fully-connected): one switch per kind, the majority decides."""
        decided = []
        for kinds in (_CONVS, ("FULLY_CONNECTED",)):
            chosen = [choices[op.info.name] for op in ops if op.info.op_type in kinds and op.info.has_weight]
            chosen = [c for c in chosen if c.quantized]
            wanted = sum(c.weight_granularity == "per_channel" for c in chosen)
            majority = wanted * 2 > len(chosen)
            if 0 < wanted < len(chosen):
                log.info(
                    "TFLite has one granularity switch per op kind: %d of %d %s ops asked for per_channel, "
                    "quantizing all of them %s",
                    wanted,
                    len(chosen),
                    "/".join(kinds),
                    "per_channel" if majority else "per_tensor",
                )
            decided.append(majority)
        convs, dense = decided
        if dense and not convs and any(op.info.op_type in _CONVS for op in ops):
            log.info(
                "TFLite cannot run per-channel fully-connected layers with per-tensor convolutions: all per-tensor"
            )
            dense = False
        return convs, dense

    def _converter(self, model: Any) -> Any:
        return _tf().lite.TFLiteConverter.from_keras_model(model)

    def _float_model(self, model: Any) -> tuple[Any, bytes]:
        cached = self._float.get(id(model))
        if cached is None or cached[0] is not model:
            self._op_lists.pop(id(model), None)
            try:
                content = self._converter(model).convert()
            except Exception as exc:
                raise BackendError(f"TFLite cannot convert this model: {type(exc).__name__}: {exc}") from exc
            cached = (model, content)
            self._float[id(model)] = cached
        return cached

    def _calibrated_model(self, model: Any, calibration: Sequence[Any]) -> bytes:
        key = (id(model), _digest(calibration))
        cached = self._calibrated.get(key)
        if cached is None:
            tf = _tf()
            converter = self._converter(model)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([np.asarray(a) for a in _as_tuple(b)] for b in calibration)
            converter.experimental_mlir_quantizer = True
            converter._experimental_calibrate_only = True  # noqa: SLF001 - the debugger's own route
            try:
                cached = converter.convert()
            except Exception as exc:
                raise BackendError(f"TFLite calibration failed: {type(exc).__name__}: {exc}") from exc
            self._calibrated[key] = cached
        return cached

    def _dynamic(self, model: Any) -> bytes:
        converter = self._converter(model)
        converter.optimizations = [_tf().lite.Optimize.DEFAULT]
        try:
            return converter.convert()
        except Exception as exc:
            raise BackendError(f"TFLite dynamic-range quantization failed: {type(exc).__name__}: {exc}") from exc

    def _ops(self, model: Any) -> list[_Op]:
        self._float_model(model)  # (re)validates the id-keyed caches against this very model
        if id(model) not in self._op_lists:
            self._op_lists[id(model)] = self._list_ops(model)
        self._reference = self._op_lists[id(model)]
        return self._reference

    def _list_ops(self, model: Any) -> list[_Op]:
        from ...backends.tf_basics import TFLiteModel

        interpreter = TFLiteModel(self._float_model(model)[1]).interpreter()
        tensors = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
        ops, seen = [], set()
        for detail in interpreter._get_ops_details():  # noqa: SLF001 - the only op listing TFLite has
            kind = detail["op_name"]
            if kind not in _QUANTIZABLE:
                continue
            has_weight = _QUANTIZABLE[kind]
            weight = tensors.get(detail["inputs"][1]) if has_weight and len(detail["inputs"]) > 1 else None
            output = tensors[detail["outputs"][0]]
            base = _layer_path(weight if weight is not None else output)
            name, suffix = base, 0
            while name in seen:
                suffix += 1
                name = f"{base}_{suffix}"
            seen.add(name)
            ops.append(_Op(OpInfo(name, kind, has_weight=has_weight), output, weight))
        return ops

    # --- measurement -------------------------------------------------------------------------------
    def op_outputs(self, model: Any, batches: Sequence[Any], op_names: Sequence[str]) -> dict[str, Any]:
        """Outputs of the named ops (int8 ones dequantized), found in any form of the model by their weight
        tensor (its name survives quantization) or, without a weight, by their output tensor name."""
        from ...backends.tf_basics import TFLiteModel, run

        reference = self._reference if isinstance(model, TFLiteModel) else self._ops(model)
        if not reference:
            raise BackendError("op_outputs of a TFLite model needs quantizable_ops(fp32 model) first")
        wanted = {op.info.name: op for op in reference if op.info.name in op_names}
        missing = [n for n in op_names if n not in wanted]
        if missing:
            raise BackendError(f"unknown op(s) {missing}")
        flat = model if isinstance(model, TFLiteModel) else TFLiteModel(self._float_model(model)[1])
        interpreter = flat.interpreter(preserve_all_tensors=True)
        details = {t["index"]: t for t in interpreter.get_tensor_details()}
        located = {}
        for detail in interpreter._get_ops_details():  # noqa: SLF001
            inputs = [details[i]["name"] for i in detail["inputs"] if i >= 0]
            for name, op in wanted.items():
                hit = (
                    op.weight in inputs if op.weight is not None else details[detail["outputs"][0]]["name"] == op.output
                )
                if hit and detail["op_name"] in _QUANTIZABLE:
                    located[name] = detail["outputs"][0]
        lost = [n for n in op_names if n not in located]
        if lost:
            raise BackendError(f"op(s) {lost} not found in this TFLite model")
        collected: dict[str, list[np.ndarray]] = {name: [] for name in op_names}
        for batch in batches:
            run(interpreter, _as_tuple(batch), None)
            for name in op_names:
                detail = details[located[name]]
                value = interpreter.get_tensor(located[name])
                collected[name].append(_dequantized(value, detail))
        return {name: np.concatenate(parts) for name, parts in collected.items()}

    def latency_ms(self, model: Any, batch: Any, *, warmup: int = 3, iterations: int = 20) -> float:
        from ...backends.tf_basics import TFLiteModel, run
        from ...timing import median, time_calls

        flat = model if isinstance(model, TFLiteModel) else TFLiteModel(self._float_model(model)[1])
        interpreter = TFLiteModel(flat.content, threads=self.threads).interpreter()
        inputs = _as_tuple(batch)
        run(interpreter, inputs, None)  # allocates for this batch shape: later calls only set and invoke
        return median(time_calls(lambda b: run(interpreter, b, None), inputs, warmup=warmup, iterations=iterations))

    def fp32_optimized(self, model: Any, *, level: str = "extended") -> Any:
        """The float TensorFlow Lite conversion of a Keras model (the "fp32 + graph optimization" baseline on
        the int8 models' runtime); ``level`` is accepted for the common signature and has no effect."""
        from ...backends.tf_basics import TFLiteModel

        return TFLiteModel(self._float_model(self.prepare(model))[1], threads=self.threads)

    def save(self, model: Any, path: str) -> None:
        from ...backends.tf_basics import TFLiteModel

        if not isinstance(model, TFLiteModel):
            raise BackendError(
                "only quantized (TFLite) models are saved by this backend; save a Keras model with .save"
            )
        with open(path, "wb") as handle:
            handle.write(model.content)

    def load(self, path: str, fp32_model: Any = None) -> Any:
        from ...backends.tf_basics import TFLiteModel

        with open(path, "rb") as handle:
            return TFLiteModel(handle.read(), threads=self.threads)

    def size_bytes(self, model: Any) -> int:
        from ...backends.tf_basics import TFLiteModel

        return len(model.content if isinstance(model, TFLiteModel) else self._float_model(model)[1])


def _convert_module() -> Any:
    from tensorflow.lite.python import convert

    return convert


def _layer_path(tensor: str) -> str:
    """``net_1/fc1_1/MatMul;net_1/fc1_1/Relu`` -> ``net_1/fc1_1``: the layer that owns the tensor."""
    first = tensor.split(";")[0]
    return first.rsplit("/", 1)[0] if "/" in first else first


def _dequantized(value: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if value.dtype in (np.int8, np.uint8, np.int16, np.int32) and detail.get("quantization", (0.0, 0))[0]:
        scale, zero = detail["quantization"]
        return (value.astype(np.float32) - zero) * scale
    return np.asarray(value, dtype=np.float32)


def _as_tuple(batch: Any) -> tuple:
    return tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)


def _digest(calibration: Sequence[Any]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for batch in calibration:
        for array in _as_tuple(batch):
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()[:20]
