"""TorchPTQBackend on small digits models: op space, static/dynamic int8, fallback, options, outputs, IO."""

from __future__ import annotations

import copy
import dataclasses
import json
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchao")
nn = torch.nn

from compressor.algorithms.ptq.algorithm import OpInfo, OpQuant, Plan  # noqa: E402
from compressor.algorithms.ptq.torch_backend import TorchPTQBackend  # noqa: E402
from compressor.errors import BackendError  # noqa: E402


# --- models and data -----------------------------------------------------------------------------------
class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.relu1 = nn.Linear(64, 128), nn.ReLU()
        self.fc2, self.relu2 = nn.Linear(128, 64), nn.ReLU()
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc3(self.relu2(self.fc2(self.relu1(self.fc1(x)))))


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.relu1 = nn.Conv2d(1, 8, 3, padding=1), nn.ReLU()
        self.conv2, self.relu2 = nn.Conv2d(8, 16, 3, padding=1), nn.ReLU()
        self.pool, self.fc = nn.MaxPool2d(2), nn.Linear(16 * 16, 10)

    def forward(self, x):
        x = self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x.reshape(-1, 1, 8, 8))))))
        return self.fc(torch.flatten(x, 1))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Intra-op threads spin against each other on 2 busy shared cores: training took 15 s instead of 0.3 s.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x, y = (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    return x[order[:1400]], y[order[:1400]], x[order[1400:]], y[order[1400:]]


def _train(model, x, y, epochs=8):
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def mlp(digits):
    torch.manual_seed(0)
    return _train(MLP(), *digits[:2])


@pytest.fixture(scope="module")
def cnn(digits):
    torch.manual_seed(0)
    return _train(CNN(), *digits[:2])


@pytest.fixture(scope="module")
def calib(digits):
    return [(digits[0][i : i + 64],) for i in range(0, 256, 64)]


def accuracy(model, digits) -> float:
    with torch.no_grad():
        return float((model(torch.from_numpy(digits[2])).argmax(1).numpy() == digits[3]).mean())


def full_plan(backend, model, approach="static", option=0, **kw) -> Plan:
    ops = {op.name: backend.op_options(op, approach)[option] for op in backend.quantizable_ops(model)}
    return Plan(ops=ops, approach=approach, **kw)


@pytest.fixture(scope="module")
def static_cnn(cnn, calib):
    backend = TorchPTQBackend()
    return backend.quantize(cnn, full_plan(backend, cnn), calib)


reference = TorchPTQBackend(compile=False)  # same numbers as compiled, without the compile time


# --- op space -------------------------------------------------------------------------------------------
def test_quantizable_ops_are_modules_in_order(mlp, cnn):
    assert reference.quantizable_ops(mlp) == [OpInfo("fc1", "Linear"), OpInfo("fc2", "Linear"), OpInfo("fc3", "Linear")]
    assert [(op.name, op.op_type) for op in reference.quantizable_ops(cnn)] == [
        ("conv1", "Conv2d"),
        ("conv2", "Conv2d"),
        ("fc", "Linear"),
    ]
    attention = nn.MultiheadAttention(8, 2)  # out_proj is applied functionally: not a module op
    assert reference.quantizable_ops(attention) == []


def test_op_options_offer_what_x86_kernels_run():
    linear, conv, lstm = OpInfo("a", "Linear"), OpInfo("b", "Conv2d"), OpInfo("c", "LSTM")
    static = reference.op_options(linear, "static")
    assert {o.weight_granularity for o in static} == {"per_channel", "per_tensor"}
    assert {(o.weight_scheme, o.activation_scheme) for o in static} == {("sym", "asym")}
    assert reference.op_options(conv, "dynamic") == [] and reference.op_options(lstm, "static") == []
    assert reference.op_options(lstm, "dynamic") == [OpQuant()]
    assert reference.formats("static") == reference.formats("dynamic") == ("default",)


# --- static int8 -------------------------------------------------------------------------------------------
def test_static_cnn_keeps_accuracy_and_runs_onednn_int8_kernels(cnn, static_cnn, digits):
    assert accuracy(static_cnn, digits) >= accuracy(cnn, digits) - 0.01
    from torch.profiler import ProfilerActivity, profile

    x = torch.from_numpy(digits[2][:8])
    static_cnn(x)  # compiles for this shape outside the profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        static_cnn(x)
    kernels = {event.name for event in prof.events()}
    assert {"onednn::qconv_pointwise", "onednn::qlinear_pointwise"} <= kernels
    assert not any(k in kernels for k in ("aten::mkldnn_convolution", "aten::addmm", "aten::linear"))


def test_static_mlp_keeps_accuracy(mlp, calib, digits):
    backend = TorchPTQBackend()
    quantized = backend.quantize(mlp, full_plan(backend, mlp), calib)
    assert accuracy(quantized, digits) >= accuracy(mlp, digits) - 0.01
    assert backend.quantized_op_names(quantized) == ["fc1", "fc2", "fc3"]


def test_static_fallback_leaves_exactly_named_ops_fp32(cnn, calib, digits):
    plan = full_plan(reference, cnn).with_fallback("conv2")
    quantized = reference.quantize(cnn, plan, calib)
    assert reference.quantized_op_names(quantized) == ["conv1", "fc"]
    from compressor.algorithms.ptq.torch.graph import op_nodes

    conv2 = op_nodes(quantized.graph_module)["conv2"]
    assert conv2.args[1].op == "get_attr"  # its weight is the fp32 parameter, not a dequantized int8 one
    assert accuracy(quantized, digits) >= accuracy(cnn, digits) - 0.01


def test_ops_missing_from_the_plan_stay_fp32(mlp, calib):
    quantized = reference.quantize(mlp, Plan(ops={"fc2": OpQuant()}), calib)
    assert reference.quantized_op_names(quantized) == ["fc2"]


def _weight_scales(quantized, name):
    from compressor.algorithms.ptq.torch.graph import op_nodes

    dequant = op_nodes(quantized.graph_module)[name].args[1]
    return getattr(quantized.graph_module, dequant.args[1].target)


@pytest.mark.parametrize("granularity", ["per_channel", "per_tensor"])
def test_weight_granularity(mlp, calib, digits, granularity):
    plan = Plan(ops={op.name: OpQuant(weight_granularity=granularity) for op in reference.quantizable_ops(mlp)})
    quantized = reference.quantize(mlp, plan, calib)
    scales = _weight_scales(quantized, "fc1")
    assert scales.numel() == 128  # per-tensor rides on per-channel kernels with one shared scale
    assert (len(torch.unique(scales)) == 1) == (granularity == "per_tensor")
    assert accuracy(quantized, digits) >= accuracy(mlp, digits) - 0.01


@pytest.mark.parametrize("calibration", ["minmax", "percentile", "entropy"])
def test_calibration_methods(cnn, calib, digits, calibration):
    quantized = reference.quantize(cnn, full_plan(reference, cnn, calibration=calibration), calib)
    assert accuracy(quantized, digits) >= accuracy(cnn, digits) - 0.01


def test_percentile_observer_clips_a_lone_outlier():
    from compressor.algorithms.ptq.torch.observers import PercentileObserver

    observer = PercentileObserver()
    values = torch.cat([torch.rand(100_000), torch.tensor([1000.0])])
    observer(values)
    low, high = observer._non_linear_param_search()
    assert float(low) == 0.0 and 0.9 < float(high) < 10.0


def test_unsupported_choices_are_refused(mlp, calib):
    with pytest.raises(BackendError, match="asym weights"):
        reference.quantize(mlp, Plan(ops={"fc1": OpQuant(weight_scheme="asym")}), calib)
    with pytest.raises(BackendError, match="uint8"):
        reference.quantize(mlp, Plan(ops={"fc1": OpQuant(activation_scheme="sym")}), calib)
    with pytest.raises(BackendError, match="fc9"):
        reference.quantize(mlp, Plan(ops={"fc9": OpQuant()}), calib)
    with pytest.raises(BackendError, match=r"no dynamic int8 kernel for conv1 \(Conv2d\)"):
        reference.quantize(CNN(), Plan(ops={"conv1": OpQuant()}, approach="dynamic"), calib)
    with pytest.raises(BackendError, match="calibration batch"):
        reference.quantize(mlp, Plan(ops={"fc1": OpQuant()}), [])


def test_conv1d_is_quantized(calib):
    model = nn.Sequential(
        nn.Unflatten(1, (1, 64)), nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 62, 10)
    ).eval()
    quantized = reference.quantize(model, full_plan(reference, model), calib)
    assert reference.quantized_op_names(quantized) == ["1", "4"]


