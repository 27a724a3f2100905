"""Model type and op roles read from ONNX graphs, and the model-aware first plan they give the tuner."""

from __future__ import annotations

import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

from onnx_export import export  # noqa: E402

from compressor.algorithms.ptq.algorithm import OpQuant  # noqa: E402
from compressor.algorithms.ptq.onnxrt import structure  # noqa: E402
from compressor.algorithms.ptq.onnxrt_backend import OnnxRuntimePTQBackend  # noqa: E402
from compressor.config import PostTrainingQuantConfig  # noqa: E402
from compressor.tuning import build_space  # noqa: E402


class TinyEncoder(torch.nn.Module):
    """One attention block (Q·Kᵀ, scale, mask, softmax, ·V), a residual, LayerNorm, an FFN and a head."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d) for _ in range(4))
        self.norm = torch.nn.LayerNorm(d)
        self.ffn = torch.nn.Linear(d, d)
        self.head = torch.nn.Linear(d, 3)
        self.scale = d**0.5

    def forward(self, x):
        scores = self.q(x) @ self.k(x).transpose(1, 2) / self.scale
        probabilities = torch.softmax(scores + 0.0, dim=-1)
        h = self.norm(x + self.o(probabilities @ self.v(x)))
        return self.head(torch.relu(self.ffn(h)).mean(dim=1))


class TinyCNN(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.fc = torch.nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return OnnxRuntimePTQBackend().prepare(export(TinyEncoder(), torch.randn(2, 5, 16)))


def test_attention_matmuls_and_linears_get_their_roles(encoder):
    roles = structure.op_roles(encoder)
    assert list(roles.values()).count("linear") == 6  # q, k, v, o, ffn, head
    assert list(roles.values()).count("attention_scores") == 1
    assert list(roles.values()).count("attention_values") == 1
    assert structure.model_type(encoder) == "transformer"


def test_a_transformer_starts_from_dynamic_per_channel_linears_and_static_attention(encoder):
    space = build_space(OnnxRuntimePTQBackend(), encoder, PostTrainingQuantConfig())
    roles = structure.op_roles(encoder)
    first = space.default_plan()
    assert space.model_type == "transformer" and not first.fallback_ops
    for op, choice in first.ops.items():
        assert choice.quantized, op
        linear = roles[op] == "linear"
        assert choice.dynamic == linear, op
        assert choice.weight_granularity == ("per_channel" if linear else "per_tensor"), op
    assert first != space.plan()  # the plain plan is static with per-tensor weights
    assert space.describe()["model_type"] == "transformer"
    # without dynamic ops in static plans the linears are static per-channel
    static_only = build_space(OnnxRuntimePTQBackend(dynamic_in_static=False), encoder, PostTrainingQuantConfig())
    linears = [op for op in first.ops if roles[op] == "linear"]
    assert all(static_only.default_plan().ops[op] == OpQuant(weight_granularity="per_channel") for op in linears)
    # a dynamic plan takes the per-channel part of the wish
    dynamic = build_space(OnnxRuntimePTQBackend(), encoder, PostTrainingQuantConfig(approach="dynamic"))
    assert all(dynamic.default_plan().ops[op].weight_granularity == "per_channel" for op in linears)


def test_the_preset_yields_to_the_config(encoder):
    """Per-tensor weights demanded by op_type_dict: the preset cannot override it."""
    conf = PostTrainingQuantConfig(op_type_dict={"MatMul": {"weight": {"granularity": ["per_tensor"]}}})
    space = build_space(OnnxRuntimePTQBackend(), encoder, conf)
    first = space.default_plan()
    matmuls = [op for op in first.ops if "MatMul" in op and first.ops[op].quantized]
    assert matmuls and all(first.ops[op].weight_granularity == "per_tensor" for op in matmuls)
    roles = structure.op_roles(encoder)
    assert all(first.ops[op].dynamic for op in matmuls if roles[op] == "linear")  # the part it allows


def test_a_cnn_keeps_the_plain_full_int8_first_plan():
    model = OnnxRuntimePTQBackend().prepare(export(TinyCNN(), torch.randn(2, 1, 8, 8)))
    space = build_space(OnnxRuntimePTQBackend(), model, PostTrainingQuantConfig())
    assert space.model_type == "cnn" and not space.preset
    assert space.default_plan() == space.plan()
