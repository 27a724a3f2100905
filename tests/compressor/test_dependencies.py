"""``import compressor`` needs only what quantizing needs: no harness dependency, no framework."""

from __future__ import annotations

import subprocess
import sys

HARNESS_ONLY = ("pandas", "pyarrow", "matplotlib", "jinja2", "pydantic")
FRAMEWORKS = ("torch", "onnx", "onnxruntime", "tensorflow", "mxnet")


def test_import_compressor_loads_no_harness_dependency_and_no_framework():
    probe = (
        "import sys, compressor, compressor.config, compressor.quantization, compressor.training, "
        "compressor.benchmark, compressor.mix_precision\n"
        f"print(sorted(m for m in {HARNESS_ONLY + FRAMEWORKS!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout
