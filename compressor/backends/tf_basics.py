"""TensorFlow basics: Keras models and TensorFlow Lite flatbuffers on numpy inputs, fingerprints, loading.

A Keras 3 model (``keras.Model``) is the fp32 model; ``.keras`` files load with ``safe_mode=True`` (no
Python lambdas run on load). Quantized models are TensorFlow Lite flatbuffers (``TFLiteModel``: the bytes
plus an interpreter per thread count) run by ``ai_edge_litert`` (TF's own ``tf.lite.Interpreter`` is
deprecated and only the fallback).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np


def interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - the tf extra installs ai-edge-litert
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806
    return Interpreter


class TFLiteModel:
    """A TensorFlow Lite model (flatbuffer ``content``) callable on numpy batches of any batch size."""

    def __init__(self, content: bytes, *, threads: int = 1) -> None:
        self.content = bytes(content)
        self.threads = threads
        self._interpreter: Any = None
        self._shapes: tuple | None = None

    def __len__(self) -> int:
        return len(self.content)

    def interpreter(self, *, preserve_all_tensors: bool = False) -> Any:
        """A new interpreter (``preserve_all_tensors``: intermediate tensors stay readable after invoke)."""
        return interpreter_class()(
            model_content=self.content,
            num_threads=self.threads,
            experimental_preserve_all_tensors=preserve_all_tensors,
        )

    def __call__(self, *inputs: np.ndarray) -> np.ndarray:
        if self._interpreter is None:
            self._interpreter = self.interpreter()
        return run(self._interpreter, inputs, self)[0]

    def __getstate__(self) -> dict[str, Any]:  # interpreters do not pickle; the bytes are the model
        return {"content": self.content, "threads": self.threads}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["content"], threads=state["threads"])


def run(interpreter: Any, inputs: tuple[np.ndarray, ...] | list[np.ndarray], owner: Any = None) -> list[np.ndarray]:
    """Every output of ``interpreter`` for positional ``inputs``; inputs are resized when their shapes change
    (``owner._shapes`` remembers the last ones so an unchanged batch does not re-allocate)."""
    details = interpreter.get_input_details()
    if len(inputs) != len(details):
        raise ValueError(f"the TFLite model takes {len(details)} input(s), got {len(inputs)}")
    arrays = [np.asarray(a, dtype=d["dtype"]) for a, d in zip(inputs, details, strict=True)]
    shapes = tuple(a.shape for a in arrays)
    last = getattr(owner, "_shapes", None) if owner is not None else None
    if last != shapes:
        for array, detail in zip(arrays, details, strict=True):
            if tuple(detail["shape"]) != array.shape:
                interpreter.resize_tensor_input(detail["index"], array.shape, strict=False)
        interpreter.allocate_tensors()
        if owner is not None:
            owner._shapes = shapes
    for array, detail in zip(arrays, details, strict=True):
        interpreter.set_tensor(detail["index"], array)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def keras_layers(model: Any) -> list[Any]:
    """Every layer of a Keras model, nested models flattened, in the model's order."""
    found = []
    for layer in model.layers:
        found.extend(keras_layers(layer) if hasattr(layer, "layers") and layer.layers else [layer])
    return found


def is_saved_model(path: Any) -> bool:
    """A TensorFlow SavedModel directory (it holds ``saved_model.pb``)."""
    return isinstance(path, (str, Path)) and (Path(path) / "saved_model.pb").is_file()


def is_tf_function(model: Any) -> bool:
    """A ``tf.function`` (with an ``input_signature``) or one of its concrete functions."""
    import sys

    module = type(model).__module__
    if "tensorflow" not in sys.modules or not module.startswith("tensorflow."):
        return False
    return hasattr(model, "get_concrete_function") or hasattr(model, "structured_input_signature")


def load(model: Any) -> Any:
    """A Keras model from a ``.keras`` file, a SavedModel directory or a ``tf.function``; a ``TFLiteModel``
    from a ``.tflite`` file; else ``model`` itself. A SavedModel (its ``serving_default`` signature) and a
    ``tf.function`` become a one-layer functional Keras model around them, so every Keras path (TFLite
    conversion, op listing, timing) applies unchanged."""
    if is_saved_model(model):
        return _around_saved_model(str(model))
    if isinstance(model, (str, Path)):
        path = Path(model)
        if path.suffix == ".tflite":
            return TFLiteModel(path.read_bytes())
        import keras

        return keras.saving.load_model(str(path), safe_mode=True)
    if is_tf_function(model):
        return _around_function(model)
    return model


def _around_saved_model(path: str) -> Any:
    import keras
    import tensorflow as tf

    signature = tf.saved_model.load(path).signatures["serving_default"]
    specs = list(signature.structured_input_signature[1].values())
    if len(specs) != 1:
        raise ValueError(f"{path}: a SavedModel whose serving_default takes {len(specs)} inputs; one is supported")
    spec = specs[0]
    inputs = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype.name, name=spec.name)
    outputs = keras.layers.TFSMLayer(path, call_endpoint="serving_default")(inputs)
    if isinstance(outputs, dict):
        outputs = outputs[sorted(outputs)[0]]
    return keras.Model(inputs, outputs, name=Path(path).name or "saved_model")


def _around_function(fn: Any) -> Any:
    import keras

    concrete = fn.get_concrete_function() if hasattr(fn, "get_concrete_function") else fn
    specs = [s for s in concrete.structured_input_signature[0]]
    if len(specs) != 1:
        raise ValueError(f"a tf.function with {len(specs)} inputs; one input with an input_signature is supported")
    spec = specs[0]

    class FunctionLayer(keras.layers.Layer):
        def call(self, x):
            return concrete(x)

        def compute_output_spec(self, x):
            out = concrete.structured_outputs
            return keras.KerasTensor(tuple(out.shape), dtype=out.dtype.name)

    inputs = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype.name)
    return keras.Model(inputs, FunctionLayer()(inputs), name="tf_function")


def predict(model: Any, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
    """First output for positional ``inputs`` (Keras: ``model(..., training=False)``)."""
    model = load(model)
    if isinstance(model, TFLiteModel):
        return model(*inputs)
    out = model(*inputs, training=False) if len(inputs) > 1 else model(inputs[0], training=False)
    if isinstance(out, (tuple, list)):
        out = out[0]
    return np.asarray(out)


def runner(model: Any, threads: int | None = None):
    """A callable mapping positional numpy inputs to the first output."""
    model = load(model)
    if isinstance(model, TFLiteModel) and threads:
        model = TFLiteModel(model.content, threads=threads)
    return lambda inputs: predict(model, inputs)


def input_count(model: Any) -> int:
    model = load(model)
    if isinstance(model, TFLiteModel):
        return len(model.interpreter().get_input_details())
    return len(model.inputs)


def fingerprint(model: Any) -> str:
    """Keras: the class name and every weight (name, shape, bytes); TFLite: the flatbuffer's bytes."""
    model = load(model)
    if isinstance(model, TFLiteModel):
        return hashlib.sha256(model.content).hexdigest()[:16]
    digest = hashlib.sha256(type(model).__qualname__.encode())
    for weight in model.weights:
        value = np.asarray(weight.numpy())
        digest.update(f"{weight.path}{value.dtype}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]
