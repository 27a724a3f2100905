"""CPU flag parsing against recorded /proc/cpuinfo samples, and the native/emulated verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from compressor import hardware
from compressor.errors import ConfigError

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "cpuinfo"
AVX2 = SAMPLES / "amd_epyc_avx2.txt"
COOPER = SAMPLES / "cooper_lake_avx512_bf16.txt"
AMX = SAMPLES / "sapphire_rapids_amx.txt"


def caps(path: Path) -> hardware.CpuCapabilities:
    return hardware.parse_cpuinfo(path.read_text(), str(path))


@pytest.mark.parametrize(
    ("sample", "model", "bf16", "fp16", "vnni", "amx"),
    [
        (AVX2, "AMD EPYC 7B12", False, False, False, False),
        (COOPER, "Intel(R) Xeon(R) Platinum 8380H CPU @ 2.90GHz", True, False, True, False),
        (AMX, "Intel(R) Xeon(R) Processor", True, True, True, True),
    ],
)
def test_recorded_samples_parse_to_their_capabilities(sample, model, bf16, fp16, vnni, amx):
    cpu = caps(sample)
    assert cpu.model_name == model
    assert "avx2" in cpu.flags and "sse2" in cpu.flags
    assert (cpu.native_bf16, cpu.native_fp16, cpu.vnni, cpu.amx) == (bf16, fp16, vnni, amx)
    assert cpu.to_dict()["native_bf16"] is bf16
    assert set(cpu.reported_flags()) <= set(hardware.REPORTED_FLAGS)


def test_amx_sample_reports_its_amx_and_fp16_flags():
    flags = caps(AMX).reported_flags()
    assert {"amx_tile", "amx_bf16", "amx_int8", "avx512_bf16", "avx512_fp16"} <= set(flags)
    assert "amx_fp16" not in flags  # Sapphire Rapids has no AMX-FP16 (Granite Rapids does)


def test_avx2_machine_says_emulated_no_speedup_expected():
    verdict = hardware.assess("bf16", caps(AVX2), runtime="torch/oneDNN", runtime_native=True)
    assert verdict.verdict == "emulated" and not verdict.speedup_expected
    assert verdict.note.startswith("emulated: no speedup expected")
    assert "AMD EPYC 7B12" in verdict.note and "AVX512_BF16/AMX_BF16" in verdict.note


def test_cooper_lake_is_native_for_bf16_only():
    cpu = caps(COOPER)
    assert hardware.assess("bf16", cpu, runtime_native=True).native
    fp16 = hardware.assess("fp16", cpu, runtime_native=True)
    assert not fp16.native and "AVX512_FP16/AMX_FP16" in fp16.note


def test_flags_without_runtime_kernels_are_still_emulated():
    verdict = hardware.assess(
        "fp16", caps(AMX), runtime="onnxruntime CPU EP", runtime_native=False, runtime_reason="has no fp16 Conv kernel"
    )
    assert verdict.cpu_native and not verdict.native
    assert verdict.note == (
        "emulated: no speedup expected (the CPU has AVX512_FP16 but onnxruntime CPU EP has no fp16 Conv kernel)"
    )


def test_unknown_runtime_answer_trusts_the_flags():
    verdict = hardware.assess("bf16", caps(AMX), runtime_native=None)
    assert verdict.native and verdict.note.startswith("native bf16: AVX512_BF16, AMX_BF16")


def test_unknown_precision_is_a_config_error():
    with pytest.raises(ConfigError, match="did you mean 'bf16'"):
        hardware.assess("bf61", caps(AMX))


def test_missing_or_foreign_cpuinfo_means_nothing_native(tmp_path):
    missing = hardware.cpu_capabilities(tmp_path / "nope")
    assert missing.flags == frozenset() and not missing.native_bf16 and "unreadable" in missing.source
    arm = hardware.parse_cpuinfo("processor\t: 0\nFeatures\t: fp asimd bf16 fphp\n")
    assert "asimd" in arm.flags and not arm.native_bf16


def test_environment_variable_selects_a_recorded_sample(monkeypatch):
    monkeypatch.setenv(hardware.CPUINFO_ENV, str(AVX2))
    assert hardware.cpu_capabilities().model_name == "AMD EPYC 7B12"


def test_torch_kernel_check_answers_or_says_unknown():
    answer = hardware.torch_kernel_support("bf16")
    assert answer in (True, False, None)
