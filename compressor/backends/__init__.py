"""Thin per-framework basics: recognise a model's framework, load it, run it, fingerprint it.

Each framework's module is imported only when a model of that framework shows up, so
``import compressor`` stays framework-free.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from ..errors import BackendError, ConfigError

# framework name -> (module with the basics, pip extra that installs the framework)
FRAMEWORKS = {
    "torch": ("compressor.backends.torch_basics", "torch"),
    "onnxrt": ("compressor.backends.onnx_basics", "onnx"),
}


def detect_framework(model: Any) -> str:
    """``torch`` for an nn.Module, ``onnxrt`` for an ONNX ModelProto or a path to a .onnx file."""
    if isinstance(model, (str, Path)):
        if str(model).endswith(".onnx"):
            return "onnxrt"
        raise ConfigError("model", str(model), "an nn.Module, an onnx.ModelProto or a path to a .onnx file")
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "torch"
    onnx = sys.modules.get("onnx")
    if onnx is not None and isinstance(model, onnx.ModelProto):
        return "onnxrt"
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    raise ConfigError(
        "model",
        kind,
        "a torch.nn.Module, an onnx.ModelProto or a path to a .onnx file",
        reason="no backend recognises this model type",
    )


def basics(framework: str) -> Any:
    """The basics module of ``framework``; a missing framework names the extra to install."""
    if framework not in FRAMEWORKS:
        raise ConfigError("framework", framework, sorted(FRAMEWORKS))
    module, extra = FRAMEWORKS[framework]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendError(
            f"the {framework} backend needs a package that is not installed ({exc.name}): "
            f"pip install 'compressor[{extra}]'"
        ) from exc
