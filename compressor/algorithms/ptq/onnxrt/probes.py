"""Find and read the output of a logical op in fp32 and quantized versions of a model.

Quantization renames things, differently per path (seen with ORT 1.32):

* QDQ keeps node names but folds a following Relu/Clip into the op, whose output then takes the
  activation's tensor name; that tensor goes through QuantizeLinear -> DequantizeLinear.
* QOperator replaces the node by ``<name>_quant`` (QLinearConv, QLinearMatMul, QGemm) whose uint8
  output is ``<output>_quantized``; there is no float tensor to read.
* Dynamic keeps the original output name (the last Mul/Add of the MatMulInteger chain writes it).

So each op is probed through two names taken from the fp32 graph, its output ``X`` and ``Y`` = the
output of a Relu/Clip that alone consumes ``X`` (else ``X``), and the comparison is made after that
activation in every model. ``quantize`` stores the names in the quantized model's metadata, since the
quantized graph no longer says which tensor was which op's. In a quantized model the value read is
the one downstream ops see: the dequantized tensor after a Q/DQ pair, or a DequantizeLinear added on
``X_quantized`` with the producing op's output scale and zero-point.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from ....errors import BackendError
from . import deps
from . import graph as g
from .session import run_batches

METADATA_KEY = "compressor.onnxrt.op_probes"
# Input positions of (output scale, output zero-point) in ORT's quantized op forms.
_OUTPUT_QPARAMS = {"QLinearConv": (6, 7), "QLinearMatMul": (6, 7), "QGemm": (7, 8)}


def attach(model: Any, probes: dict[str, tuple[str, str]]) -> None:
    """Record the fp32 probe names in ``model`` (a quantized model), in place."""
    for prop in list(model.metadata_props):
        if prop.key == METADATA_KEY:
            model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(probes, sort_keys=True)


def recorded(model: Any) -> dict[str, tuple[str, str]]:
    """Probe names stored by ``attach``, else those of ``model`` read as an fp32 graph."""
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            return {op: tuple(names) for op, names in json.loads(prop.value).items()}
    return g.op_probes(model)


def op_outputs(
    model: Any, batches: Sequence[Any], op_names: Sequence[str], *, threads: int | None = None
) -> dict[str, np.ndarray]:
    """Each op's (post fused activation) output over ``batches``, concatenated on the batch axis."""
    probes = recorded(model)
    unknown = [name for name in op_names if name not in probes]
    if unknown:
        raise BackendError(f"unknown op name(s) {unknown}; this model's quantizable ops are {sorted(probes)}")
    probed, tensors = _resolve(model, {name: probes[name] for name in op_names})
    names = list(dict.fromkeys(tensors.values()))
    collected: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for outputs in run_batches(probed, batches, names, threads=threads):
        for name, value in outputs.items():
            collected[name].append(np.asarray(value, dtype=np.float32))
    return {op: np.concatenate(collected[tensor], axis=0) for op, tensor in tensors.items()}


def _resolve(model: Any, wanted: dict[str, tuple[str, str]]) -> tuple[Any, dict[str, str]]:
    """A model exposing one float tensor per op (maybe with added DequantizeLinear nodes) + the names."""
    onnx = deps.onnx()
    graph = model.graph
    producers = g.producers(graph)
    users = g.consumers(graph)
    added = []
    tensors = {}
    for op, (out, after) in wanted.items():
        found = next((name for name in (after, out) if name in producers), None)
        if found is not None:
            tensors[op] = _after_qdq(found, users)
            continue
        quantized = next((f"{name}_quantized" for name in (after, out) if f"{name}_quantized" in producers), None)
        if quantized is None:
            raise BackendError(f"op {op!r}: neither {out!r} nor {out + '_quantized'!r} is in this model")
        existing = [n for n in users.get(quantized, []) if n.op_type == "DequantizeLinear"]
        if existing:
            tensors[op] = existing[0].output[0]
            continue
        producer = producers[quantized]
        if producer.op_type not in _OUTPUT_QPARAMS:
            raise BackendError(f"op {op!r}: cannot dequantize the output of a {producer.op_type} node")
        scale, zero = (producer.input[i] for i in _OUTPUT_QPARAMS[producer.op_type])
        name = f"{quantized}_probe_dequantized"
        added.append(onnx.helper.make_node("DequantizeLinear", [quantized, scale, zero], [name], name=name))
        tensors[op] = name
    if not added:
        return model, tensors
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    copy.graph.node.extend(added)  # consumers of nothing: appending keeps the graph topologically sorted
    return copy, tensors


def _after_qdq(name: str, users: dict[str, list[Any]]) -> str:
    """The dequantized copy of ``name`` when it feeds a QuantizeLinear -> DequantizeLinear pair."""
    for q in users.get(name, []):
        if q.op_type == "QuantizeLinear":
            for dq in users.get(q.output[0], []):
                if dq.op_type == "DequantizeLinear":
                    return dq.output[0]
    return name
