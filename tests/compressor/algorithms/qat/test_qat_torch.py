"""QAT through ``prepare_compression`` with seed 001's loop: fake quant in place, int8 at the end."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchao")
nn = torch.nn

from compressor.algorithms.ptq.torch_backend import TorchPTQBackend  # noqa: E402
from compressor.algorithms.qat.torch_fake_quant import FakeQuantWeight  # noqa: E402
from compressor.config import QuantizationAwareTrainingConfig  # noqa: E402
from compressor.errors import ConfigError  # noqa: E402
from compressor.training import prepare_compression  # noqa: E402

FP32_RULE = {"activation": {"dtype": ["fp32"]}, "weight": {"dtype": ["fp32"]}}


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu1 = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()
        self.conv2, self.relu2 = nn.Conv2d(8, 16, 3, padding=1), nn.ReLU()
        self.pool, self.fc = nn.MaxPool2d(2), nn.Linear(16 * 16, 10)

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x.reshape(-1, 1, 8, 8))))
        x = self.pool(self.relu2(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x, y = torch.tensor(data.data / 16.0, dtype=torch.float32), torch.tensor(data.target)
    return (x[:1400], y[:1400]), (x[1400:], y[1400:])


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train(model, optimizer, data, epochs=3, manager=None):
    x, y = data
    for epoch in range(epochs):
        model.train()
        if manager is not None:
            manager.on_epoch_begin(epoch)
        for step, i in enumerate(range(0, len(x), 50)):
            if manager is not None:
                manager.on_step_begin(step)
            loss = nn.functional.cross_entropy(model(x[i : i + 50]), y[i : i + 50])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if manager is not None:
                manager.on_step_end()
        if manager is not None:
            manager.on_epoch_end()


def test_seed_qat_loop_trains_fake_quant_in_place_and_ends_in_int8(digits):
    train_data, (xv, yv) = digits
    torch.manual_seed(0)
    model = CNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)  # built before prepare, as in the seed
    original_weight = model.conv2.weight
    before = original_weight.detach().clone()

    manager = prepare_compression(model, QuantizationAwareTrainingConfig())
    assert manager.model is model
    manager.callbacks.on_train_begin()
    # fake quantization sits on the user's own modules and keeps their Parameter objects
    assert model.conv2.parametrizations.weight.original is original_weight
    assert isinstance(model.conv2.parametrizations.weight[0], FakeQuantWeight)
    train(model, optimizer, train_data)
    # the weights the forward saw were on the int8 grid of each output channel
    seen, raw = model.fc.weight.detach(), model.fc.parametrizations.weight.original.detach()
    assert not torch.equal(seen, raw)
    scale = raw.abs().amax(dim=1, keepdim=True) / 127.5
    steps = seen / scale
    assert torch.allclose(steps, torch.round(steps), atol=1e-3) and steps.abs().max() <= 128
    manager.callbacks.on_train_end()

    assert not torch.equal(before, original_weight.detach()), "the optimizer made before prepare trained nothing"
    assert not hasattr(model.conv2, "parametrizations") and not model.conv2._forward_pre_hooks
    assert model.conv2.weight is original_weight  # the user's model is plain fp32 again, trained

    int8 = manager.model
    assert int8 is not model
    ops = set(TorchPTQBackend().quantized_op_names(int8))
    assert {"conv1", "conv2", "fc"} <= ops, ops
    fp32_acc, int8_acc = accuracy(model.eval(), xv, yv), accuracy(int8, xv, yv)
    assert fp32_acc > 0.85
    assert abs(fp32_acc - int8_acc) <= 0.02
    assert manager.quantized_model.q_config["quantized_ops"] == ["conv1", "conv2", "fc"]
    summary = manager.summary()["techniques"][0]
    assert summary["technique"] == "qat" and summary["converted"] and summary["calibration_batches"] == 8


def test_op_name_dict_fallback_stays_fp32(digits):
    torch.manual_seed(0)
    model = CNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    manager = prepare_compression(model, QuantizationAwareTrainingConfig(op_name_dict={"fc": FP32_RULE}))
    manager.on_train_begin()
    assert not hasattr(model.fc, "parametrizations")
    train(model, optimizer, digits[0], epochs=1, manager=manager)
    manager.on_train_end()
    ops = set(TorchPTQBackend().quantized_op_names(manager.model))
    assert "fc" not in ops and "conv2" in ops
    assert manager.quantized_model.q_config["fallback_ops"] == ["fc"]


def test_bad_regex_fails_before_training_with_suggestion():
    model = CNN()
    with pytest.raises(ConfigError) as err:
        prepare_compression(model, QuantizationAwareTrainingConfig(op_name_dict={"conv3": FP32_RULE}))
    text = str(err.value)
    assert "op_name_dict['conv3']" in text and "matches no op name" in text and "did you mean" in text
    assert not hasattr(model.conv1, "parametrizations")


def test_every_op_fp32_is_refused():
    with pytest.raises(ConfigError, match="train nothing to int8"):
        prepare_compression(CNN(), QuantizationAwareTrainingConfig(op_name_dict={".*": FP32_RULE}))


def test_ending_without_any_forward_says_what_is_missing():
    manager = prepare_compression(CNN(), QuantizationAwareTrainingConfig())
    manager.on_train_begin()
    with pytest.raises(Exception, match="never called between on_train_begin and on_train_end"):
        manager.on_train_end()


def test_qat_model_saves_reloads_and_exports_onnx(digits, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    train_data, (xv, yv) = digits
    torch.manual_seed(1)
    model = CNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    manager = prepare_compression(model, QuantizationAwareTrainingConfig())
    manager.on_train_begin()
    train(model, optimizer, train_data, epochs=1)
    manager.on_train_end()
    path = manager.save(tmp_path / "qat.pt2")
    assert (tmp_path / "qat.pt2.qconfig.json").exists() and (tmp_path / "qat.pt2.summary.json").exists()
    reloaded = TorchPTQBackend().load(str(path))
    with torch.no_grad():
        np.testing.assert_allclose(reloaded(xv[:64]).numpy(), manager.model(xv[:64]).numpy(), atol=1e-4)
    onnx_path = manager.quantized_model.export_onnx(tmp_path / "qat.onnx", (xv[:4].numpy(),))
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    logits = session.run(None, {session.get_inputs()[0].name: xv.numpy()})[0]
    assert abs(float((logits.argmax(1) == yv.numpy()).mean()) - accuracy(manager.model, xv, yv)) <= 0.01
