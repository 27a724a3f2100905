"""ONNX: exported from the torch model (one graph, dynamic batch), run with ONNX Runtime."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models.cache import atomic_path
from models.definition import EntryDefinition
from models.evaluation import Inputs

NAME = "onnxrt"
SUFFIX = ".onnx"
OUTPUT_NAME = "logits"


def versions() -> tuple[str, ...]:
    return ("torch", "onnx", "onnxruntime", "transformers")


def export(entry: EntryDefinition, model: Any, path: Path, opset: int = 17) -> Path:
    """Trace ``model`` with real calibration inputs and write it atomically to ``path``.

    The TorchScript exporter (``dynamo=False``) is used because it handles every zoo model,
    including the transformer and the LSTM; the batch dimension is the only dynamic one: text
    models take fixed-length sequences, which keeps attention masks free of ``inf`` surprises.
    """
    import torch

    from models.frameworks.torch_fw import to_tensors

    names = [spec.name for spec in entry.input_signature]
    args, kwargs = to_tensors(entry.example_inputs(batch_size=2))
    if kwargs:
        args = tuple(kwargs[name] for name in names)
    dynamic_axes = {name: {0: "batch"} for name in [*names, OUTPUT_NAME]}
    path = Path(path)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # The legacy exporter warns that it is legacy, and about LSTM batch sizes; both are known.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            args,
            str(tmp),
            dynamo=False,
            opset_version=opset,
            input_names=names,
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )
    return path


def session(path: str | Path, threads: int | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def predict_fn(model: Any) -> Callable[[Inputs], np.ndarray]:
    """``model`` is an ONNX file path or an ``InferenceSession``."""
    sess = session(model) if isinstance(model, (str, Path)) else model
    input_names = [i.name for i in sess.get_inputs()]

    def predict(x: Inputs) -> np.ndarray:
        feed = x if isinstance(x, dict) else {input_names[0]: x}
        return sess.run(None, feed)[0]

    return predict
