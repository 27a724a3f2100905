"""Every technique reaches its framework code the same way: one table per technique, one loader, one
error for a framework it does not support, and a framework-free answer to "which frameworks"."""

from __future__ import annotations

import subprocess
import sys

import pytest

import compressor
from compressor.algorithms import lazy
from compressor.algorithms.ptq.backend import DEFAULT_THREADS, timing_threads
from compressor.errors import BackendError, ConfigError, UnsupportedFrameworkError

EXPECTED = {
    "ptq": ("onnxrt", "tensorflow", "torch"),
    "qat": ("tensorflow", "torch"),
    "pruning": ("tensorflow", "torch"),
    "distillation": ("tensorflow", "torch"),
    "mixed_precision": ("onnxrt", "tensorflow", "torch"),
}


def test_supported_frameworks_of_every_technique():
    assert {t: compressor.supported_frameworks(t) for t in lazy.TECHNIQUES} == EXPECTED
    assert set(compressor.supported_frameworks("ptq")) <= set(compressor.frameworks())


def test_unknown_technique_is_a_config_error_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'pruning'"):
        compressor.supported_frameworks("prunning")


def test_queries_import_no_framework():
    code = (
        "import sys, compressor\n"
        "[compressor.supported_frameworks(t) for t in ('ptq', 'qat', 'pruning', 'distillation', 'mixed_precision')]\n"
        "compressor.frameworks(), compressor.available_strategies()\n"
        "loaded = [m for m in ('torch', 'onnx', 'onnxruntime', 'tensorflow', 'keras') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_listings():
    assert compressor.frameworks() == ("onnxrt", "tensorflow", "torch")
    strategies = compressor.available_strategies()
    assert strategies == tuple(sorted(strategies)) and {"basic", "mse", "tpe"} <= set(strategies)
    for name in ("supported_frameworks", "frameworks", "available_strategies", "UnsupportedFrameworkError"):
        assert name in compressor.__all__


@pytest.mark.parametrize("technique", sorted(lazy.TECHNIQUES))
def test_one_error_for_an_unsupported_framework(technique):
    with pytest.raises(UnsupportedFrameworkError) as info:
        lazy.load_implementation(technique, "tensorflw")
    err = info.value
    assert isinstance(err, ConfigError) and isinstance(err, BackendError) and isinstance(err, ValueError)
    text = str(err)
    assert lazy.TECHNIQUES[technique][1] in text and "'tensorflw'" in text
    assert all(repr(fw) in text for fw in EXPECTED[technique])


def test_near_miss_framework_gets_a_suggestion():
    with pytest.raises(UnsupportedFrameworkError, match="did you mean 'torch'"):
        lazy.load_implementation("qat", "trch")


def test_factories_raise_it_without_importing_the_framework():
    from compressor.algorithms import mixed_precision, ptq, qat

    for call in (lambda: ptq.ptq_backend("mxnet"), lambda: mixed_precision.mixed_precision_backend("mxnet")):
        with pytest.raises(UnsupportedFrameworkError, match="supported frameworks: 'onnxrt', 'tensorflow', 'torch'"):
            call()
    with pytest.raises(UnsupportedFrameworkError, match="quantization-aware training does not support"):
        qat.make_component(object(), object(), "onnxrt")


def test_timing_threads_and_its_aliases():
    assert timing_threads(None) == DEFAULT_THREADS == 1
    assert timing_threads(4) == 4
    assert timing_threads(None, "num_threads", 3) == 3
    assert timing_threads(2, "num_threads", 2) == 2
    with pytest.raises(ConfigError, match="both threads and num_threads"):
        timing_threads(2, "num_threads", 3)
    with pytest.raises(ConfigError, match="intra_op_num_threads: invalid value 0"):
        timing_threads(None, "intra_op_num_threads", 0)
    with pytest.raises(ConfigError, match="threads: invalid value True"):
        timing_threads(True)