# --- dynamic int8 --------------------------------------------------------------------------------------------
def test_dynamic_mlp_keeps_accuracy_and_fallback(mlp, digits):
    plan = full_plan(reference, mlp, approach="dynamic")
    quantized = reference.quantize(mlp, plan, [])
    assert accuracy(quantized, digits) >= accuracy(mlp, digits) - 0.01
    assert reference.quantized_op_names(quantized) == ["fc1", "fc2", "fc3"]
    partial = reference.quantize(mlp, plan.with_fallback("fc2"), [])
    assert reference.quantized_op_names(partial) == ["fc1", "fc3"]
    assert type(partial.module.fc2) is nn.Linear


def test_dynamic_lstm():
    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm, self.head = nn.LSTM(8, 16, batch_first=True), nn.Linear(16, 3)

        def forward(self, x):
            return self.head(self.lstm(x)[0])

    model = Tagger().eval()
    plan = full_plan(reference, model, approach="dynamic")
    quantized = reference.quantize(model, plan, [])
    assert reference.quantized_op_names(quantized) == ["lstm", "head"]
    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    with torch.no_grad():
        assert quantized(torch.from_numpy(x)).shape == (2, 5, 3)


# --- outputs, latency, immutability ---------------------------------------------------------------------------
@pytest.mark.parametrize("approach", ["static", "dynamic"])
def test_op_outputs_match_fp32_shapes(mlp, cnn, calib, digits, approach):
    model = cnn if approach == "static" else mlp
    names = [op.name for op in reference.quantizable_ops(model)]
    quantized = reference.quantize(model, full_plan(reference, model, approach=approach), calib)
    batches = [(digits[2][:10],), (digits[2][10:30],)]
    fp32 = reference.op_outputs(model, batches, names)
    int8 = reference.op_outputs(quantized, batches, names)
    for name in names:
        assert int8[name].shape == fp32[name].shape and fp32[name].shape[0] == 30
        error = np.linalg.norm(int8[name] - fp32[name]) / np.linalg.norm(fp32[name])
        assert 0 < error < 0.1, name


