"""QAT for Keras models (framework ``"tensorflow"``): fake quantization during training, TFLite int8 at the end.

``on_train_begin`` replaces, on the user's model itself, the ``call`` of every planned Dense/Conv layer
with one that computes on fake-quantized values: its input with 8-bit asymmetric ranges tracked as a
moving average while training (``tf.quantization.fake_quant_with_min_max_vars``), its kernel symmetric
8-bit per output channel for convolutions and per tensor for dense layers, as TFLite's int8 kernels will
(``..._per_channel``; both ops pass gradients straight through). The model object, its variables and an
optimizer built on them stay valid. It also keeps the model's most recent eager inputs (a GradientTape loop
runs eagerly). ``on_train_end`` restores the layers' own ``call`` (the trained float weights stay) and
converts the model through the TFLite PTQ backend's static path, calibrated on those inputs: the result is
a ``QuantizedModel`` of a TFLite int8 flatbuffer, like ``quantization.fit``'s.
"""

from __future__ import annotations

import collections
import logging
from typing import Any

import numpy as np

from ...backends.tf_basics import keras_layers
from ...errors import BackendError
from ..component import TrainingComponent
from ..ptq.algorithm import OpInfo, OpQuant, Plan
from .algorithm import qat_plan

log = logging.getLogger(__name__)

CALIBRATION_BATCHES = 8
_CONVS = ("Conv1D", "Conv2D", "Conv3D")
_QUANTIZABLE = (*_CONVS, "Dense")
_MOMENTUM = 0.9


class KerasQAT(TrainingComponent):
    name = "qat"
    end_order = 2  # converts last: pruning and distillation finish on the float model first

    def __init__(self, config: Any, calibration_batches: int = CALIBRATION_BATCHES) -> None:
        from ..ptq.tflite_backend import TFLitePTQBackend

        self.config = config
        self.backend = TFLitePTQBackend()
        self.plan: Plan | None = None
        self.quantized = None
        self._recent: collections.deque = collections.deque(maxlen=calibration_batches)
        self._patched: list[Any] = []

    def validate(self, model: Any) -> None:
        ops, options = [], {}
        for layer in keras_layers(model):
            kind = type(layer).__name__
            if kind in _QUANTIZABLE:
                ops.append(OpInfo(layer.name, kind))
                per_channel = OpQuant(weight_granularity="per_channel")
                options[layer.name] = [per_channel, OpQuant()] if kind in _CONVS else [OpQuant(), per_channel]
        self.plan = qat_plan(ops, options, self.config)

    def on_train_begin(self, model: Any) -> None:
        if self.plan is None:
            self.validate(model)
        if self._patched:
            return  # seed 001 calls on_train_begin twice
        layers = {layer.name: layer for layer in keras_layers(model)}
        for name in self.plan.quantized_ops:
            _patch(layers[name], self.plan.ops[name].weight_granularity == "per_channel")
            self._patched.append(layers[name])
        own_call = model.call

        def keep_inputs(inputs, *args, **kwargs):
            import tensorflow as tf

            if tf.executing_eagerly():
                batch = inputs if isinstance(inputs, (list, tuple)) else (inputs,)
                self._recent.append(tuple(np.asarray(b) for b in batch))
            return own_call(inputs, *args, **kwargs)

        model.call = keep_inputs
        self._model = model
        log.info("QAT: fake quantization on %d layers, fp32: %s", len(self._patched), self.plan.fallback_ops)

    def on_train_end(self, model: Any) -> Any:
        from ...quantized_model import QuantizedModel

        model = model if model is not None else self._model
        for layer in self._patched:
            del layer.call  # the class's own call again
        self._patched = []
        if "call" in vars(model):
            del model.call
        if not self._recent:
            raise BackendError(
                "QAT: the model was never called eagerly between on_train_begin and on_train_end, so there are "
                "no inputs to calibrate the int8 model with; run the training loop between the two hooks"
            )
        prepared = self.backend.prepare(model)
        tflite_ops = [op.name for op in self.backend.quantizable_ops(prepared)]
        keras_ops = list(self.plan.ops)
        if len(tflite_ops) != len(keras_ops):
            raise BackendError(
                f"QAT: the converted model has {len(tflite_ops)} quantizable ops, the Keras model {len(keras_ops)}"
            )
        plan = Plan(ops={t: self.plan.ops[k] for t, k in zip(tflite_ops, keras_ops, strict=True)})
        int8 = self.backend.quantize(prepared, plan, list(self._recent))
        self.quantized = QuantizedModel(self.backend, int8, plan)
        return int8

    def summary(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "technique": "qat",
            "framework": "tensorflow",
            "quantized_ops": list(plan.quantized_ops) if plan else [],
            "fallback_ops": list(plan.fallback_ops) if plan else [],
            "calibration_batches": len(self._recent),
            "converted": self.quantized is not None,
        }


def _patch(layer: Any, per_channel: bool) -> None:
    """``layer.call`` on fake-quantized input and kernel (see the module docstring)."""
    import keras
    import tensorflow as tf

    low = tf.Variable(0.0, trainable=False, name=f"{layer.name}_qat_min")
    high = tf.Variable(0.0, trainable=False, name=f"{layer.name}_qat_max")
    seen = tf.Variable(False, trainable=False, name=f"{layer.name}_qat_seen")
    kind = type(layer).__name__
    if kind != "Dense" and getattr(layer, "data_format", "channels_last") != "channels_last":
        raise BackendError(f"QAT: layer {layer.name!r} is {layer.data_format}; only channels_last convolutions")

    def call(inputs, training=None):
        x = tf.convert_to_tensor(inputs)
        if training:
            lo, hi = tf.minimum(tf.reduce_min(x), 0.0), tf.maximum(tf.reduce_max(x), 0.0)
            new_lo = tf.where(seen, _MOMENTUM * low + (1 - _MOMENTUM) * lo, lo)
            new_hi = tf.where(seen, _MOMENTUM * high + (1 - _MOMENTUM) * hi, hi)
            low.assign(new_lo)
            high.assign(new_hi)
            seen.assign(True)
        x = tf.cond(seen, lambda: tf.quantization.fake_quant_with_min_max_vars(x, low, high, num_bits=8), lambda: x)
        kernel = tf.convert_to_tensor(layer.kernel)
        if per_channel:
            axes = list(range(len(kernel.shape) - 1))
            bound = tf.maximum(tf.reduce_max(tf.abs(kernel), axis=axes), 1e-8)
            kernel = tf.quantization.fake_quant_with_min_max_vars_per_channel(kernel, -bound, bound, narrow_range=True)
        else:
            bound = tf.maximum(tf.reduce_max(tf.abs(kernel)), 1e-8)
            kernel = tf.quantization.fake_quant_with_min_max_vars(kernel, -bound, bound, narrow_range=True)
        if kind == "Dense":
            y = keras.ops.matmul(x, kernel)
        else:
            y = layer.convolution_op(x, kernel)
        if layer.use_bias:
            y = y + layer.bias  # channels-last: the bias broadcasts over the last axis
        return layer.activation(y) if layer.activation is not None else y

    layer.call = call
