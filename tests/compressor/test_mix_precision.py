"""``mix_precision.fit``: accuracy on zoo models, fp32 fallback on models built to break in bf16/fp16,
precisions honoured, hardware verdict, history resume/recover, save/reload."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("onnxruntime")

HELPERS = Path(__file__).resolve().parent / "algorithms" / "mixed_precision"
if str(HELPERS) not in sys.path:
    sys.path.insert(0, str(HELPERS))

import mixed_precision_models as mpm  # noqa: E402

from compressor import hardware, mix_precision  # noqa: E402
from compressor.config import MixedPrecisionConfig, TuningCriterion  # noqa: E402
from compressor.errors import ConfigError  # noqa: E402

AVX2_SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "cpuinfo" / "amd_epyc_avx2.txt"


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data():
    return mpm.digits()


@pytest.fixture(scope="module")
def mlp(data):
    torch.set_num_threads(1)
    return mpm.train_mlp(data)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """mlp_digits from the zoo (torch and ONNX), trained in seconds into a private cache."""
    import models

    mp = pytest.MonkeyPatch()
    mp.setenv("COMPRESSOR_CACHE_DIR", str(tmp_path_factory.mktemp("zoo-cache")))
    entry = models.get("mlp_digits")
    torch_model = entry.prepare(framework="torch").model.eval()
    onnx_path = str(entry.prepare(framework="onnxrt").model)
    x, y = entry.load_data("eval")
    mp.undo()
    loader = [(x[i : i + 128], y[i : i + 128]) for i in range(0, min(len(y), 512), 128)]
    return {"torch": torch_model, "onnxrt": onnx_path}, loader


def fit(model, data, tmp_path, **conf):
    return mix_precision.fit(model, MixedPrecisionConfig(**conf), eval_dataloader=data.loader(), workspace=tmp_path)


@pytest.mark.parametrize("framework", ["torch", "onnxrt"])
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_zoo_model_converts_within_the_criterion(zoo, framework, precision, tmp_path):
    models_by_framework, loader = zoo
    result = mix_precision.fit(
        models_by_framework[framework], config=MixedPrecisionConfig(precisions=precision),
        eval_dataloader=loader, workspace=tmp_path,
    )  # fmt: skip
    assert result.met_criterion and not result.all_fp32
    assert result.precisions == (precision,) and result.fp32_ops == ()
    assert result.tuning.relative_loss <= 0.01
    assert result.hardware[precision].note.startswith(("native", "emulated: no speedup expected"))


@pytest.mark.parametrize("framework", ["torch", "onnxrt"])
def test_fp16_overflow_falls_back_to_fp32_by_sensitivity(mlp, data, tmp_path, framework):
    broken = mpm.overflow(mlp)
    model = broken if framework == "torch" else mpm.export_onnx(broken, tmp_path / "overflow.onnx")
    result = fit(model, data, tmp_path / "ws", precisions="fp16")
    first = result.tuning.trials[0]
    assert first.all_fp32 is False and not first.met and first.plan.fallback_ops == ()  # all fp16 broke
    assert result.met_criterion and not result.all_fp32
    assert len(result.fp32_ops) == 2 and len(result.converted_ops) == 1  # fc1, fc2 back in fp32; fc3 fp16
    assert abs(result.accuracy - mpm.accuracy(mlp, data)) <= 0.01


def test_bf16_cancellation_falls_back_only_the_op_that_breaks(mlp, data, tmp_path):
    result = fit(mpm.cancellation(mlp), data, tmp_path, precisions="bf16")
    assert result.met_criterion and result.fp32_ops == ("fc2",)
    assert result.ops == {"fc1": "bf16", "fc2": "fp32", "fc3": "bf16"}


def test_excluded_precisions_are_honoured(mlp, data, tmp_path):
    result = fit(mlp, data, tmp_path, precisions=["bf16", "fp16"], excluded_precisions=["bf16"])
    assert set(result.ops.values()) == {"fp16"}


def test_every_precision_excluded_is_a_config_error():
    with pytest.raises(ConfigError, match="excluded_precisions"):
        MixedPrecisionConfig(precisions="bf16", excluded_precisions="bf16")


def test_without_evaluation_the_model_is_converted_once(mlp, data, tmp_path):
    result = mix_precision.fit(mlp, MixedPrecisionConfig(example_inputs=data.x_test[:4]), workspace=tmp_path)
    assert len(result.tuning.trials) == 1 and set(result.ops.values()) == {"bf16"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"config": MixedPrecisionConfig(), "conf": MixedPrecisionConfig(precisions="fp16")}, "same argument"),
        ({"config": MixedPrecisionConfig(device="gpu")}, "config.device"),
        ({"config": MixedPrecisionConfig(backend="ipex")}, "config.backend"),
        ({"config": "bf16"}, "a MixedPrecisionConfig"),
        ({"eval_func": lambda m: 1.0}, "example_inputs"),
    ],
)
def test_bad_arguments_raise_config_errors(mlp, tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        mix_precision.fit(mlp, workspace=tmp_path, **kwargs)


def test_emulated_hardware_is_said_in_the_result(mlp, data, tmp_path, monkeypatch):
    monkeypatch.setenv(hardware.CPUINFO_ENV, str(AVX2_SAMPLE))
    result = fit(mlp, data, tmp_path)
    assert result.emulated and result.hardware_note.startswith("emulated: no speedup expected")
    assert "AMD EPYC 7B12" in result.summary() and result.config["emulated"] is True


def test_resume_replays_the_history_without_evaluating_again(mlp, data, tmp_path):
    broken = mpm.overflow(mlp)
    calls = []

    def eval_func(model):
        calls.append(1)
        return mpm.accuracy(model, data)

    conf = MixedPrecisionConfig(precisions="fp16", example_inputs=data.x_test[:32])
    first = mix_precision.fit(broken, conf, eval_func=eval_func, workspace=tmp_path)
    evaluated = len(calls)
    again = mix_precision.fit(broken, conf, eval_func=eval_func, workspace=tmp_path)
    # Only the fp32 baseline is measured again (to check the history is this run's); no trial is.
    assert len(calls) == evaluated + 1 and again.tuning.resumed_trials == len(first.tuning.trials)
    assert again.ops == first.ops


def test_default_workspaces_of_other_data_are_separate(mlp, data, tmp_path, monkeypatch):
    """Issue item 1: the default workspace key covers the input batches, so a second call with other
    data neither fails ("written by a different tuning run") nor reuses the first call's trials."""
    monkeypatch.chdir(tmp_path)
    first = mix_precision.fit(mlp, config=MixedPrecisionConfig(), eval_dataloader=data.loader())
    other = mix_precision.fit(mlp, config=MixedPrecisionConfig(), eval_dataloader=data.loader()[::-1])
    assert other.tuning.history_path != first.tuning.history_path and other.tuning.resumed_trials == 0
    again = mix_precision.fit(mlp, config=MixedPrecisionConfig(), eval_dataloader=data.loader())
    assert again.tuning.history_path == first.tuning.history_path
    assert again.tuning.resumed_trials == len(first.tuning.trials)


