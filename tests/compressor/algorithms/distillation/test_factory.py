"""make_component dispatch and build_optimizer mapping/errors."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from compressor.algorithms.component import TrainingComponent  # noqa: E402
from compressor.algorithms.distillation import build_optimizer, make_component  # noqa: E402
from compressor.config import DistillationConfig, SelfKnowledgeDistillationLossConfig  # noqa: E402
from compressor.errors import BackendError, ConfigError  # noqa: E402


def test_dispatch_by_criterion_type():
    model = nn.Linear(2, 2)
    kd = make_component(DistillationConfig(teacher_model=model), model, "torch")
    sd = make_component(DistillationConfig(criterion=SelfKnowledgeDistillationLossConfig()), model, "torch")
    assert isinstance(kd, TrainingComponent) and isinstance(sd, TrainingComponent)
    assert type(kd).__name__ == "TorchKnowledgeDistillation" and type(sd).__name__ == "TorchSelfDistillation"
    assert kd.name == sd.name == "distillation"


def test_unsupported_framework_names_the_supported_ones():
    with pytest.raises(
        BackendError,
        match=r"distillation does not support framework 'onnxrt'; supported frameworks: 'tensorflow', 'torch'",
    ):
        make_component(DistillationConfig(), object(), "onnxrt")


def test_wrong_config_type():
    with pytest.raises(ConfigError, match="config.*DistillationConfig"):
        make_component(SelfKnowledgeDistillationLossConfig(), nn.Linear(2, 2))


@pytest.mark.parametrize(
    "conf, cls, expected",
    [
        ({"SGD": {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 4e-4}}, torch.optim.SGD,
         {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 4e-4}),
        ({"Adam": {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7, "amsgrad": True}},
         torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-7, "amsgrad": True}),
        ({"AdamW": {"learning_rate": 0.02, "weight_decay": 0.1}}, torch.optim.AdamW,
         {"lr": 0.02, "weight_decay": 0.1, "betas": (0.9, 0.999)}),
    ],
)  # fmt: skip
def test_optimizer_mapping(conf, cls, expected):
    opt = build_optimizer(conf, nn.Linear(2, 2).parameters())
    assert type(opt) is cls
    group = opt.param_groups[0]
    for key, value in expected.items():
        assert group[key] == pytest.approx(value), key


def test_optimizer_from_distillation_config_default():
    opt = build_optimizer(DistillationConfig(), nn.Linear(2, 2).parameters())
    assert type(opt) is torch.optim.SGD and opt.param_groups[0]["lr"] == pytest.approx(1e-4)


@pytest.mark.parametrize(
    "conf, pattern",
    [
        ({"Adm": {}}, r"optimizer name: invalid value 'Adm'.*did you mean 'Adam'"),
        ({"SGD": {"learnig_rate": 0.1}}, r"optimizer.SGD.learnig_rate: unknown key.*did you mean 'learning_rate'"),
        ({"SGD": {"learning_rate": 0.1, "nesterov": True}}, r"optimizer.SGD.nesterov.*momentum"),
        ({"SGD": {}, "Adam": {}}, r"exactly one optimizer"),
    ],
)
def test_optimizer_errors(conf, pattern):
    with pytest.raises(ConfigError, match=pattern):
        build_optimizer(conf, nn.Linear(2, 2).parameters())
