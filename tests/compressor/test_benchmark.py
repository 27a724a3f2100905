"""benchmark.fit: in-process results, pinned instances, pinning fallback, oversubscription, worker crashes.

No timing assertions: the machine's cores are shared and noisy.
"""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from compressor import benchmark, pinning  # noqa: E402
from compressor.config import BenchmarkConfig  # noqa: E402
from compressor.errors import BackendError, ConfigError  # noqa: E402

CPUS = sorted(os.sched_getaffinity(0))
two_cores = pytest.mark.skipif(len(CPUS) < 2, reason="needs at least two cores")


@pytest.fixture
def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)).eval()


@pytest.fixture
def onnx_path(mlp, tmp_path):
    path = tmp_path / "mlp.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter (dynamo=False) announces its deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(
            mlp, (torch.zeros(2, 16),), str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "batch"}}
        )
    return path


def loader(n=5, batch=8, last=None):
    rng = np.random.default_rng(0)
    sizes = [batch] * n if last is None else [batch] * (n - 1) + [last]
    return [(rng.random((s, 16), dtype=np.float32), np.zeros(s, dtype=np.int64)) for s in sizes]


def test_single_instance_in_process_fields(mlp):
    result = benchmark.fit(mlp, BenchmarkConfig(warmup=2, iteration=12), b_dataloader=loader())
    assert result.framework == "torch" and result.pinning == "none"
    assert len(result.instances) == 1
    inst = result.instances[0]
    assert inst.iterations == 12 and inst.samples == 12 * 8 and inst.pinning_method == "none"
    assert inst.throughput > 0 and result.throughput == inst.throughput
    assert 0 < inst.latency_ms.median <= inst.latency_ms.p90 <= inst.latency_ms.p99
    assert set(inst.cpus) <= set(CPUS) and result.batch_size == 8
    d = result.to_dict()
    assert d["instances"][0]["latency_ms"]["p99"] == inst.latency_ms.p99 and d["pinning"] == "none"
    assert "throughput" in result.summary()


def test_iteration_minus_one_runs_whole_dataloader_once(onnx_path):
    result = benchmark.fit(onnx_path, BenchmarkConfig(warmup=1), b_dataloader=loader(n=7, last=3))
    assert result.framework == "onnxrt"
    assert result.instances[0].iterations == 7 and result.instances[0].samples == 6 * 8 + 3


def test_fixed_iteration_cycles_batches(mlp):
    result = benchmark.fit(mlp, BenchmarkConfig(warmup=0, iteration=10), b_dataloader=loader(n=3, last=2))
    assert result.instances[0].iterations == 10
    assert result.instances[0].samples == 8 + 8 + 2 + 8 + 8 + 2 + 8 + 8 + 2 + 8


def test_conf_keyword_of_real_releases(mlp):
    result = benchmark.fit(mlp, conf=BenchmarkConfig(warmup=0, iteration=3), b_dataloader=loader())
    assert result.instances[0].iterations == 3


def test_missing_or_empty_dataloader_and_b_func_are_config_errors(mlp):
    with pytest.raises(ConfigError, match="b_dataloader"):
        benchmark.fit(mlp, BenchmarkConfig())
    with pytest.raises(ConfigError, match="empty"):
        benchmark.fit(mlp, BenchmarkConfig(), b_dataloader=[])
    with pytest.raises(ConfigError, match="b_func"):
        benchmark.fit(mlp, BenchmarkConfig(), b_dataloader=loader(), b_func=lambda m: None)


def _check_two_single_core_instances(result, method):
    assert result.pinning == method and len(result.instances) == 2
    cpus = [inst.cpus for inst in result.instances]
    assert all(len(c) == 1 for c in cpus), cpus  # Cpus_allowed_list as each worker read it
    assert cpus[0] != cpus[1]
    assert all(inst.pinning_method == method and inst.threads["intra"] == 1 for inst in result.instances)
    assert all(inst.iterations == 6 and inst.throughput > 0 for inst in result.instances)
    assert result.throughput == pytest.approx(sum(i.throughput for i in result.instances))


@two_cores
@pytest.mark.parametrize("kind", ["torch", "onnx"])
def test_two_instances_each_pinned_to_its_own_core(kind, mlp, onnx_path):
    model = mlp if kind == "torch" else onnx_path
    config = BenchmarkConfig(warmup=2, iteration=6, cores_per_instance=1, num_of_instance=2)
    result = benchmark.fit(model, config, b_dataloader=loader())
    expected = "numactl" if shutil.which("numactl") else "sched_setaffinity"
    _check_two_single_core_instances(result, expected)
    if expected == "numactl":
        assert not any("FALLBACK" in w for w in result.warnings)


@two_cores
def test_without_numactl_falls_back_to_sched_setaffinity_loudly(mlp, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(pinning.shutil, "which", lambda name, *a, **k: None if name == "numactl" else real_which(name))
    config = BenchmarkConfig(warmup=1, iteration=6, cores_per_instance=1, num_of_instance=2)
    result = benchmark.fit(mlp, config, b_dataloader=loader())
    _check_two_single_core_instances(result, "sched_setaffinity")
    assert any("FALLBACK" in w and "numactl" in w and "sched_setaffinity" in w for w in result.warnings)


def test_more_cores_than_exist_is_a_config_error_unless_allowed(mlp):
    too_many = len(CPUS) + 1
    with pytest.raises(ConfigError) as err:
        benchmark.fit(mlp, BenchmarkConfig(cores_per_instance=too_many), b_dataloader=loader())
    assert "cores_per_instance" in str(err.value) and str(too_many) in str(err.value)
    with pytest.raises(ConfigError, match="num_of_instance"):
        benchmark.fit(mlp, BenchmarkConfig(cores_per_instance=1, num_of_instance=too_many), b_dataloader=loader())
    config = BenchmarkConfig(warmup=0, iteration=2, cores_per_instance=too_many)
    result = benchmark.fit(mlp, config, b_dataloader=loader(), allow_oversubscription=True)
    assert any("oversubscribed" in w for w in result.warnings)


def test_plan_cores_round_robin_when_oversubscribed(monkeypatch):
    monkeypatch.setattr(pinning, "available_cpus", lambda: [0, 1])
    assert pinning.plan_cores(1, 2) == [[0], [1]]
    assert pinning.plan_cores(None, None) == [[0, 1]]
    assert pinning.plan_cores(1, 3, allow_oversubscription=True) == [[0], [1], [0]]
    assert pinning.parse_cpu_list("0-2,5") == [0, 1, 2, 5]


@two_cores
def test_worker_crash_reports_its_stderr(onnx_path):
    bad = [np.zeros((4, 7), dtype=np.float32)]  # the model wants 16 features
    config = BenchmarkConfig(warmup=1, iteration=2, cores_per_instance=1, num_of_instance=2)
    with pytest.raises(BackendError) as err:
        benchmark.fit(onnx_path, config, b_dataloader=bad)
    text = str(err.value)
    assert "benchmark instance" in text and "failed" in text and "stderr" in text
    assert "Traceback" in text or "INVALID_ARGUMENT" in text


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_untraceable_torch_model_suggests_single_instance(monkeypatch):
    class Untraceable(torch.nn.Module):
        def forward(self, x):
            return {"a": x, "b": "not a tensor"}

    config = BenchmarkConfig(warmup=0, iteration=2, cores_per_instance=1, num_of_instance=2)
    with pytest.raises(BackendError, match="num_of_instance=1"):
        benchmark.fit(Untraceable(), config, b_dataloader=loader(), allow_oversubscription=True)
