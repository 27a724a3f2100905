"""1.x ``model.framework`` names and what they mean in 2.x: an engine, a backend and a format."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class FrameworkInfo:
    name: str  # the 1.x spelling
    engine: str  # pytorch | onnxruntime | tensorflow | mxnet
    backend: str  # 2.x ``backend=``
    quant_format: str  # 2.x ``quant_format=``
    mode: str  # how the engine's model is handled: eager, fx, graph, integerops, qlinearops, qdq, gluon
    dynamic_only: bool = False


_FRAMEWORKS = {
    "tensorflow": FrameworkInfo("tensorflow", "tensorflow", "default", "default", "graph"),
    "tensorflow_itex": FrameworkInfo("tensorflow_itex", "tensorflow", "itex", "default", "graph"),
    "pytorch": FrameworkInfo("pytorch", "pytorch", "default", "default", "eager"),
    "pytorch_fx": FrameworkInfo("pytorch_fx", "pytorch", "default", "default", "fx"),
    "pytorch_ipex": FrameworkInfo("pytorch_ipex", "pytorch", "ipex", "default", "ipex"),
    "onnxrt_integerops": FrameworkInfo(
        "onnxrt_integerops", "onnxruntime", "default", "QOperator", "integerops", dynamic_only=True
    ),
    "onnxrt_qlinearops": FrameworkInfo("onnxrt_qlinearops", "onnxruntime", "default", "QOperator", "qlinearops"),
    "onnxrt_qdq": FrameworkInfo("onnxrt_qdq", "onnxruntime", "default", "QDQ", "qdq"),
    "mxnet": FrameworkInfo("mxnet", "mxnet", "default", "default", "gluon"),
}
# Spellings the 1.x docs use interchangeably.
_ALIASES = {
    "onnxrt_integer": "onnxrt_integerops",
    "onnxrt_qlinear": "onnxrt_qlinearops",
    "onnxrt_qdqops": "onnxrt_qdq",
}


def framework_info(name: object, field: str = "model.framework", location: str | None = None) -> FrameworkInfo:
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in _FRAMEWORKS:
        raise ConfigError(field, name, sorted(set(_FRAMEWORKS) | set(_ALIASES)), location=location)
    info = _FRAMEWORKS[key]
    return FrameworkInfo(name, info.engine, info.backend, info.quant_format, info.mode, info.dynamic_only)
