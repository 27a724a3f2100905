"""SmoothQuant on ONNX graphs: the fp32 function is unchanged, int8 error drops on an outlier block, and
op outputs point at the op that suffers from the outliers."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from onnx_export import export  # noqa: E402

from compressor.algorithms.ptq.algorithm import Plan  # noqa: E402
from compressor.algorithms.ptq.onnxrt import session  # noqa: E402
from compressor.algorithms.ptq.onnxrt.smooth_quant import smooth  # noqa: E402
from compressor.algorithms.ptq.onnxrt_backend import OnnxRuntimePTQBackend  # noqa: E402
from compressor.errors import BackendError  # noqa: E402

GAIN = 80.0  # outlier channels: LayerNorm output x80, the next weight /80, so fp32 is an ordinary block


class OutlierBlock(torch.nn.Module):
    """LayerNorm -> Linear -> GELU -> Linear, with 8 of 64 LayerNorm channels scaled by GAIN."""

    def __init__(self, width=64, hidden=256, outliers=8):
        super().__init__()
        self.ln = torch.nn.LayerNorm(width)
        self.fc1 = torch.nn.Linear(width, hidden)
        self.fc2 = torch.nn.Linear(hidden, width)
        with torch.no_grad():
            self.ln.weight[:outliers] *= GAIN
            self.fc1.weight[:, :outliers] /= GAIN

    def forward(self, x):
        return self.fc2(torch.nn.functional.gelu(self.fc1(self.ln(x))))


@pytest.fixture(scope="module")
def backend():
    return OnnxRuntimePTQBackend()


@pytest.fixture(scope="module")
def block(backend):
    torch.manual_seed(0)
    return backend.prepare(export(OutlierBlock(), torch.randn(2, 16, 64)))


@pytest.fixture(scope="module")
def mlp(backend):
    """A plain MLP: its first MatMul reads the graph input, so 1/s needs an inserted Mul."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    return backend.prepare(export(module, torch.randn(2, 32)))


def batches(shape, count, seed):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape).astype(np.float32),) for _ in range(count)]


def outputs(model, data) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"x": batch[0]})[0] for batch in data])


def smoothed(model, alpha, data):
    return smooth(model, alpha, lambda m, names: session.run_batches(m, data, names))


@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.8, 1.0])
def test_smoothing_keeps_fp32_outputs_and_folds_into_layernorm_and_mul(block, alpha):
    calib, test = batches((32, 16, 64), 2, seed=1), batches((32, 16, 64), 2, seed=2)
    model, inserted = smoothed(block, alpha, calib)
    assert inserted == []  # LayerNorm gamma/beta and GELU's constant Mul absorb 1/s
    before, after = outputs(block, test), outputs(model, test)
    assert np.abs(after - before).max() <= 1e-4 * np.abs(before).max()
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    originals = {i.name: onnx.numpy_helper.to_array(i) for i in block.graph.initializer}
    assert not np.allclose(weights["ln.weight"], originals["ln.weight"])


def test_smoothing_inserts_a_mul_where_nothing_can_absorb_it(mlp):
    calib, test = batches((64, 32), 2, seed=1), batches((64, 32), 1, seed=2)
    model, inserted = smoothed(mlp, 0.5, calib)
    assert len(inserted) == 2  # before the first MatMul (graph input) and after the Relu
    assert {n.name for n in model.graph.node if n.op_type == "Mul"} == set(inserted)
    before, after = outputs(mlp, test), outputs(model, test)
    assert np.abs(after - before).max() <= 1e-4 * np.abs(before).max()


def test_smoothing_folds_into_a_mul_add_affine():
    h, rng = onnx.helper, np.random.default_rng(0)
    const = lambda name, *shape: onnx.numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)  # noqa: E731
    graph = h.make_graph(
        [
            h.make_node("Mul", ["x", "gamma"], ["scaled"], name="mul"),
            h.make_node("Add", ["scaled", "beta"], ["affine"], name="add"),
            h.make_node("MatMul", ["affine", "w"], ["y"], name="matmul"),
        ],
        "affine",
        [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 16])],
        [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 4])],
        [const("gamma", 16), const("beta", 16), const("w", 16, 4)],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    data = batches((8, 16), 2, seed=3)
    result, inserted = smoothed(model, 0.5, data)
    assert inserted == []
    np.testing.assert_allclose(outputs(result, data), outputs(model, data), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator", "dynamic"])
def test_smoothing_reduces_int8_error_on_the_outlier_block(fmt, block, backend):
    calib, test = batches((32, 16, 64), 4, seed=1), batches((32, 16, 64), 2, seed=2)
    reference = outputs(block, test)
    plan = Plan(approach="dynamic") if fmt == "dynamic" else Plan(quant_format=fmt)
    plain = np.mean((outputs(backend.quantize(block, plan, calib), test) - reference) ** 2)
    smoothed_plan = Plan(approach=plan.approach, quant_format=plan.quant_format, smooth_quant_alpha=0.5)
    smoothed_error = np.mean((outputs(backend.quantize(block, smoothed_plan, calib), test) - reference) ** 2)
    assert smoothed_error < plain / 10, (plain, smoothed_error)


def test_op_outputs_point_at_the_outlier_op(block, backend):
    """Quantizing one op at a time (as MSE sensitivity does), the op reading the outliers suffers most."""
    calib = batches((32, 16, 64), 4, seed=1)
    ops = [op.name for op in backend.quantizable_ops(block)]
    reference = backend.op_outputs(block, calib[:2], ops)
    relative = {}
    for op in ops:
        alone = backend.quantize(block, Plan().with_fallback(*(o for o in ops if o != op)), calib)
        got = backend.op_outputs(alone, calib[:2], ops)
        assert {o: a.shape for o, a in got.items()} == {o: a.shape for o, a in reference.items()}
        relative[op] = np.mean((got[op] - reference[op]) ** 2) / np.mean(reference[op] ** 2)
    fc1, fc2 = ops
    assert reference[fc1].shape == (64, 16, 256)
    assert relative[fc1] > 10 * relative[fc2], relative


def test_smooth_quant_without_calibration_is_an_error(block, backend):
    with pytest.raises(BackendError, match="SmoothQuant needs calibration"):
        backend.quantize(block, Plan(approach="dynamic", smooth_quant_alpha=0.5), [])
