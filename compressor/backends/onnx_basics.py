"""ONNX basics: load a ModelProto from a path, run it with ONNX Runtime, fingerprint it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort


def load(model: Any) -> onnx.ModelProto:
    if isinstance(model, (str, Path)):
        return onnx.load(str(model))
    return model


def session(model: onnx.ModelProto, threads: int | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def predict(model: Any, inputs: tuple[np.ndarray, ...], sess: ort.InferenceSession | None = None) -> np.ndarray:
    """First output of the model for positional ``inputs`` (matched to the graph inputs in order)."""
    sess = sess or session(load(model))
    names = [i.name for i in sess.get_inputs()]
    feeds = {}
    for name, meta, array in zip(names, sess.get_inputs(), inputs, strict=False):
        want = np.int64 if "int64" in meta.type else np.float32 if "float" in meta.type else None
        feeds[name] = array.astype(want) if want is not None and array.dtype != want else array
    return sess.run(None, feeds)[0]


def runner(model: Any, threads: int | None = None):
    """A callable mapping positional numpy inputs to the first output; one session for all calls."""
    proto = load(model)
    sess = session(proto, threads)
    return lambda inputs: predict(proto, inputs, sess)


def input_count(model: Any) -> int:
    graph = load(model).graph
    initializers = {i.name for i in graph.initializer}
    return sum(1 for i in graph.input if i.name not in initializers)


def fingerprint(model: Any) -> str:
    return hashlib.sha256(load(model).SerializeToString()).hexdigest()[:16]