def test_recover_rebuilds_any_trial(mlp, data, tmp_path):
    broken = mpm.overflow(mlp)
    result = fit(broken, data, tmp_path, precisions="fp16")
    first = mix_precision.recover(broken, result.tuning.history_path, 0)
    assert set(first.ops.values()) == {"fp16"} and mpm.accuracy(first.model, data) < 0.5


def test_save_and_reload_torch(mlp, data, tmp_path):
    result = fit(mpm.cancellation(mlp), data, tmp_path / "ws", tuning_criterion=TuningCriterion(max_trials=5))
    path = result.save(tmp_path / "out" / "model.pt")
    sidecar = json.loads(path.with_name("model.pt.mixed_precision.json").read_text())
    assert sidecar["ops"] == result.ops and "hardware_note" in sidecar
    again = mix_precision.load(path, mpm.cancellation(mlp))
    assert again.ops == result.ops
    x = torch.from_numpy(data.x_test[:16])
    with torch.no_grad():
        np.testing.assert_array_equal(again.model(x).numpy(), result.model(x).numpy())


def test_save_and_reload_onnx(mlp, data, tmp_path):
    result = fit(mpm.export_onnx(mlp, tmp_path / "m.onnx"), data, tmp_path / "ws", precisions="fp16")
    path = result.save(tmp_path / "out" / "model.onnx")
    again = mix_precision.load(path)
    assert again.ops == result.ops and again.fp32_compute_ops == result.fp32_compute_ops
