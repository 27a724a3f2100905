"""quantization.fit end to end on real backends (ONNX Runtime and PyTorch) with digits models."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

import compressor  # noqa: E402
from compressor import quantization  # noqa: E402
from compressor.config import AccuracyCriterion, PostTrainingQuantConfig, TuningCriterion  # noqa: E402
from compressor.errors import ConfigError  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype(np.float32)
    return x[:1400], y[:1400], x[1400:], y[1400:]


def _train(digits, hidden=64):
    torch.manual_seed(0)
    xtr, ytr, _, _ = digits
    model = torch.nn.Sequential(
        torch.nn.Linear(64, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    with torch.set_grad_enabled(True):
        for _ in range(150):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(xtr)), torch.from_numpy(ytr))
            loss.backward()
            opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def mlp(digits):
    return _train(digits)


@pytest.fixture(scope="module")
def fragile(digits):
    """Same function as the MLP, but one hidden channel carries a +2000 offset (an activation outlier).

    The offset keeps that channel's pre-activation positive, so ReLU passes it through and the next
    layer's bias takes it back out: fp32 outputs are unchanged, while per-tensor int8 activations of that
    layer lose every other channel to the outlier's range.
    """
    model = _train(digits)
    with torch.no_grad():
        live = int(torch.argmax(model[0].bias))  # a channel that is active on most inputs
        model[0].bias[live] += 2000.0
        model[2].bias -= 2000.0 * model[2].weight[:, live]
    return model


def _export(model, path):
    torch.onnx.export(
        model, (torch.zeros(2, 64),), str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "batch"}}
    )
    return str(path)


def _loaders(digits):
    xtr, ytr, xte, yte = digits
    calib = [(xtr[i : i + 50], ytr[i : i + 50]) for i in range(0, 200, 50)]
    evaluation = [(xte[i : i + 100], yte[i : i + 100]) for i in range(0, len(xte), 100)]
    return calib, evaluation


def _accuracy_of(digits):
    _, _, xte, yte = digits

    def eval_func(model):
        if isinstance(model, torch.nn.Module):
            with torch.no_grad():
                out = model(torch.from_numpy(xte)).numpy()
        else:
            import onnxruntime as ort

            sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
            out = sess.run(None, {sess.get_inputs()[0].name: xte})[0]
        return float((out.argmax(1) == yte).mean())

    return eval_func


def test_onnx_path_with_eval_dataloader_meets_the_criterion(digits, mlp, tmp_path):
    calib, evaluation = _loaders(digits)
    q = quantization.fit(
        _export(mlp, tmp_path / "mlp.onnx"),
        PostTrainingQuantConfig(),
        calib_dataloader=calib,
        eval_dataloader=evaluation,
        workspace=tmp_path / "ws",
    )
    assert q.met_criterion and q.q_config["quantized_ops"] and q.q_config["framework"] == "onnxrt"
    assert q.tuning.baseline_accuracy > 0.85
    saved = q.save(tmp_path / "out" / "int8.onnx")
    assert saved.stat().st_size < (tmp_path / "mlp.onnx").stat().st_size
    assert (tmp_path / "out" / "int8.onnx.qconfig.json").exists()


def test_fragile_model_is_rescued_with_the_culprit_reported(digits, fragile, tmp_path):
    calib, _ = _loaders(digits)
    eval_func = _accuracy_of(digits)
    path = _export(fragile, tmp_path / "fragile.onnx")
    naive = quantization.fit(
        path,
        PostTrainingQuantConfig(tuning_criterion=TuningCriterion(max_trials=1)),
        calib_dataloader=calib,
        eval_func=eval_func,
        workspace=tmp_path / "naive",
    )
    assert not naive.met_criterion
    assert naive.tuning.baseline_accuracy - naive.accuracy > 0.05
    tuned = quantization.fit(
        path,
        PostTrainingQuantConfig(tuning_criterion=TuningCriterion(strategy="mse", max_trials=20)),
        calib_dataloader=calib,
        eval_func=eval_func,
        workspace=tmp_path / "tuned",
    )
    assert tuned.met_criterion
    assert tuned.q_config["fallback_ops"] and tuned.q_config["quantized_ops"]

    # Any trial can be rebuilt from the history alone.
    first = compressor.recover(path, tuned.tuning.history_path, 0)
    assert first.plan == tuned.tuning.trials[0].plan
    assert eval_func(first.model) == pytest.approx(tuned.tuning.trials[0].accuracy)


def test_dynamic_needs_no_calibration(digits, mlp, tmp_path):
    q = quantization.fit(
        _export(mlp, tmp_path / "m.onnx"),
        PostTrainingQuantConfig(approach="dynamic"),
        eval_func=_accuracy_of(digits),
        workspace=tmp_path / "ws",
    )
    assert q.met_criterion and q.plan.approach == "dynamic"


def test_torch_path_runs_int8_and_keeps_accuracy(digits, mlp, tmp_path):
    calib, _ = _loaders(digits)
    conf = PostTrainingQuantConfig(accuracy_criterion=AccuracyCriterion(tolerable_loss=0.01))
    q = quantization.fit(mlp, conf, calib_dataloader=calib, eval_func=_accuracy_of(digits), workspace=tmp_path / "ws")
    assert q.met_criterion and q.q_config["framework"] == "torch"
    assert len(q.q_config["quantized_ops"]) == 3
    assert _accuracy_of(digits)(mlp) == q.tuning.baseline_accuracy  # the user's model is untouched


def test_usage_errors_are_clear(digits, mlp, tmp_path):
    calib, _ = _loaders(digits)
    with pytest.raises(ConfigError, match="eval_func"):
        quantization.fit(mlp, PostTrainingQuantConfig(), calib_dataloader=calib)
    with pytest.raises(ConfigError, match="calib_dataloader"):
        quantization.fit(mlp, PostTrainingQuantConfig(), eval_func=lambda m: 1.0, workspace=tmp_path)
    with pytest.raises(ConfigError, match="calib_func"):
        quantization.fit(mlp, PostTrainingQuantConfig(), calib_func=lambda m: None, eval_func=lambda m: 1.0)
    with pytest.raises(ConfigError, match="no backend recognises"):
        quantization.fit(object(), PostTrainingQuantConfig(), eval_func=lambda m: 1.0)
    with pytest.raises(ConfigError, match="PostTrainingQuantConfig"):
        quantization.fit(mlp, {"approach": "static"}, eval_func=lambda m: 1.0)


@pytest.mark.parametrize(
    "strategy", ["auto", "basic", "conservative", "mse", "mse_v2", "bayesian", "exhaustive", "random", "tpe"]
)
def test_every_strategy_rescues_the_fragile_onnx_model(digits, fragile, tmp_path, strategy):
    calib, _ = _loaders(digits)
    conf = PostTrainingQuantConfig(tuning_criterion=TuningCriterion(strategy=strategy, max_trials=25))
    q = quantization.fit(
        _export(fragile, tmp_path / "f.onnx"),
        conf,
        calib_dataloader=calib,
        eval_func=_accuracy_of(digits),
        workspace=tmp_path / "ws",
    )
    assert q.met_criterion, q.summary()
    assert q.q_config["quantized_ops"], "a passing plan must keep int8 ops"
    assert q.tuning.trials[0].met is False  # the naive plan failed; tuning found the way


def test_batches_of_two_input_models_are_not_mistaken_for_labels():
    from compressor.backends.batches import split_batch

    ids, mask, labels = np.zeros((4, 8), np.int64), np.ones((4, 8), np.int64), np.arange(4)
    assert len(split_batch((ids, mask), arity=2)[0]) == 2
    inputs, y = split_batch(((ids, mask), labels), arity=2)
    assert len(inputs) == 2 and y is labels or (y == labels).all()
    inputs, y = split_batch((ids, labels), arity=1)
    assert len(inputs) == 1 and (y == labels).all()
    inputs, y = split_batch({"input_ids": ids, "attention_mask": mask})
    assert len(inputs) == 2 and y is None


@pytest.mark.parametrize("algorithm", ["kl", "percentile"])
def test_histogram_calibration_with_a_short_last_batch(digits, mlp, tmp_path, algorithm):
    calib, _ = _loaders(digits)  # batches of 50; 130 samples leave a short last batch of 30
    conf = PostTrainingQuantConfig(
        calibration_sampling_size=[130], op_type_dict={".*": {"activation": {"algorithm": [algorithm]}}}
    )
    q = quantization.fit(
        _export(mlp, tmp_path / "m.onnx"),
        conf,
        calib_dataloader=calib,
        eval_func=_accuracy_of(digits),
        workspace=tmp_path / "ws",
    )
    assert q.plan.calibration == ("entropy" if algorithm == "kl" else "percentile")
    assert q.met_criterion


def test_a_stale_workspace_is_refused_never_silently_reused(digits, mlp, fragile, tmp_path, monkeypatch):
    """Issue item 1: other weights of the same architecture, or a changed eval_func, in a workspace that
    holds a finished run: the recorded numbers would describe another model or evaluation."""
    from compressor.errors import StaleWorkspaceError

    calib, _ = _loaders(digits)
    eval_func = _accuracy_of(digits)
    conf = PostTrainingQuantConfig(tuning_criterion=TuningCriterion(max_trials=2))

    def fit(model, evaluate=eval_func, **kwargs):
        return quantization.fit(model, conf, calib_dataloader=calib, eval_func=evaluate, **kwargs)

    mlp, fragile = _export(mlp, tmp_path / "mlp.onnx"), _export(fragile, tmp_path / "fragile.onnx")
    fit(mlp, workspace=tmp_path / "ws")
    # fragile computes mlp's function (same fp32 accuracy) with other weights, and breaks in int8.
    with pytest.raises(StaleWorkspaceError, match="weights: model fingerprint .* recorded vs .* now"):
        fit(fragile, workspace=tmp_path / "ws")
    restarted = fit(fragile, workspace=tmp_path / "ws", resume=False)
    assert eval_func(restarted.model) == pytest.approx(restarted.accuracy)

    monkeypatch.chdir(tmp_path)  # the default workspace is ./nc_workspace/ptq-<digest>
    first = fit(mlp)
    other = fit(fragile)  # other weights: another default workspace, its own numbers
    assert other.tuning.history_path != first.tuning.history_path and other.tuning.resumed_trials == 0
    assert eval_func(other.model) == pytest.approx(other.accuracy)
    _, _, xte, yte = digits
    half = _accuracy_of((None, None, xte[::2], yte[::2]))
    with pytest.raises(StaleWorkspaceError, match="fp32 baseline accuracy: .* recorded vs .* measured now"):
        fit(mlp, evaluate=half)
    assert fit(mlp).tuning.resumed_trials == len(first.tuning.trials)  # the refusal cost nothing
