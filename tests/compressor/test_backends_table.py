"""detect_framework reads one table row per framework; the messages name every accepted kind."""

from __future__ import annotations

import pytest

from compressor import backends
from compressor.errors import BackendError, ConfigError


def test_one_row_per_framework():
    assert backends.frameworks() == tuple(sorted(backends.FRAMEWORKS)) == ("onnxrt", "tensorflow", "torch")
    assert backends.FRAMEWORKS["tensorflow"].extra == "tf" and backends.FRAMEWORKS["tensorflow"].suffixes == (".keras",)
    assert backends.FRAMEWORKS["onnxrt"].extra == "onnx" and backends.FRAMEWORKS["onnxrt"].suffixes == (".onnx",)


def test_paths_by_suffix():
    assert backends.detect_framework("model.onnx") == "onnxrt"
    assert backends.detect_framework("model.keras") == "tensorflow"
    with pytest.raises(ConfigError) as info:
        backends.detect_framework("model.pt")
    assert str(info.value) == (
        "model: invalid value 'model.pt'; allowed: an nn.Module, an onnx.ModelProto, a keras.Model, "
        "a path to a .onnx file or a path to a .keras file"
    )


def test_unknown_object():
    with pytest.raises(ConfigError) as info:
        backends.detect_framework(3)
    assert str(info.value) == (
        "model: invalid value 'builtins.int' (no backend recognises this model type); "
        "allowed: a torch.nn.Module, an onnx.ModelProto, a keras.Model, a path to a .onnx file or a path to a "
        ".keras file"
    )


def test_models_by_class():
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    assert backends.detect_framework(torch.nn.Linear(2, 2)) == "torch"
    assert backends.detect_framework(onnx.ModelProto()) == "onnxrt"


def test_basics_of_an_unknown_or_missing_framework(monkeypatch):
    with pytest.raises(ConfigError, match="did you mean 'torch'"):
        backends.basics("trch")
    monkeypatch.setitem(
        backends.FRAMEWORKS,
        "fake",
        backends.Framework("fake", "no_such_module_x", "fake", ("x", "Y"), (), ("a Y", "a Y")),
    )
    with pytest.raises(BackendError, match=r"pip install 'compressor\[fake\]'"):
        backends.basics("fake")
