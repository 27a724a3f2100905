"""Keras mixed precision (``KerasMixedPrecisionBackend``, registered name ``"tensorflow"``).

A converted layer gets Keras' ``mixed_bfloat16`` / ``mixed_float16`` dtype policy: its variables stay
float32 and its computation runs in bf16/fp16 (Keras casts the inputs down and the layer's output is the
low precision; the next fp32 layer casts it back up). The model is rebuilt with ``clone_model`` (a new
model: the user's is not touched) and the same weights. The op space is the layers with a kernel (Dense,
Conv*, DepthwiseConv*, SeparableConv*, EinsumDense); normalisations, pooling, activations and softmax
keep the model's float32 policy, so any one layer can fall back alone.

Whether it is faster depends on TensorFlow's kernels: oneDNN's bf16 kernels need AVX512_BF16/AMX (and TF
built with oneDNN, as the x86 wheels are); elsewhere TF runs bf16 through Eigen, emulated, measured here
(TF 2.21, AVX2) at the same accuracy and 1.0-2.1x slower. The hardware verdict says which.
Saved as ``.keras`` (the per-layer policies are part of the model's config), reloaded with
``safe_mode=True``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...backends.tf_basics import keras_layers as _layers
from ...errors import BackendError, did_you_mean_hint
from ...hardware import HardwareVerdict, assess, cpu_capabilities
from ..ptq.algorithm import OpInfo, Plan
from ..ptq.backend import timing_threads
from .algorithm import ops_by_dtype
from .backend import MixedPrecisionBackend

POLICIES = {"bf16": "mixed_bfloat16", "fp16": "mixed_float16"}
CONVERTIBLE = ("Dense", "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "EinsumDense")


def _keras() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
    except ImportError as exc:
        raise BackendError("Keras mixed precision needs TensorFlow: pip install 'compressor[tf]'") from exc
    return keras


class KerasMixedPrecisionBackend(MixedPrecisionBackend):
    """Mixed precision for Keras models; batches are tuples of numpy arrays."""

    name = "tensorflow"

    def __init__(self, num_threads: int | None = None, *, threads: int | None = None) -> None:
        """``threads``: TensorFlow intra-op threads of ``latency_ms`` (set before TF starts; default 1)."""
        self.threads = timing_threads(threads, "num_threads", num_threads)
        _keras()

    # --- the op space ------------------------------------------------------------------------------
    def quantizable_ops(self, model: Any) -> list[OpInfo]:
        return [OpInfo(layer.name, type(layer).__name__) for layer in _layers(model) if _convertible(layer)]

    def hardware(self, precision: str, model: Any = None) -> HardwareVerdict:
        cpu = cpu_capabilities()
        onednn = _onednn_enabled()
        return assess(
            precision,
            cpu,
            runtime="TensorFlow/oneDNN" if onednn else "TensorFlow/Eigen",
            runtime_native=None if onednn else False,
            runtime_reason="" if onednn else "runs with oneDNN off (TF_ENABLE_ONEDNN_OPTS=0): Eigen emulates it",
        )

    # --- conversion --------------------------------------------------------------------------------
    def convert(self, model: Any, plan: Plan) -> Any:
        keras = _keras()
        names = [op.name for op in self.quantizable_ops(model)]
        unknown = sorted(set(plan.ops) - set(names))
        if unknown:
            raise BackendError(
                f"Keras mixed precision: plan names layers the model does not have: {unknown}"
                + did_you_mean_hint(unknown[0], names)
            )
        policy = {name: POLICIES[d] for d, ops in ops_by_dtype(plan).items() if d in POLICIES for name in ops}

        def clone(layer: Any) -> Any:
            config = layer.get_config()
            if layer.name in policy:
                config["dtype"] = keras.DTypePolicy(policy[layer.name])
            return type(layer).from_config(config)

        try:
            converted = keras.models.clone_model(model, clone_function=clone)
        except Exception as exc:  # subclassed models cannot be cloned layer by layer
            raise BackendError(f"Keras mixed precision needs a Sequential or functional model: {exc}") from exc
        converted.set_weights(model.get_weights())
        return converted

    def converted_ops(self, model: Any) -> dict[str, str]:
        """{layer name: "bf16"|"fp16"} read from the layers' dtype policies."""
        names = {v: k for k, v in POLICIES.items()}
        found = {}
        for layer in _layers(model):
            policy = getattr(getattr(layer, "dtype_policy", None), "name", "")
            if policy in names and _convertible(layer):
                found[layer.name] = names[policy]
        return found

    # --- measurement -------------------------------------------------------------------------------
    def op_outputs(self, model: Any, batches: Sequence[Any], op_names: Sequence[str]) -> dict[str, Any]:
        keras = _keras()
        layers = {layer.name: layer for layer in _layers(model)}
        missing = [n for n in op_names if n not in layers]
        if missing:
            raise BackendError(f"layers {missing} are not in this model")
        probe = keras.Model(model.inputs, [layers[n].output for n in op_names])
        collected: dict[str, list] = {name: [] for name in op_names}
        for batch in batches:
            outputs = probe(list(_as_tuple(batch)) if len(model.inputs) > 1 else _as_tuple(batch)[0], training=False)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            for name, value in zip(op_names, outputs, strict=True):
                collected[name].append(np.asarray(value, dtype=np.float32))
        return {name: np.concatenate(parts) for name, parts in collected.items()}

    def latency_ms(self, model: Any, batch: Any, *, warmup: int = 3, iterations: int = 20) -> float:
        import tensorflow as tf

        from ...timing import median, time_calls

        inputs = [tf.convert_to_tensor(a) for a in _as_tuple(batch)]
        forward = tf.function(lambda *xs: model(list(xs) if len(xs) > 1 else xs[0], training=False))
        forward(*inputs)  # traces once: later calls run the graph
        return median(time_calls(lambda xs: forward(*xs).numpy(), inputs, warmup=max(warmup, 1), iterations=iterations))

    def size_bytes(self, model: Any) -> int:
        return int(sum(np.asarray(w).nbytes for w in model.get_weights()))

    # --- artefacts ---------------------------------------------------------------------------------
    def save(self, model: Any, path: str) -> None:
        if not str(path).endswith(".keras"):
            raise BackendError(f"{path}: a Keras mixed-precision model is saved as a .keras file")
        model.save(str(path))

    def load(self, path: str, fp32_model: Any = None) -> Any:
        return _keras().saving.load_model(str(path), safe_mode=True)

    def export_onnx(self, model: Any, path: str, example_batch: Any) -> None:
        raise BackendError("Keras models are not exported to ONNX here (tf2onnx fails on Keras 3); save as .keras")


def _convertible(layer: Any) -> bool:
    return type(layer).__name__ in CONVERTIBLE


def _onednn_enabled() -> bool:
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") not in ("0", "false", "False")


def _as_tuple(batch: Any) -> tuple:
    return tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)
