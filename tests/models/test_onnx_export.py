"""ONNX export of every torch entry matches the native model (untrained weights are enough for that)."""

from __future__ import annotations

import numpy as np
import pytest

import models

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _entries():
    return [pytest.param(e, id=e.name) for e in models.list_entries() if "onnxrt" in e.frameworks]


@pytest.mark.parametrize("entry", _entries())
def test_export_matches_torch_with_dynamic_batch(entry, tmp_path):
    model = entry.build("torch")
    assert sum(p.numel() for p in model.parameters()) == entry.params  # the size `models list` shows
    path = entry.export_onnx(model, tmp_path / f"{entry.name}.onnx")

    graph = onnx.load(str(path), load_external_data=False)
    assert max(op.version for op in graph.opset_import if op.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in graph.graph.input] == [s.name for s in entry.input_signature]
    assert [o.name for o in graph.graph.output] == ["logits"]
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # symbolic batch dim

    native, exported = entry.predict_fn(model, "torch"), entry.predict_fn(str(path), "onnxrt")
    for batch_size in (1, 5):  # not the batch size used for tracing (2)
        x = entry.example_inputs(batch_size)
        expected, got = native(x), exported(x)
        assert got.shape == (batch_size, entry.num_classes)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert not list(tmp_path.glob(".tmp-*"))  # written atomically
