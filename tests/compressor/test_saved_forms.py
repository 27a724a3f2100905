"""``save(path)`` writes the form its suffix names (or refuses the suffix), every saved form has a loader,
and ``export_onnx()`` needs no example batch: the calibration batch is at hand."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from compressor import mix_precision, quantization  # noqa: E402
from compressor.config import MixedPrecisionConfig, PostTrainingQuantConfig, TuningCriterion  # noqa: E402
from compressor.errors import BackendError, ConfigError  # noqa: E402

X = np.random.default_rng(0).random((64, 16), dtype=np.float32)
CALIB = [(X[i : i + 16], np.zeros(16)) for i in range(0, 64, 16)]
ONE_TRIAL = TuningCriterion(max_trials=1)


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).eval()


def _ort_outputs(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.fixture(scope="module")
def static_torch(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("ws")
    conf = PostTrainingQuantConfig(tuning_criterion=ONE_TRIAL)
    return quantization.fit(_mlp(), conf, calib_dataloader=CALIB, eval_func=lambda m: 1.0, workspace=workspace)


def test_readme_quick_start_save_as_onnx_writes_onnx_for_a_torch_model(static_torch, tmp_path):
    path = static_torch.save(tmp_path / "int8.onnx")  # the README's line
    model = onnx.load(str(path))
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in model.graph.node}
    with torch.no_grad():
        expected = static_torch.model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(_ort_outputs(path, X), expected, atol=5e-3)  # ORT's and oneDNN's int8 rounding
    reloaded = quantization.load(path)
    assert reloaded.q_config["framework"] == "onnxrt"
    assert reloaded.q_config["quantized_ops"] == static_torch.q_config["quantized_ops"]


def test_torch_archive_suffixes_reload_with_quantization_load(static_torch, tmp_path):
    with torch.no_grad():
        expected = static_torch.model(torch.from_numpy(X)).numpy()
    for name in ("int8.pt", "int8.pt2"):
        reloaded = quantization.load(static_torch.save(tmp_path / name))
        assert reloaded.q_config["framework"] == "torch" and reloaded.plan == static_torch.plan
        with torch.no_grad():
            np.testing.assert_array_equal(reloaded.model(torch.from_numpy(X)).numpy(), expected)


def test_export_onnx_needs_no_example_batch(static_torch, tmp_path):
    path = static_torch.export_onnx(tmp_path / "exported.onnx")
    assert _ort_outputs(path, X[:5]).shape == (5, 10)  # the batch dimension stays dynamic


@pytest.mark.parametrize("name", ["int8.bin", "int8", "int8.pht"])
def test_other_suffixes_are_refused_naming_the_suffix_and_the_allowed_ones(static_torch, tmp_path, name):
    with pytest.raises(ConfigError) as err:
        static_torch.save(tmp_path / name)
    assert err.value.field == "path suffix" and "'.onnx', '.pt', '.pt2', '.pth'" in str(err.value)
    assert not (tmp_path / name).exists()
    with pytest.raises(ConfigError, match="path suffix"):
        quantization.load(tmp_path / "int8.bin")


def test_an_onnx_model_saves_only_as_onnx(tmp_path):
    path = tmp_path / "fp32.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter (dynamo=False) announces its deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _mlp(), (torch.zeros(2, 16),), str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "b"}}
        )
    conf = PostTrainingQuantConfig(tuning_criterion=ONE_TRIAL)
    q = quantization.fit(str(path), conf, calib_dataloader=CALIB, eval_func=lambda m: 1.0, workspace=tmp_path / "ws")
    with pytest.raises(ConfigError, match=r"'\.pt'.*an ONNX int8 model.*allowed: '\.onnx'"):
        q.save(tmp_path / "int8.pt")
    reloaded = quantization.load(q.save(tmp_path / "int8.onnx"))
    np.testing.assert_allclose(_ort_outputs(tmp_path / "int8.onnx", X), _ort_outputs_of(q.model, X), atol=1e-6)
    assert reloaded.plan == q.plan


def _ort_outputs_of(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_dynamic_torch_int8_as_onnx_is_refused_with_the_way_out(tmp_path):
    conf = PostTrainingQuantConfig(approach="dynamic", tuning_criterion=ONE_TRIAL)
    q = quantization.fit(_mlp(), conf, calib_dataloader=CALIB, eval_func=lambda m: 1.0, workspace=tmp_path / "ws")
    with pytest.raises(BackendError, match=r"int8\.onnx: the \.onnx suffix exports.*save it as \.pt"):
        q.save(tmp_path / "int8.onnx")
    reloaded = quantization.load(q.save(tmp_path / "int8.pt"), _mlp())
    with torch.no_grad():
        np.testing.assert_array_equal(reloaded.model(torch.from_numpy(X)), q.model(torch.from_numpy(X)))


def test_mixed_precision_torch_model_follows_the_suffix_too(tmp_path):
    config = MixedPrecisionConfig(precisions="bf16")
    converted = mix_precision.fit(
        _mlp(), config=config, eval_func=lambda m: 1.0, eval_dataloader=CALIB, workspace=tmp_path / "ws"
    )
    path = converted.save(tmp_path / "bf16.onnx")  # exported on the batch tuning measured with
    assert "Cast" in {n.op_type for n in onnx.load(str(path)).graph.node}  # ORT's CPU EP has no bf16 Gemm to run it
    assert mix_precision.load(path).ops == converted.ops
    with pytest.raises(ConfigError, match=r"path suffix: invalid value '\.bin'.*'\.onnx', '\.pt', '\.pth'"):
        converted.save(tmp_path / "bf16.bin")
