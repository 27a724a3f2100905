from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import models
from models import cli


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_entry_with_metadata(capsys, isolated_cache):
    code, out, _ = _run(capsys, "list")
    assert code == 0
    for entry in models.list_entries():
        assert entry.name in out
    assert "fashion-mnist" in out and "torch,onnxrt,tensorflow,mxnet" in out and str(isolated_cache) in out


def test_unknown_model_is_one_line_and_exit_2(capsys):
    code, out, err = _run(capsys, "prepare", "cnn_mnsit")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: unknown model 'cnn_mnsit' (did you mean 'cnn_mnist'?)")
    assert "Traceback" not in err


def test_prepare_needs_names_or_all(capsys):
    assert _run(capsys, "prepare")[0] == 2
    assert _run(capsys, "prepare", "--all", "mlp_digits")[0] == 2


def test_missing_dataset_is_reported_without_traceback(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPRESSOR_FASHION_MNIST_DIR", str(tmp_path / "absent"))
    pytest.importorskip("torch")
    code, _, err = _run(capsys, "prepare", "resnet8_fashion")
    assert code == 2 and "apt-get install -y dataset-fashion-mnist" in err and "Traceback" not in err


def test_prepare_trains_then_loads_and_list_shows_cached(capsys, tmp_path):
    pytest.importorskip("torch")
    cache_dir = str(tmp_path / "cli-cache")
    code, out, _ = _run(capsys, "prepare", "mlp_digits", "--cache-dir", cache_dir)
    assert code == 0 and "mlp_digits" in out and "trained" in out and "ok" in out
    code, out, _ = _run(capsys, "prepare", "mlp_digits", "--cache-dir", cache_dir)
    assert code == 0 and "cache" in out
    code, out, _ = _run(capsys, "list", "--cache-dir", cache_dir)
    row = next(line for line in out.splitlines() if "mlp_digits" in line)
    assert "torch" in row.split("│")[-2]


def test_add_models_commands_mounts_under_another_cli():
    parser = argparse.ArgumentParser(prog="harness")
    cli.add_models_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["models", "prepare", "--all", "--framework", "onnxrt", "--force"])
    assert args.func is cli.cmd_prepare and args.all and args.force and args.framework == "onnxrt"
    assert parser.parse_args(["models", "list"]).func is cli.cmd_list


def test_old_framework_spellings_are_accepted_with_a_note(capsys):
    parser = argparse.ArgumentParser(prog="harness")
    cli.add_models_commands(parser.add_subparsers(dest="command"))
    for old, new in (("onnx", "onnxrt"), ("tf", "tensorflow")):
        assert parser.parse_args(["models", "prepare", "--all", "--framework", old]).framework == new
        assert f"--framework {old} is deprecated, use --framework {new}" in capsys.readouterr().err


def test_python_dash_m_models_list():
    root = Path(models.__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "models", "list"], capture_output=True, text=True, cwd=root, check=True)
    assert "minilm_wordnet" in out.stdout
