"""Frameworks' warnings and log notes stay off the user's stderr during compressor's own calls, and
nothing about the user's process (warning filters, root logging) is changed by them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from compressor.quiet import quiet_frameworks

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

X = np.random.default_rng(0).random((32, 16), dtype=np.float32)


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).eval()


def _export(path, **kwargs):
    with warnings.catch_warnings():  # the TorchScript exporter (dynamo=False) announces its deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(_mlp(), (torch.zeros(2, 16),), str(path), dynamo=False, input_names=["x"], **kwargs)
    return onnx.load(str(path))


def test_ort_quantization_leaves_a_handler_less_root_logger_alone(tmp_path, monkeypatch):
    from compressor.algorithms.ptq import Plan, ptq_backend

    linear = torch.nn.Linear(16, 4)
    with torch.no_grad():  # a bias far beyond input scale x weight scale: ORT adjusts it and says so
        linear.weight.fill_(1e-4)
        linear.bias.fill_(1e4)
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter (dynamo=False) announces its deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(
            linear, (torch.zeros(2, 16),), str(path), dynamo=False, dynamic_axes={"x": {0: "b"}}, input_names=["x"]
        )
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # a script that never configured logging
    backend = ptq_backend("onnxrt")
    backend.quantize(backend.prepare(onnx.load(str(path))), Plan(), [(X * 1e-3,)])
    # ORT's tools call logging.info/warning on the root logger, which runs logging.basicConfig(): from
    # then on every library's log records would print on the user's stderr
    assert root.handlers == []


def test_sessions_compressor_creates_do_not_print_ort_warnings(tmp_path, capfd):
    from compressor.algorithms.ptq.onnxrt.session import make_session

    model = _export(tmp_path / "old.onnx", keep_initializers_as_inputs=True, opset_version=11)
    capfd.readouterr()
    make_session(model)  # ORT warns (C++ log) that initializers appear in graph inputs
    assert "[W:onnxruntime" not in capfd.readouterr().err


TORCH_RUN = """
import sys
import numpy as np, torch
from compressor.algorithms.ptq import Plan, ptq_backend
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).eval()
x = np.random.default_rng(0).random((32, 16), dtype=np.float32)
backend = ptq_backend("torch")
int8 = backend.quantize(model, Plan(), [(x,)])
int8(torch.from_numpy(x))  # the first forward compiles
backend.save(int8, sys.argv[1] + "/int8.pt")
backend.export_onnx(int8, sys.argv[1] + "/int8.onnx", (x[:2],))
print("done")
"""


def test_torch_int8_quantize_compile_save_and_export_leave_stderr_empty(tmp_path):
    """A fresh process with Python's default warning filters, as a user's script runs: torch's import-time
    deprecations, inductor's lowering warning, torch.export's ".pt2" note and the exporter's notes are
    all compressor's business, not the user's."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", TORCH_RUN, str(tmp_path)], capture_output=True, text=True, cwd=root, env=env, timeout=300
    )
    assert result.stdout.strip() == "done", result.stderr
    assert result.stderr == ""


def test_framework_warnings_go_to_debug_and_the_users_own_are_reissued(caplog):
    before = list(warnings.filters)
    debug = caplog.at_level(logging.DEBUG, logger="compressor.frameworks")
    with debug, pytest.warns(UserWarning, match="the user's own") as seen, quiet_frameworks():
        warnings.warn_explicit("framework noise", UserWarning, torch.__file__, 1)
        warnings.warn("old api", DeprecationWarning, stacklevel=1)
        warnings.warn("the user's own", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["the user's own"]
    assert "UserWarning: framework noise" in caplog.text and "DeprecationWarning: old api" in caplog.text
    assert warnings.filters == before