def test_latency_ms(static_cnn, cnn, digits):
    backend = TorchPTQBackend(num_threads=1)
    batch = (digits[2][:16],)
    assert backend.latency_ms(static_cnn, batch, warmup=2, iterations=5) > 0
    assert backend.latency_ms(cnn, batch, warmup=1, iterations=5) > 0
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("approach", ["static", "dynamic"])
def test_user_model_not_mutated(mlp, calib, approach):
    before = copy.deepcopy(mlp.state_dict())
    plan = dataclasses.replace(full_plan(reference, mlp, approach=approach), smooth_quant_alpha=0.5)
    reference.quantize(mlp, plan, calib)
    after = mlp.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert all(not m._forward_pre_hooks and not m._forward_hooks for m in mlp.modules())
    assert type(mlp.fc1) is nn.Linear


# --- save, reload, ONNX --------------------------------------------------------------------------------------------
def test_static_save_reload_without_pickle(static_cnn, digits, tmp_path):
    path = str(tmp_path / "cnn.pt2")
    reference.save(static_cnn, path)
    # same archive; only the root folder name inside the zip follows the file name
    assert abs(reference.size_bytes(static_cnn) - (tmp_path / "cnn.pt2").stat().st_size) < 1024
    reloaded = reference.load(path)
    assert reference.quantized_op_names(reloaded) == ["conv1", "conv2", "fc"]
    assert accuracy(reloaded, digits) == accuracy(static_cnn.graph_module, digits)


def test_static_archive_with_pickled_payload_is_refused(static_cnn, tmp_path):
    good, bad = tmp_path / "good.pt2", tmp_path / "bad.pt2"
    reference.save(static_cnn, str(good))
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("_weights_config.json"):
                config = json.loads(data)
                next(iter(config["config"].values()))["use_pickle"] = True
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    with pytest.raises(BackendError, match="pickle"):
        reference.load(str(bad))


