"""Calibration batches of the wrong type or shape are ConfigErrors naming calib_dataloader[i], what was
found and what was expected, before any backend sees them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from compressor.backends.batches import calibration_batches
from compressor.errors import ConfigError

X = np.random.default_rng(0).random((100, 64), dtype=np.float32)
LABELS = np.zeros(25)


def _error(loader, arity=None) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        calibration_batches(loader, 100, arity)
    return err.value


@pytest.mark.parametrize(
    ("loader", "arity", "field", "found", "expected"),
    [
        ([(np.array(["a"] * 25), LABELS)], None, "calib_dataloader[0]", "strings (dtype <U1", "numeric arrays"),
        ([(None, LABELS)], None, "calib_dataloader[0]", "None (an object array", "numeric arrays"),
        ([(np.float32(1.0), 0)], None, "calib_dataloader[0]", "a scalar", "batch dimension first"),
        ([(X[:0], LABELS[:0])], None, "calib_dataloader[0]", "an empty batch", "at least one sample"),
        ([(X[:25], LABELS), (X[25:50, :32], LABELS)], None, "calib_dataloader[1]", "shape (25, 32)", "('N', 64)"),
        ([(X[:25], LABELS), ((X[:25], X[:25]), LABELS)], None, "calib_dataloader[1]", "2 input array(s)", "batch 0"),
        ([((X[:25], X[:25]), LABELS)], 1, "calib_dataloader[0]", "2 input array(s)", "1 input array(s), one per"),
        ([(([[1.0, 2.0], [3.0]],), 0)], None, "calib_dataloader[0]", "numpy cannot convert", "numeric arrays"),
    ],
    ids=["strings", "none", "scalar", "empty", "other-width", "input-count", "arity", "ragged-lists"],
)
def test_bad_batches_name_the_loader_the_index_what_was_found_and_expected(loader, arity, field, found, expected):
    err = _error(loader, arity)
    assert err.field == field, str(err)
    assert found in str(err.value) and expected in str(err.allowed), str(err)


def test_good_batches_pass_and_only_the_batch_size_may_differ():
    loader = [(X[:30], LABELS), (X[30:40], LABELS), (X[40:100].astype(np.float64), LABELS)]
    batches = calibration_batches(loader, 50)
    assert [b[0].shape for b in batches] == [(30, 64), (10, 64), (10, 64)]


def test_a_batch_that_does_not_fit_the_onnx_model_names_the_input_and_its_declared_shape(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from compressor import quantization

    path = tmp_path / "m.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter (dynamo=False) announces its deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(
            torch.nn.Linear(64, 10), (torch.zeros(2, 64),), str(path), dynamo=False, input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
        )  # fmt: skip
    with pytest.raises(ConfigError) as err:
        quantization.fit(
            str(path), calib_dataloader=[(X[:25, :32], LABELS)], eval_func=lambda m: 1.0, workspace=tmp_path / "ws"
        )
    assert err.value.field == "calib_dataloader[0]"
    assert "input 'x' of shape (25, 32)" in str(err.value) and "shape ('N', 64)" in str(err.value)
