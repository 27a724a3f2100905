"""OnnxRuntimePTQBackend on small digits models exported from torch: formats, fallback, per-op options,
calibration methods and their caching, op outputs, size, latency, errors."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from onnx_export import export  # noqa: E402

from compressor.algorithms.ptq import onnxrt_backend as backend_module  # noqa: E402
from compressor.algorithms.ptq.algorithm import FP32, OpQuant, Plan  # noqa: E402
from compressor.algorithms.ptq.onnxrt import deps  # noqa: E402
from compressor.algorithms.ptq.onnxrt_backend import OnnxRuntimePTQBackend  # noqa: E402
from compressor.errors import BackendError  # noqa: E402

# --- models ------------------------------------------------------------------------------------------


@contextmanager
def one_torch_thread():
    # Tiny full-batch steps are ~50x slower with torch's default pool on two shared cores.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(module, x, y, steps):
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)
    inputs, labels = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(module(inputs), labels).backward()
        optimizer.step()
    return module.eval()


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.fc = torch.nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.c2(x)), 2)
        return self.fc(x.flatten(1))


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    return x[order[:1200]], y[order[:1200]], x[order[1200:]], y[order[1200:]]


@pytest.fixture(scope="module")
def models(digits):
    """name -> (fp32 ModelProto, input shape); trained full-batch, seeded."""
    x, y, _, _ = digits
    with one_torch_thread():
        torch.manual_seed(0)
        mlp = torch.nn.Sequential(
            torch.nn.Linear(64, 128),
            torch.nn.ReLU(),
            torch.nn.Linear(128, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 10),
        )
        train(mlp, x, y, steps=150)
        torch.manual_seed(0)
        cnn = train(SmallCNN(), x.reshape(-1, 1, 8, 8), y, steps=120)
        return {
            "mlp": (export(mlp, torch.from_numpy(x[:2])), (-1, 64)),
            "cnn": (export(cnn, torch.from_numpy(x[:2].reshape(-1, 1, 8, 8))), (-1, 1, 8, 8)),
        }


@pytest.fixture(scope="module")
def backend():
    return OnnxRuntimePTQBackend()


@pytest.fixture(scope="module")
def prepared(models, backend):
    return {name: backend.prepare(model) for name, (model, _) in models.items()}


def calibration(digits, shape, n=300):
    return [(digits[0][i : i + 100].reshape(shape),) for i in range(0, n, 100)]


def accuracy(model, digits, shape) -> float:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"x": digits[2].reshape(shape)})[0]
    return float((logits.argmax(axis=1) == digits[3]).mean())


def float_ops(model) -> set[str]:
    """Logical ops computed in float: Conv/MatMul/Gemm whose weight is a float initializer.

    Dynamic quantization turns a Gemm into ``<gemm>_MatMul`` (+Add), so that suffix is dropped.
    """
    floats = {i.name for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT}
    names = set()
    for node in model.graph.node:
        if node.op_type in ("Conv", "MatMul", "Gemm") and node.input[1] in floats:
            names.add(node.name.removesuffix("_MatMul"))
    return names


# --- tests -------------------------------------------------------------------------------------------


def test_prepare_gives_stable_names_and_types(models, backend, prepared):
    again = backend.prepare(models["cnn"][0])
    ops = backend.quantizable_ops(prepared["cnn"])
    assert ops == backend.quantizable_ops(again)
    assert [op.op_type for op in ops] == ["Conv", "Conv", "Gemm"]
    assert all(op.has_weight for op in ops)
    assert [op.op_type for op in backend.quantizable_ops(prepared["mlp"])] == ["Gemm"] * 3
    meta = {p.key for p in prepared["mlp"].metadata_props}
    assert "onnx.quant.pre_process" in meta  # ORT's marker that quant_pre_process ran


def test_prepare_names_unnamed_nodes_deterministically(backend, tmp_path):
    h = onnx.helper
    rng = np.random.default_rng(0)
    graph = h.make_graph(
        [
            h.make_node("MatMul", ["x", "w1"], ["h"]),
            h.make_node("Relu", ["h"], ["r"]),
            h.make_node("MatMul", ["r", "w2"], ["y"]),
        ],
        "unnamed",
        [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 8])],
        [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 3])],
        [
            onnx.numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "w1"),
            onnx.numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "w2"),
        ],
    )
    path = tmp_path / "unnamed.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), str(path))
    first, second = backend.prepare(str(path)), backend.prepare(onnx.load(str(path)))
    names = [op.name for op in backend.quantizable_ops(first)]
    assert names == ["MatMul_0", "MatMul_2"]
    assert names == [op.name for op in backend.quantizable_ops(second)]


@pytest.mark.parametrize("name", ["mlp", "cnn"])
@pytest.mark.parametrize(
    "plan",
    [Plan(quant_format="QDQ"), Plan(quant_format="QOperator"), Plan(approach="dynamic")],
    ids=["qdq", "qop", "dynamic"],
)
def test_int8_keeps_accuracy_within_one_point(name, plan, models, prepared, backend, digits):
    shape = models[name][1]
    fp32 = accuracy(prepared[name], digits, shape)
    quantized = backend.quantize(prepared[name], plan, calibration(digits, shape))
    assert fp32 > 0.9
    assert accuracy(quantized, digits, shape) >= fp32 - 0.01


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator", "dynamic"])
def test_fallback_excludes_exactly_the_named_ops(fmt, models, prepared, backend, digits):
    for name in ("mlp", "cnn"):
        ops = [op.name for op in backend.quantizable_ops(prepared[name])]
        plan = Plan(approach="dynamic") if fmt == "dynamic" else Plan(quant_format=fmt)
        plan = plan.with_fallback(ops[1])
        quantized = backend.quantize(prepared[name], plan, calibration(digits, models[name][1]))
        expected = {ops[1]} | ({o for o in ops if "Conv" in o} if fmt == "dynamic" else set())
        assert float_ops(quantized) == expected, name


def test_per_channel_mixes_in_qdq_and_follows_the_majority_in_qoperator(models, prepared, backend, digits):
    model, shape = prepared["cnn"], models["cnn"][1]
    c1, c2, fc = (op.name for op in backend.quantizable_ops(model))
    per_channel = OpQuant(weight_granularity="per_channel")
    plan = Plan(ops={c1: per_channel, c2: OpQuant(), fc: OpQuant()})

    def scale_sizes(quantized):
        found = {i.name: int(np.prod(i.dims)) for i in quantized.graph.initializer}
        return found["c1.weight_scale"], found["c2.weight_scale"]

    qdq = backend.quantize(model, plan, calibration(digits, shape))
    assert scale_sizes(qdq) == (8, 1)
    qop = backend.quantize(
        model,
        Plan(ops={c1: per_channel, c2: per_channel, fc: OpQuant()}, quant_format="QOperator"),
        calibration(digits, shape),
    )
    assert scale_sizes(qop) == (8, 16)  # 2 of 3 asked per-channel: all are
    assert accuracy(qop, digits, shape) >= accuracy(model, digits, shape) - 0.01


def test_weight_and_activation_schemes_reach_the_graph(models, prepared, backend, digits):
    model, shape = prepared["mlp"], models["mlp"][1]
    first, second, _ = (op.name for op in backend.quantizable_ops(model))
    for fmt in ("QDQ", "QOperator"):
        plan = Plan(
            quant_format=fmt, ops={first: OpQuant(weight_scheme="asym"), second: OpQuant(activation_scheme="sym")}
        )
        quantized = backend.quantize(model, plan, calibration(digits, shape))
        zero_points = {
            i.name: int(onnx.numpy_helper.to_array(i))
            for i in quantized.graph.initializer
            if i.name.endswith("zero_point")
        }
        assert zero_points["0.weight_zero_point"] != 0 and zero_points["2.weight_zero_point"] == 0
        # second's input is a Relu output: asymmetric uint8 gives zero-point 0, symmetric the midpoint.
        # QDQ quantizes the Relu output; QOperator drops the Relu and quantizes the Gemm output before it.
        sym, asym = {
            "QDQ": ("/1/Relu_output_0", "/3/Relu_output_0"),
            "QOperator": ("/0/Gemm_output_0", "/2/Gemm_output_0"),
        }[fmt]
        assert (zero_points[f"{sym}_zero_point"], zero_points[f"{asym}_zero_point"]) == (128, 0), fmt


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy"])
def test_calibration_methods_run(method, models, prepared, backend, digits):
    shape = models["mlp"][1]
    quantized = backend.quantize(prepared["mlp"], Plan(calibration=method), calibration(digits, shape))
    assert accuracy(quantized, digits, shape) >= accuracy(prepared["mlp"], digits, shape) - 0.01


def test_ranges_are_calibrated_once_per_method(models, prepared, monkeypatch, digits):
    calls = []
    real = backend_module.calibrate
    monkeypatch.setattr(backend_module, "calibrate", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    fresh = OnnxRuntimePTQBackend()
    model, batches = prepared["mlp"], calibration(digits, models["mlp"][1])
    ops = [op.name for op in fresh.quantizable_ops(model)]
    for fallback in ((), (ops[0],), (ops[1], ops[2])):
        fresh.quantize(model, Plan().with_fallback(*fallback), batches)
        fresh.quantize(model, Plan(quant_format="QOperator").with_fallback(*fallback), batches)
    fresh.quantize(model, Plan(calibration="percentile"), batches)
    assert calls == ["minmax", "percentile"]


def test_dynamic_leaves_convs_fp32_unless_a_plan_names_them(models, prepared, backend, digits):
    model = prepared["cnn"]
    ops = backend.quantizable_ops(model)
    assert backend.op_options(ops[0], "dynamic") == []
    assert backend.op_options(ops[2], "dynamic")[0] == OpQuant()
    assert backend.formats("dynamic") == ("QOperator",)
    default = backend.quantize(model, Plan(approach="dynamic"), [])
    assert "ConvInteger" not in {n.op_type for n in default.graph.node}
    explicit = backend.quantize(model, Plan(approach="dynamic", ops={ops[0].name: OpQuant(), ops[1].name: FP32}), [])
    assert [n.op_type for n in explicit.graph.node].count("ConvInteger") == 1


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_static_plan_mixes_static_dynamic_and_fp32_ops(fmt, models, prepared, backend, digits):
    """One graph: the first Gemm static (QDQ / QLinear), the second dynamic (its input quantized at run time,
    named ``<gemm>_MatMul`` by ORT), the third fp32; CNN convs are never offered dynamic by default."""
    model, shape = prepared["mlp"], models["mlp"][1]
    first, second, third = (op.name for op in backend.quantizable_ops(model))
    info = backend.quantizable_ops(model)[1]
    dynamic = OpQuant(activation_mode="dynamic")
    assert dynamic in backend.op_options(info, "static")
    assert not any(o.dynamic for o in backend.op_options(backend.quantizable_ops(prepared["cnn"])[0], "static"))
    plan = Plan(quant_format=fmt, ops={first: OpQuant(), second: dynamic, third: FP32})
    quantized = backend.quantize(model, plan, calibration(digits, shape))
    types = [n.op_type for n in quantized.graph.node]
    by_name = {n.name: n.op_type for n in quantized.graph.node}
    assert float_ops(quantized) == {third}
    assert by_name[f"{second}_MatMul_quant"] == "MatMulInteger" and types.count("DynamicQuantizeLinear") == 1
    # the dynamic pass must not rewrite the other Gemms (a QDQ Gemm would get a run-time weight Transpose)
    assert by_name[third] == "Gemm" and "Transpose" not in types
    assert by_name[first] == "Gemm" if fmt == "QDQ" else by_name[f"{first}_quant"] == "QGemm"
    assert all(o.domain != "compressor.hidden" for o in quantized.opset_import)
    assert accuracy(quantized, digits, shape) >= accuracy(model, digits, shape) - 0.01
    # every op dynamic: no static pass, no calibration needed
    only = backend.quantize(model, Plan(quant_format=fmt, ops={first: dynamic, second: dynamic, third: dynamic}), [])
    assert "QuantizeLinear" not in {n.op_type for n in only.graph.node} and not float_ops(only)
    assert Plan(ops={first: dynamic}).dynamic_ops == (first,)
    # the CNN's classifier reads a Flatten that the static pass quantized: no name may be defined twice
    cnn, cnn_shape = prepared["cnn"], models["cnn"][1]
    *_, fc = (op.name for op in backend.quantizable_ops(cnn))
    mixed = backend.quantize(cnn, Plan(quant_format=fmt).with_ops(**{fc: dynamic}), calibration(digits, cnn_shape))
    assert accuracy(mixed, digits, cnn_shape) >= accuracy(cnn, digits, cnn_shape) - 0.01
    assert "MatMulInteger" in {n.op_type for n in mixed.graph.node} and not float_ops(mixed)


@pytest.mark.parametrize(
    "plan", [Plan(), Plan(quant_format="QOperator"), Plan(approach="dynamic")], ids=["qdq", "qop", "dynamic"]
)
def test_op_outputs_match_in_shape_between_fp32_and_int8(plan, models, prepared, backend, digits):
    for name in ("mlp", "cnn"):
        model, shape = prepared[name], models[name][1]
        batches = calibration(digits, shape, n=200)
        names = [op.name for op in backend.quantizable_ops(model)]
        quantized = backend.quantize(model, plan, batches)
        ref, got = backend.op_outputs(model, batches, names), backend.op_outputs(quantized, batches, names)
        for op in names:
            assert ref[op].shape == got[op].shape and ref[op].shape[0] == 200, (name, op)
            error = float(np.mean((ref[op] - got[op]) ** 2))
            assert error < 0.05 * float(np.mean(ref[op] ** 2)) + 1e-6, (name, op, error)


def test_size_and_save(models, prepared, backend, digits, tmp_path):
    model = prepared["mlp"]
    quantized = backend.quantize(model, Plan(), calibration(digits, models["mlp"][1]))
    ratio = backend.size_bytes(model) / backend.size_bytes(quantized)
    assert 2.5 <= ratio <= 4.5
    path = tmp_path / "int8.onnx"
    backend.save(quantized, str(path))
    assert path.stat().st_size == backend.size_bytes(quantized)
    assert backend.size_bytes(str(path)) == backend.size_bytes(quantized)


def test_latency_and_optimized_fp32_baseline(models, prepared, backend, digits):
    model, shape = prepared["cnn"], models["cnn"][1]
    batch = (digits[2][:8].reshape(shape),)
    optimized = backend.fp32_optimized(model)
    assert {n.op_type for n in optimized.graph.node} != {n.op_type for n in model.graph.node}  # Conv+Relu fused
    assert accuracy(optimized, digits, shape) == accuracy(model, digits, shape)
    for candidate in (model, optimized, backend.quantize(model, Plan(), calibration(digits, shape))):
        assert backend.latency_ms(candidate, batch, warmup=1, iterations=3) > 0


def test_failing_calibration_is_a_clear_backend_error(models, prepared, backend, digits):
    batches = calibration(digits, models["mlp"][1])
    batches[0][0][0, 5] = np.inf
    with pytest.raises(BackendError) as info:
        backend.quantize(prepared["mlp"], Plan(calibration="percentile"), batches)
    text = str(info.value)
    assert "'percentile'" in text and "calibration='minmax'" in text and "inf/nan in input(s) ['x']" in text


def test_plan_with_unknown_op_or_bad_batch_is_rejected(models, prepared, backend, digits):
    with pytest.raises(BackendError, match="did you mean '/2/Gemm'"):
        backend.quantize(prepared["mlp"], Plan(ops={"/2/Gem": FP32}), calibration(digits, models["mlp"][1]))
    with pytest.raises(BackendError, match="2 array"):
        backend.latency_ms(prepared["mlp"], (digits[2][:1], digits[2][:1]))


def test_missing_onnxruntime_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(BackendError, match=r"pip install 'compressor\[onnx\]'"):
        deps.ort()


def test_histogram_calibration_accepts_a_short_last_batch():
    from compressor.algorithms.ptq.onnxrt.calibration import _equal_batches

    batches = [{"x": np.ones((32, 4), np.float32)}, {"x": np.zeros((4, 4), np.float32)}]
    cut = _equal_batches(batches)
    assert {len(b["x"]) for b in cut} == {4} and sum(len(b["x"]) for b in cut) == 36
