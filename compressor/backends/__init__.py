"""Thin per-framework basics: recognise a model's framework, load it, run it, fingerprint it.

Each framework is one row of ``FRAMEWORKS``; its module is imported only when a model of that framework
shows up, so ``import compressor`` stays framework-free. A new backend adds a row (and its basics module).
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BackendError, ConfigError


@dataclass(frozen=True)
class Framework:
    """How compressor recognises and handles one framework's models."""

    name: str
    basics: str  # module with load/predict/input_count/fingerprint
    extra: str  # pip extra that installs the framework: pip install 'compressor[extra]'
    model_class: tuple[str, str]  # (module, class): models are its instances (checked once the module is loaded)
    suffixes: tuple[str, ...]  # model files of this framework, recognised by name
    described: tuple[str, str]  # how errors name its models: in full, and short (next to a file path)

    def recognises(self, model: Any) -> bool:
        module = sys.modules.get(self.model_class[0])  # never imports: a model of it implies it is loaded
        cls = getattr(module, self.model_class[1], None)
        return isinstance(cls, type) and isinstance(model, cls)


FRAMEWORKS: dict[str, Framework] = {
    row.name: row
    for row in (
        Framework(
            "torch", "compressor.backends.torch_basics", "torch", ("torch.nn", "Module"), (),
            ("a torch.nn.Module", "an nn.Module"),
        ),
        Framework(
            "onnxrt", "compressor.backends.onnx_basics", "onnx", ("onnx", "ModelProto"), (".onnx",),
            ("an onnx.ModelProto", "an onnx.ModelProto"),
        ),
        Framework(
            "tensorflow", "compressor.backends.tf_basics", "tf", ("keras", "Model"), (".keras",),
            ("a keras.Model", "a keras.Model"),
        ),
    )
}  # fmt: skip


def frameworks() -> tuple[str, ...]:
    """Every framework compressor has a backend for, sorted."""
    return tuple(sorted(FRAMEWORKS))


def _accepted(short: bool) -> str:
    """What the table accepts: "a torch.nn.Module, an onnx.ModelProto or a path to a .onnx file"."""
    kinds = [row.described[short] for row in FRAMEWORKS.values()]
    kinds += [f"a path to a {suffix} file" for row in FRAMEWORKS.values() for suffix in row.suffixes]
    return ", ".join(kinds[:-1]) + " or " + kinds[-1]


def detect_framework(model: Any) -> str:
    """``torch`` for an nn.Module, ``onnxrt`` for an ONNX ModelProto or a path to a .onnx file,
    ``tensorflow`` for a Keras model, a ``.keras`` file, a SavedModel directory or a ``tf.function``."""
    from . import tf_basics  # numpy only at import: it knows the TensorFlow forms that are not Keras models

    if isinstance(model, (str, Path)):
        for row in FRAMEWORKS.values():
            if row.suffixes and str(model).endswith(row.suffixes):
                return row.name
        if tf_basics.is_saved_model(model):
            return "tensorflow"
        raise ConfigError("model", str(model), _accepted(short=True))
    for row in FRAMEWORKS.values():
        if row.recognises(model):
            return row.name
    if tf_basics.is_tf_function(model):
        return "tensorflow"
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    raise ConfigError("model", kind, _accepted(short=False), reason="no backend recognises this model type")


def basics(framework: str) -> Any:
    """The basics module of ``framework``; a missing framework names the extra to install."""
    if framework not in FRAMEWORKS:
        raise ConfigError("framework", framework, sorted(FRAMEWORKS))
    row = FRAMEWORKS[framework]
    try:
        return importlib.import_module(row.basics)
    except ImportError as exc:
        raise BackendError(
            f"the {framework} backend needs a package that is not installed ({exc.name}): "
            f"pip install 'compressor[{row.extra}]'"
        ) from exc
