"""Model fingerprints (recorded in tuning histories, part of default workspace keys) cover the weights:
the same model, the same id; one weight changed, another id."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from compressor.algorithms.ptq import ptq_backend  # noqa: E402
from compressor.backends import onnx_basics, torch_basics  # noqa: E402


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).eval()


def nudged(model, delta=1e-6):
    other = copy.deepcopy(model)
    with torch.no_grad():
        other[2].weight[1, 3] += delta
    return other


def test_torch_fingerprint_covers_every_weight():
    model = mlp()
    assert torch_basics.fingerprint(model) == torch_basics.fingerprint(copy.deepcopy(model))
    assert torch_basics.fingerprint(nudged(model)) != torch_basics.fingerprint(model)


def test_torch_fingerprint_of_bf16_weights():
    model = mlp()
    assert torch_basics.fingerprint(copy.deepcopy(model).to(torch.bfloat16)) != torch_basics.fingerprint(model)
    # numpy has no bfloat16: the fingerprint must not go through .numpy() of the tensor itself
    assert torch_basics.fingerprint(nudged(model, 0.1).to(torch.bfloat16)) != torch_basics.fingerprint(
        copy.deepcopy(model).to(torch.bfloat16)
    )


def test_onnx_fingerprint_covers_every_weight(tmp_path):
    paths = []
    for name, model in (("a", mlp()), ("b", nudged(mlp()))):
        path = tmp_path / f"{name}.onnx"
        torch.onnx.export(model, (torch.zeros(1, 8),), str(path), dynamo=False)
        paths.append(str(path))
    assert onnx_basics.fingerprint(paths[0]) == onnx_basics.fingerprint(onnx.load(paths[0]))
    assert onnx_basics.fingerprint(paths[0]) != onnx_basics.fingerprint(paths[1])


def test_the_ptq_backend_fingerprints_through_the_framework_basics():
    backend = ptq_backend("torch")
    model = mlp()
    assert backend.fingerprint(model) == torch_basics.fingerprint(model)
    assert backend.fingerprint(object()) == ""  # unknown: the tuner then relies on the re-measured baseline
