"""torch module → ONNX ModelProto for the ONNX Runtime PTQ tests (TorchScript exporter, dynamic batch)."""

from __future__ import annotations

import io
import warnings


def export(module, example):
    import onnx
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter (dynamo=False) announces its deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module.eval(),
            example,
            buffer,
            dynamo=False,
            opset_version=17,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
        )
    return onnx.load_from_string(buffer.getvalue())
