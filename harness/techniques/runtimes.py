"""Run a job's models: load the fp32 model, predict numpy batches, time runs; one class per framework."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Predict = Callable[[Any], np.ndarray]


class OnnxRuntime:
    """ONNX Runtime CPU sessions (all graph optimizations, ``threads`` intra-op threads)."""

    backend_name = "onnxrt"

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def load_fp32(self, entry: Any) -> Any:
        import onnx

        # Imported here, before anything is timed: onnxruntime.quantization imports torch (through
        # onnxruntime.tools), ~1.6 s that would otherwise land in the first technique's tuning_seconds.
        import onnxruntime.quantization  # noqa: F401

        return onnx.load(str(entry.prepare(framework="onnxrt").model))

    def predictor(self, model: Any) -> Predict:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: QDQ graphs log a warning per unused zero point/scale
        data = model if isinstance(model, bytes) else model.SerializeToString()
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        inputs = session.get_inputs()
        types = {i.name: _NUMPY_TYPES.get(i.type) for i in inputs}
        first_output = session.get_outputs()[0].name

        def predict(x: Any) -> np.ndarray:
            feed = dict(x) if isinstance(x, dict) else {inputs[0].name: x}
            feed = {k: (v.astype(types[k]) if types.get(k) and v.dtype != types[k] else v) for k, v in feed.items()}
            return session.run([first_output], feed)[0]

        return predict


class TorchRuntime:
    """Eager (or compiled int8) torch modules under ``torch.inference_mode``."""

    backend_name = "torch"

    def __init__(self, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.threads = threads

    def load_fp32(self, entry: Any) -> Any:
        return entry.prepare(framework="torch").model.eval()

    def predictor(self, model: Any) -> Predict:
        import torch

        def predict(x: Any) -> np.ndarray:
            with torch.inference_mode():
                if isinstance(x, dict):
                    out = model(**{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in x.items()})
                else:
                    out = model(torch.from_numpy(np.ascontiguousarray(x)))
            return out.float().numpy()

        return predict


class TensorFlowRuntime:
    """Keras models on TensorFlow's own kernels (the fp32 baseline) and TensorFlow Lite models (int8, and the
    float TFLite model as ``fp32_optimized``) on ``ai_edge_litert`` with ``threads`` interpreter threads."""

    backend_name = "tensorflow"

    def __init__(self, threads: int) -> None:
        import contextlib

        import tensorflow as tf

        with contextlib.suppress(RuntimeError):  # only possible before TensorFlow starts its runtime
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        self.threads = threads

    def load_fp32(self, entry: Any) -> Any:
        return entry.prepare(framework="tensorflow").model

    def predictor(self, model: Any) -> Predict:
        from compressor.backends.tf_basics import TFLiteModel

        if isinstance(model, TFLiteModel):
            flat = TFLiteModel(model.content, threads=self.threads)
            return lambda x: flat(*(x.values() if isinstance(x, dict) else (x,)))
        from models.frameworks.tensorflow_fw import predict_fn

        return predict_fn(model)


_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(double)": np.float64,
}

RUNTIMES = {"onnxrt": OnnxRuntime, "torch": TorchRuntime, "tensorflow": TensorFlowRuntime}


def runtime(framework: str, threads: int) -> Any:
    if framework not in RUNTIMES:
        raise KeyError(f"no runtime for framework {framework!r}; known: {', '.join(RUNTIMES)}")
    return RUNTIMES[framework](threads)
