"""CompressionManager: hook forwarding and order, seed-001 loop shapes, config errors, save/load."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from compressor import training  # noqa: E402
from compressor.algorithms.component import TrainingComponent  # noqa: E402
from compressor.config import (  # noqa: E402
    DistillationConfig,
    PostTrainingQuantConfig,
    QuantizationAwareTrainingConfig,
    WeightPruningConfig,
)
from compressor.errors import BackendError, ConfigError  # noqa: E402


class Recorder(TrainingComponent):
    def __init__(self, name, log, end_order=1):
        self.name, self.log, self.end_order = name, log, end_order

    def validate(self, model):
        self.log.append((self.name, "validate"))

    def on_train_begin(self, model):
        self.log.append((self.name, "on_train_begin"))

    def on_epoch_begin(self, epoch):
        self.log.append((self.name, "on_epoch_begin", epoch))

    def on_step_begin(self, step):
        self.log.append((self.name, "on_step_begin", step))

    def on_after_compute_loss(self, inputs, outputs, loss, teacher_outputs=None):
        self.log.append((self.name, "on_after_compute_loss"))
        return loss * 2

    def on_before_optimizer_step(self):
        self.log.append((self.name, "on_before_optimizer_step"))

    def on_after_optimizer_step(self):
        self.log.append((self.name, "on_after_optimizer_step"))

    def on_step_end(self):
        self.log.append((self.name, "on_step_end"))

    def on_epoch_end(self):
        self.log.append((self.name, "on_epoch_end"))

    def on_train_end(self, model):
        self.log.append((self.name, "on_train_end"))
        return nn.Sequential(model) if self.name == "qat" else model

    def summary(self):
        return {"technique": self.name}


@pytest.fixture
def recorded(monkeypatch):
    log: list = []
    names = {QuantizationAwareTrainingConfig: "qat", WeightPruningConfig: "pruning", DistillationConfig: "distil"}
    orders = {"qat": 2, "pruning": 1, "distil": 0}

    def fake(conf, model, framework):
        assert framework == "torch"
        name = names[type(conf)]
        return Recorder(name, log, orders[name])

    monkeypatch.setattr(training, "_component", fake)
    return log


def test_hooks_reach_every_component_in_conf_order_and_losses_chain(recorded):
    model = nn.Linear(2, 2)
    manager = training.prepare_compression(model, [QuantizationAwareTrainingConfig(), WeightPruningConfig()])
    assert recorded == [("qat", "validate"), ("pruning", "validate")]
    manager.callbacks.on_train_begin()
    manager.on_train_begin()  # the orchestration example calls it twice: a no-op
    manager.on_epoch_begin(0)
    manager.callbacks.on_step_begin(0)
    assert manager.on_after_compute_loss(None, None, 1.5) == 6.0  # each component doubles it
    manager.on_before_optimizer_step()
    manager.callbacks.on_after_optimizer_step()
    manager.on_step_end()
    manager.on_epoch_end()
    assert manager.model is model
    manager.callbacks.on_train_end()
    manager.on_train_end()
    # begin and end visit components in end_order: pruning holds its Parameters before QAT wraps them
    assert recorded[2:4] == [("pruning", "on_train_begin"), ("qat", "on_train_begin")]
    hooks = [entry[1] for entry in recorded[2:]]
    assert hooks.count("on_train_begin") == 2 and hooks.count("on_train_end") == 2
    # pruning (end_order 1) finishes before QAT (2), whatever the order of confs
    assert recorded[-2:] == [("pruning", "on_train_end"), ("qat", "on_train_end")]
    assert isinstance(manager.model, nn.Sequential) and manager.model[0] is model
    assert [t["technique"] for t in manager.summary()["techniques"]] == ["qat", "pruning"]


def test_a_loop_without_on_train_begin_starts_training_implicitly(recorded):
    manager = training.prepare_compression(nn.Linear(2, 2), WeightPruningConfig())
    manager.on_step_begin(0)  # seed 001's first pruning loop never calls on_train_begin
    assert recorded[1:3] == [("pruning", "on_train_begin"), ("pruning", "on_step_begin", 0)]


def test_hooks_after_train_end_are_refused(recorded):
    manager = training.prepare_compression(nn.Linear(2, 2), WeightPruningConfig())
    manager.on_train_begin()
    manager.on_train_end()
    with pytest.raises(BackendError, match="training already ended"):
        manager.on_step_begin(3)
    with pytest.raises(BackendError, match="training already ended"):
        manager.on_train_begin()


def test_callbacks_name_the_hooks_on_a_typo(recorded):
    manager = training.prepare_compression(nn.Linear(2, 2), WeightPruningConfig())
    with pytest.raises(AttributeError, match="on_train_begin"):
        manager.callbacks.on_train_start()


def test_conf_errors_name_the_position_and_what_is_allowed():
    model = nn.Linear(2, 2)
    with pytest.raises(ConfigError, match=r"confs\[1\]: invalid value 'str'; allowed: 'DistillationConfig'"):
        training.prepare_compression(model, [WeightPruningConfig(), "pruning"])
    with pytest.raises(ConfigError, match="use quantization.fit"):
        training.prepare_compression(model, PostTrainingQuantConfig())
    with pytest.raises(ConfigError, match="at most one QuantizationAwareTrainingConfig"):
        training.prepare_compression(model, [QuantizationAwareTrainingConfig(), QuantizationAwareTrainingConfig()])
    with pytest.raises(ConfigError, match="confs"):
        training.prepare_compression(model, [])
    with pytest.raises(ConfigError, match="model"):
        training.prepare_compression(object(), WeightPruningConfig())


def test_component_config_errors_are_prefixed_with_the_conf_position():
    model = nn.Sequential(nn.Linear(4, 4))
    rule = {"weight": {"dtype": ["fp32"]}, "activation": {"dtype": ["fp32"]}}
    with pytest.raises(ConfigError, match=r"^confs\[0\]\.op_name_dict\['fc9'\]"):
        training.prepare_compression(model, [QuantizationAwareTrainingConfig(op_name_dict={"fc9": rule})])


def test_save_before_the_end_is_refused_and_state_round_trips_through_shrunk_layers(recorded, tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 3))
    manager = training.prepare_compression(model, WeightPruningConfig())
    with pytest.raises(BackendError, match="on_train_end first"):
        manager.save(tmp_path / "m.pt")
    manager.on_train_begin()
    manager.on_train_end()
    # what channel pruning does: 3 of 8 channels removed from the conv, its BN and the consumer
    keep = torch.tensor([0, 2, 3, 5, 7])
    with torch.no_grad():
        conv, bn, fc = model[0], model[1], model[4]
        conv.weight = nn.Parameter(conv.weight[keep].clone())
        conv.bias = nn.Parameter(conv.bias[keep].clone())
        conv.out_channels = 5
        for name in ("weight", "bias"):
            setattr(bn, name, nn.Parameter(getattr(bn, name)[keep].clone()))
        bn.running_mean, bn.running_var, bn.num_features = bn.running_mean[keep], bn.running_var[keep], 5
        fc.weight = nn.Parameter(fc.weight.reshape(3, 8, 16)[:, keep].reshape(3, 80).clone())
        fc.in_features = 80
    path = manager.save(tmp_path / "m.pt")
    assert (tmp_path / "m.pt.summary.json").exists()
    fresh = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 3))
    training.load(path, fresh)
    x = torch.randn(2, 1, 6, 6)
    model.eval(), fresh.eval()
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), model(x))
    assert fresh[0].out_channels == 5 and fresh[4].in_features == 80
