"""Translate a plan's per-op choices into ORT quantizer arguments.

What ORT can express (read from onnxruntime/quantization 1.32, checked on digits models):

* QDQ: ``per_channel`` is global, but a per-tensor ``TensorQuantOverrides`` entry (no ``axis``) makes that
  one weight per-tensor, so per-op granularity mixes exactly. Per-channel weights are always symmetric
  (ORT: "QLinear* ops require the same zero-point in every channel").
* QOperator and dynamic (``ONNXQuantizer``): with ``per_channel=True`` every weight override must carry
  an ``axis`` and with ``per_channel=False`` none may, so granularity cannot mix. The majority of the
  quantized weighted ops decides (ties: per-tensor) and the rest follow; this is logged.
* Weight symmetry per tensor: ``{"symmetric": bool}`` overrides (per-tensor weights only).
* Activation symmetry per tensor (static only): ``{"symmetric": True}`` on the op's input activations
  and on the tensors they take their scale from (see ``_param_sources``); a tensor read by several ops
  is symmetric when any of them asks for it. Dynamic activations are always asymmetric uint8 in ORT.
* Dynamic quantization rewrites Gemm into MatMul(+Add) named ``<gemm>_MatMul`` *before* it looks at
  ``nodes_to_exclude``, so excluding a Gemm needs that name too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..algorithm import OpQuant
from . import graph as g

log = logging.getLogger(__name__)

_INHERITING = ("Relu", "Clip", "MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze")


def quantizer_arguments(
    model: Any, choices: Mapping[str, OpQuant], *, approach: str, quant_format: str, extra_op_types: Sequence[str]
) -> dict[str, Any]:
    """Keyword arguments for ``quantize_static`` / ``quantize_dynamic`` (besides paths and types).

    ``choices`` maps every quantizable op of ``model`` to its resolved ``OpQuant`` (fp32 = fallback).
    """
    inits = g.initializer_names(model.graph)
    nodes = {node.name: node for node in g.quantizable_nodes(model)}
    excluded = [name for name, choice in choices.items() if not choice.quantized]
    quantized = [(nodes[name], choice) for name, choice in choices.items() if choice.quantized]
    weighted = [(node, choice, g.weight_input(node, inits)) for node, choice in quantized]
    weighted = [(node, choice, weight) for node, choice, weight in weighted if weight is not None]

    mixes = quant_format == "QDQ" and approach == "static"
    per_channel = _per_channel(weighted, mixes)
    overrides: dict[str, list[dict[str, Any]]] = {}
    for _, choice, weight in weighted:
        if weight in overrides:
            continue  # a weight shared by several ops: the first op's choice wins
        # Only per-tensor weights take overrides: with per_channel on, QDQ reads an override without
        # ``axis`` as "this one per-tensor"; ONNXQuantizer rejects it, so there every weight is per-channel.
        per_tensor = choice.weight_granularity == "per_tensor" if mixes else not per_channel
        if per_tensor and (per_channel or choice.weight_scheme == "asym"):
            overrides[weight] = [{"symmetric": choice.weight_scheme == "sym"}]
    op_types = list(g.QUANTIZABLE_OP_TYPES) + [t for t in extra_op_types if t not in g.QUANTIZABLE_OP_TYPES]
    if approach == "static":
        made = g.producers(model.graph)
        for node, choice in quantized:
            if choice.activation_scheme == "sym":
                for tensor in g.activation_inputs(node, inits):
                    for source in _param_sources(tensor, made, inits, op_types):
                        overrides[source] = [{"symmetric": True}]

    if approach == "dynamic":
        op_types = ["MatMul", "Gemm"] + (["Conv"] if any(n.op_type == "Conv" for n, _ in quantized) else [])
        excluded = excluded + [f"{name}_MatMul" for name in excluded if nodes[name].op_type == "Gemm"]
    extra: dict[str, Any] = {"TensorQuantOverrides": overrides} if overrides else {}
    if mixes and excluded:
        # One Q/DQ pair per consumer, so the pairs feeding fp32 ops can be removed (fallback.py).
        extra["DedicatedQDQPair"] = True
    return {
        "per_channel": per_channel,
        "nodes_to_exclude": excluded,
        "op_types_to_quantize": op_types,
        "extra_options": extra,
    }


def _param_sources(tensor: str, made: Mapping[str, Any], inits: set[str], op_types: Sequence[str]) -> list[str]:
    """``tensor`` and the tensors upstream whose scale/zero-point it inherits.

    A quantized MaxPool/Flatten/Reshape/Transpose/Squeeze reuses its input's parameters (QDQ), and
    QOperator moves a removed Relu/Clip's range onto the op before it, so an override on ``tensor``
    alone would be ignored there; the chain goes up through those ops.
    """
    chain = [tensor]
    node = made.get(tensor)
    while node is not None and node.op_type in _INHERITING and node.op_type in op_types:
        source = node.input[0]
        if not source or source in inits:
            break
        chain.append(source)
        node = made.get(source)
    return chain


def _per_channel(weighted: list, mixes: bool) -> bool:
    wanted = sum(1 for _, choice, _ in weighted if choice.weight_granularity == "per_channel")
    if mixes or wanted in (0, len(weighted)):
        return wanted > 0
    majority = wanted * 2 > len(weighted)
    log.info(
        "this format cannot mix weight granularities: %d of %d weighted ops asked for per_channel, "
        "quantizing all of them %s",
        wanted,
        len(weighted),
        "per_channel" if majority else "per_tensor",
    )
    return majority
