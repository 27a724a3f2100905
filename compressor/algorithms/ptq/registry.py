"""PTQ backends by framework name, imported on first use."""

from __future__ import annotations

import importlib

from ...backends import FRAMEWORKS
from ...errors import BackendError, ConfigError
from .backend import PTQBackend

_BACKENDS = {
    "torch": "compressor.algorithms.ptq.torch_backend:TorchPTQBackend",
    "onnxrt": "compressor.algorithms.ptq.onnxrt_backend:OnnxRuntimePTQBackend",
}


def ptq_backend(framework: str, **options) -> PTQBackend:
    if framework not in _BACKENDS:
        raise ConfigError("framework", framework, sorted(_BACKENDS))
    module_name, cls_name = _BACKENDS[framework].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = FRAMEWORKS[framework][1]
        raise BackendError(
            f"post-training quantization for {framework} needs {exc.name}, which is not installed: "
            f"pip install 'compressor[{extra}]'"
        ) from exc
    return getattr(module, cls_name)(**options)