def test_dynamic_save_reload_weights_only(mlp, digits, tmp_path):
    plan = dataclasses.replace(full_plan(reference, mlp, approach="dynamic"), smooth_quant_alpha=0.5)
    quantized = reference.quantize(mlp, plan, [(digits[0][:64],)])
    path = str(tmp_path / "mlp.pt")
    reference.save(quantized, path)
    assert torch.load(path, weights_only=True)["format"].startswith("compressor.torch.dynamic-int8")
    with pytest.raises(BackendError, match="fp32 model"):
        reference.load(path)
    reloaded = reference.load(path, mlp)
    x = torch.from_numpy(digits[2])
    with torch.no_grad():
        assert torch.equal(reloaded(x), quantized(x))
    assert reference.size_bytes(quantized) < reference.size_bytes(mlp)


def test_onnx_export_runs_in_onnxruntime(static_cnn, cnn, digits, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    path = str(tmp_path / "cnn.onnx")
    reference.export_onnx(static_cnn, path, (digits[2][:4],))
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in onnx.load(path).graph.node}
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    logits = session.run(None, {session.get_inputs()[0].name: digits[2]})[0]
    assert float((logits.argmax(1) == digits[3]).mean()) >= accuracy(cnn, digits) - 0.01


def test_onnx_export_of_dynamic_model_explains(mlp, tmp_path):
    quantized = reference.quantize(mlp, full_plan(reference, mlp, approach="dynamic"), [])
    with pytest.raises(BackendError, match="onnxrt backend"):
        reference.export_onnx(quantized, str(tmp_path / "m.onnx"), (np.zeros((2, 64), np.float32),))


def test_missing_frameworks_name_the_extra(monkeypatch):
    import sys

    from compressor.algorithms.ptq.torch import deps

    monkeypatch.setitem(sys.modules, "torchao.quantization.pt2e", None)
    with pytest.raises(BackendError, match=r"compressor\[torch\]"):
        deps.require_pt2e()
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(BackendError, match=r"pip install 'compressor\[torch\]'"):
        deps.require_torch()


class ReusedReluBlock(nn.Module):
    """One ReLU module applied twice around a residual add, as the zoo's ResNet blocks do."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2, self.relu = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv2(self.relu(self.conv1(x))) + x)


def test_static_quantizes_a_model_that_reuses_a_relu_module():
    torch.manual_seed(0)
    model, x = ReusedReluBlock().eval(), torch.randn(8, 4, 8, 8)
    backend = TorchPTQBackend()
    plan = Plan(ops={n: OpQuant(weight_granularity="per_channel") for n in ("conv1", "conv2")})
    q = backend.quantize(model, plan, [(x.numpy(),)])  # was: "Input partition has more than one output node"
    assert backend.quantized_op_names(q) == ["conv1", "conv2"]
    with torch.no_grad():
        assert float((q(x) - model(x)).abs().max()) < 0.05


class DeadBranch(nn.Module):
    """Computes a pooler-like linear + tanh that the output never uses (Hugging Face encoders do)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc, self.pooler, self.head = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x):
        hidden = torch.relu(self.fc(x))
        torch.tanh(self.pooler(hidden))  # unused
        return self.head(hidden)


def test_static_quantizes_a_model_with_dead_code():
    torch.manual_seed(0)
    model, x = DeadBranch().eval(), torch.randn(16, 8)
    backend = TorchPTQBackend()
    plan = Plan(ops={n: OpQuant(weight_granularity="per_channel") for n in ("fc", "pooler", "head")})
    q = backend.quantize(model, plan, [(x.numpy(),)])  # was: IndexError in the linear + unary annotation
    assert backend.quantized_op_names(q) == ["fc", "head"]  # the pooler is gone, not run in int8
    with torch.no_grad():
        assert float((q(x) - model(x)).abs().max()) < 0.05


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, features, mask):
        return self.fc(features * mask)


def test_static_model_takes_keyword_inputs_before_and_after_reload(tmp_path):
    torch.manual_seed(0)
    model = TwoInputs().eval()
    x, m = torch.randn(16, 8), torch.ones(16, 8)
    backend = TorchPTQBackend(compile=False)
    q = backend.quantize(model, Plan(ops={"fc": OpQuant(weight_granularity="per_channel")}), [(x.numpy(), m.numpy())])
    path = str(tmp_path / "q.pt2")
    backend.save(q, path)
    for int8 in (q, backend.load(path)):
        with torch.no_grad():
            torch.testing.assert_close(int8(features=x, mask=m), int8(x, m))
            torch.testing.assert_close(int8(x, mask=m), int8(x, m))
        with pytest.raises(TypeError, match=r"unexpected keyword arguments \['maks'\]"):
            int8(x, maks=m)
