"""Mixed-precision backends by framework name, imported on first use."""

from __future__ import annotations

import importlib

from ...backends import FRAMEWORKS
from ...errors import BackendError, ConfigError
from .backend import MixedPrecisionBackend

_BACKENDS = {
    "torch": "compressor.algorithms.mixed_precision.torch_backend:TorchMixedPrecisionBackend",
    "onnxrt": "compressor.algorithms.mixed_precision.onnxrt_backend:OnnxRuntimeMixedPrecisionBackend",
}


def mixed_precision_backend(framework: str, **options) -> MixedPrecisionBackend:
    if framework not in _BACKENDS:
        raise ConfigError("framework", framework, sorted(_BACKENDS))
    module_name, cls_name = _BACKENDS[framework].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendError(
            f"mixed precision for {framework} needs {exc.name}, which is not installed: "
            f"pip install 'compressor[{FRAMEWORKS[framework][1]}]'"
        ) from exc
    return getattr(module, cls_name)(**options)
