"""Saving, reloading, sizing and ONNX export, none of which unpickles arbitrary objects.

- ``StaticInt8Model``: ``torch.export.save`` of the converted graph (a zip of JSON graph + raw tensor
  bytes). ``torch.export.load`` would unpickle tensor subclasses, custom objects and, when
  ``weights_only`` fails, its sample inputs; ``load_static`` refuses archives that hold any of those.
- ``DynamicInt8Model``: eager packed weights cannot be exported, so it is ``torch.save`` of a dict of
  tensors, dtypes and the plan as JSON; it reloads with ``weights_only=True`` onto the fp32 model.
- plain modules (the fp32 baseline): their ``state_dict``.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from typing import Any

import torch

from ....errors import BackendError
from ..algorithm import Plan
from .dynamic import quantize_dynamic
from .inputs import batch_dims
from .models import DynamicInt8Model, StaticInt8Model
from .smooth_quant import apply_hook_scales

DYNAMIC_FORMAT = "compressor.torch.dynamic-int8/1"


def write(model: torch.nn.Module, target: Any) -> None:
    if isinstance(model, StaticInt8Model):
        with torch.no_grad():
            program = torch.export.export(
                model.graph_module, model.example_args, dynamic_shapes=batch_dims(model.example_args)
            )
        torch.export.save(program, target)
    elif isinstance(model, DynamicInt8Model):
        payload = {
            "format": DYNAMIC_FORMAT,
            "plan": json.dumps(model.plan.to_dict(), sort_keys=True),
            "smooth_scales": dict(model.smooth_scales),
            "state_dict": model.module.state_dict(),
        }
        torch.save(payload, target)
    else:
        torch.save(model.state_dict(), target)


def size_bytes(model: torch.nn.Module) -> int:
    buffer = io.BytesIO()
    write(model, buffer)
    return buffer.getbuffer().nbytes


def _check_archive(path: str) -> None:
    """Raises unless every payload of the pt2 archive loads without general unpickling."""
    with zipfile.ZipFile(path) as archive:
        for entry in archive.namelist():
            if entry.endswith(("_weights_config.json", "_constants_config.json")):
                config = json.loads(archive.read(entry)).get("config", {})
                for fqn, meta in config.items():
                    if meta.get("use_pickle") or not str(meta.get("path_name", "")).startswith(("weight_", "tensor_")):
                        raise BackendError(f"{path}: {fqn!r} is stored as a pickle; refusing to load it")
            elif "/sample_inputs/" in entry:
                try:
                    torch.load(io.BytesIO(archive.read(entry)), weights_only=True)
                except Exception as exc:
                    raise BackendError(
                        f"{path}: sample inputs are not plain tensors; refusing to load ({exc})"
                    ) from exc


def load_static(path: str, compile: bool = True) -> StaticInt8Model:
    _check_archive(path)
    program = torch.export.load(path)
    example = program.example_inputs[0] if program.example_inputs else ()
    # user inputs keep the fp32 forward's parameter names: keyword calls keep working after a reload
    names = tuple(spec.arg.name for spec in program.graph_signature.input_specs if spec.kind.name == "USER_INPUT")
    return StaticInt8Model(program.module(), tuple(example), compile=compile, arg_names=names)


def load_dynamic(path: str, fp32_model: torch.nn.Module, op_types: dict[str, str]) -> DynamicInt8Model:

    payload = torch.load(path, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != DYNAMIC_FORMAT:
        raise BackendError(f"{path}: not a {DYNAMIC_FORMAT} file")
    plan = Plan.from_dict(json.loads(payload["plan"]))
    module = copy.deepcopy(fp32_model).eval()
    apply_hook_scales(module, payload["smooth_scales"])
    quantize_dynamic(module, plan, op_types)
    module.load_state_dict(payload["state_dict"])
    return DynamicInt8Model(module, plan, payload["smooth_scales"])


def export_onnx(model: torch.nn.Module, path: str, example: tuple[torch.Tensor, ...]) -> None:
    """ONNX through the dynamo exporter: a pt2e model becomes QuantizeLinear/DequantizeLinear (QDQ)."""
    if isinstance(model, DynamicInt8Model):
        raise BackendError(
            "torch backend: dynamic int8 models cannot be exported to ONNX with torch 2.13 "
            "(TorchScript exporter: 'quantized::linear_dynamic' unsupported; dynamo exporter: torch.export "
            "cannot trace packed weights). Export the fp32 model and quantize it with the onnxrt backend."
        )
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter's translation library)
    except ImportError as exc:
        raise BackendError(
            f"ONNX export of torch models needs onnxscript: pip install 'compressor[torch]' ({exc})"
        ) from exc
    graph = model.graph_module if isinstance(model, StaticInt8Model) else model
    with torch.no_grad():
        program = torch.onnx.export(graph, example, dynamo=True, dynamic_shapes=batch_dims(example), verbose=False)
    program.save(path)
