"""SmoothQuant in the torch backend: exact in fp32, smaller int8 error where activations have outliers."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchao")
nn = torch.nn

from compressor.algorithms.ptq.algorithm import OpQuant, Plan  # noqa: E402
from compressor.algorithms.ptq.torch.inputs import to_args  # noqa: E402
from compressor.algorithms.ptq.torch.smooth_quant import smooth_quant  # noqa: E402
from compressor.algorithms.ptq.torch_backend import TorchPTQBackend  # noqa: E402

OUTLIERS = [3, 17, 40]


class Block(nn.Module):
    """LayerNorm -> Linear (foldable) -> ReLU -> Linear (needs a pre-hook scale)."""

    def __init__(self) -> None:
        super().__init__()
        self.ln, self.fc1, self.relu, self.fc2 = nn.LayerNorm(64), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(self.ln(x))))


@pytest.fixture(scope="module")
def block():
    """A few LayerNorm channels 40x larger than the rest, as in transformer activations.

    fc1 gives those channels correspondingly small weights (as training does), so every channel
    matters to the output and per-tensor activation quantization hurts the small ones.
    """
    torch.manual_seed(0)
    model = Block().eval()
    with torch.no_grad():
        model.ln.weight.copy_(1 + 0.1 * torch.randn(64))
        model.ln.weight[OUTLIERS] = 40.0
        model.ln.bias.copy_(0.1 * torch.randn(64))
        model.fc1.weight[:, OUTLIERS] /= 40.0
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    calib = rng.standard_normal((256, 64)).astype(np.float32)
    return [(calib[:128],), (calib[128:],)], rng.standard_normal((256, 64)).astype(np.float32)


def _relative_error(model, reference, x) -> float:
    with torch.no_grad():
        out, ref = model(torch.from_numpy(x)), reference(torch.from_numpy(x))
    return float((out - ref).norm() / ref.norm())


def test_fp32_outputs_unchanged(block, data):
    calib, test = data
    smoothed = copy.deepcopy(block)
    result = smooth_quant(smoothed, ["fc1", "fc2"], [to_args(b) for b in calib], alpha=0.5)
    assert result.folded == {"ln": ["fc1"]} and list(result.hooked) == ["fc2"]
    assert not torch.equal(smoothed.fc1.weight, block.fc1.weight)
    assert _relative_error(smoothed, block, test) < 1e-5


def test_layer_norm_feeding_a_residual_is_not_folded(data):
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln, self.fc = nn.LayerNorm(64), nn.Linear(64, 64)

        def forward(self, x):
            y = self.ln(x)
            return y + self.fc(y)

    torch.manual_seed(0)
    model = Residual().eval()
    smoothed = copy.deepcopy(model)
    result = smooth_quant(smoothed, ["fc"], [to_args(b) for b in data[0]], alpha=0.5)
    assert result.folded == {} and list(result.hooked) == ["fc"]
    assert _relative_error(smoothed, model, data[1]) < 1e-5


@pytest.mark.parametrize("approach", ["static", "dynamic"])
def test_smooth_quant_reduces_int8_error(block, data, approach):
    calib, test = data
    backend = TorchPTQBackend(compile=False)
    plan = Plan(ops={"fc1": OpQuant(weight_granularity="per_channel"), "fc2": OpQuant()}, approach=approach)
    plain = _relative_error(backend.quantize(block, plan, calib), block, test)
    smoothed = _relative_error(
        backend.quantize(block, dataclasses.replace(plan, smooth_quant_alpha=0.5), calib), block, test
    )
    assert smoothed < plain / 2, (plain, smoothed)
