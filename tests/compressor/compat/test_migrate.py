"""`compressor migrate`: generated 2.x code runs and rebuilds exactly what load_yaml builds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compressor.cli import main
from compressor.compat import load_yaml, migrate_code
from compressor.compat.codegen import VARIABLES

SEEDS = sorted((Path(__file__).parents[2] / "fixtures" / "seed_yaml").glob("*.yaml"))


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_generated_code_round_trips(path):
    loaded = load_yaml(path)
    namespace: dict = {}
    exec(compile(migrate_code(loaded), f"<migrated {path.name}>", "exec"), namespace)
    built = 0
    for attr, var in VARIABLES.items():
        expected = getattr(loaded, attr)
        if expected is None:
            assert var not in namespace
            continue
        assert namespace[var] == expected, f"{var} differs"
        built += 1
    assert built == len(loaded.configs())
    if loaded.train:
        assert set(namespace["train_settings"]) == set(loaded.train)


def test_generated_code_names_the_1x_sources():
    code = migrate_code(load_yaml(next(p for p in SEEDS if p.stem == "s002_mxnet_resnet50v2_mse")))
    assert "strategy='mse',  # tuning.strategy.name" in code
    assert "tolerable_loss=0.015,  # tuning.accuracy_criterion.relative" in code
    assert "quantization.fit(model, quant_conf" in code


def test_cli_migrate_prints_code(capsys):
    path = next(p for p in SEEDS if p.stem == "s001_benchmark")
    assert main(["migrate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "benchmark_conf = BenchmarkConfig(" in out and "cores_per_instance=4" in out


def test_cli_migrate_writes_a_file(tmp_path, capsys):
    out_file = tmp_path / "conf.py"
    path = next(p for p in SEEDS if p.stem == "s000_qat_bert")
    assert main(["migrate", str(path), "-o", str(out_file)]) == 0
    assert "QuantizationAwareTrainingConfig(" in out_file.read_text()


def test_cli_errors_are_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "conf.yaml"
    bad.write_text("tuning:\n  exit_polcy: {timeout: 0}\n")
    assert main(["migrate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "tuning.exit_polcy" in err and "did you mean 'exit_policy'" in err and "Traceback" not in err
    assert main(["migrate", str(tmp_path / "missing.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (bytes(range(256)), "not UTF-8 text; is it a binary file?"),  # a binary file (e.g. a model) passed by mistake
        (b"model:\n  name: x\x00\n", "special characters are not allowed"),  # decodes, but is not YAML text
    ],
    ids=["not-utf8", "control-character"],
)
def test_cli_binary_yaml_is_a_one_line_error_naming_the_file(tmp_path, capsys, content, found):
    bad = tmp_path / "conf.yaml"
    bad.write_bytes(content)
    assert main(["migrate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"compressor migrate: error: {bad}") and found in err
    assert "Traceback" not in err


def test_console_help_lists_real_subcommands():
    result = subprocess.run([sys.executable, "-m", "compressor", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "migrate" in result.stdout
