"""Dynamic int8 through eager ``torch.ao.quantization.quantize_dynamic`` (Linear, LSTM).

Chosen over pt2e dynamic because it was about 2x faster on the digits MLP here (pt2e dynamic +
inductor ran 0.19x/0.43x fp32 at batch 1/64, eager 0.42x/0.83x), needs no compile, and covers LSTM.
The eager API warns that it is deprecated (torch 2.13 still ships it); that warning is logged once
instead of repeated at every quantization.
"""

from __future__ import annotations

import logging
import warnings

import torch

from ....errors import BackendError
from ..algorithm import OpQuant, Plan

log = logging.getLogger(__name__)
_warned = False


def _qconfig(name: str, op_type: str, choice: OpQuant):
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig

    if choice.weight_scheme != "sym" or choice.activation_scheme != "asym":
        raise BackendError(f"torch backend: op {name!r}: dynamic int8 supports sym weights and asym activations only")
    if choice.weight_granularity == "per_channel":
        if op_type == "LSTM":
            raise BackendError(f"torch backend: op {name!r}: dynamic LSTM supports per_tensor weights only")
        return per_channel_dynamic_qconfig
    return default_dynamic_qconfig


def quantize_dynamic(model: torch.nn.Module, plan: Plan, op_types: dict[str, str]) -> torch.nn.Module:
    """Quantizes, in place, exactly the plan's int8 ops of ``model`` (already a private copy)."""
    global _warned
    spec = {}
    for name in plan.quantized_ops:
        if op_types[name] not in ("Linear", "LSTM"):
            raise BackendError(
                f"torch backend: op {name!r} ({op_types[name]}) has no dynamic int8 kernel; leave it fp32"
            )
        spec[name] = _qconfig(name, op_types[name], plan.ops[name])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from torch.ao.quantization import quantize_dynamic as ao_quantize_dynamic

        ao_quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    if deprecations and not _warned:
        _warned = True
        log.warning(
            "torch.ao.quantization.quantize_dynamic is deprecated upstream: %s",
            str(deprecations[0].message).splitlines()[0],
        )
    return model


def quantized_module_names(model: torch.nn.Module) -> list[str]:
    """Modules replaced by dynamic int8 kernels (``torch.ao.nn.quantized.dynamic``)."""
    names: list[str] = []
    for name, module in model.named_modules():
        inside = any(name.startswith(f"{outer}.") for outer in names)  # a quantized LSTM's packed weights
        if not inside and type(module).__module__.startswith("torch.ao.nn.quantized.dynamic"):
            names.append(name)
    return names
