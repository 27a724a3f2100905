"""Make fp32 fallback mean fp32 inputs in QDQ models.

ORT's QDQ quantizer still quantizes a tensor that a *quantized* producer (or a quantized Relu/MaxPool
after it) hands to an *excluded* consumer: the excluded op then reads a DequantizeLinear output, so its
input carries the int8 error it was excluded to avoid (an outlier activation stays crushed). Removing
the Q→DQ pairs whose every consumer is an fp32 op restores the tuner's meaning of fallback. Each
consumer has its own pair because the quantizer runs with ``DedicatedQDQPair``.

QDQ also folds a Relu into the quantize step (the producer's output is renamed to the Relu's and the
uint8 range clamps at zero). Where such a pair goes, the Relu comes back as a real node; a folded Clip
(whose bounds the quantizer may have dropped) keeps its pair.
"""

from __future__ import annotations

from typing import Any


def strip_qdq_into_fp32(model: Any, fp32_nodes: set[str], original: Any) -> int:
    """Remove activation Q→DQ pairs that feed only ``fp32_nodes``; returns how many pairs were removed.

    ``original`` is the model before quantization: it tells which tensors a folded Relu/Clip produced.
    """
    from onnx import helper

    graph = model.graph
    made_before = {out: node.op_type for node in original.graph.node for out in node.output}
    initializers = {init.name for init in graph.initializer}
    graph_outputs = {out.name for out in graph.output}
    producer = {out: node for node in graph.node for out in node.output}
    users: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    dead: list[Any] = []
    for dq in graph.node:
        if dq.op_type != "DequantizeLinear":
            continue
        q = producer.get(dq.input[0])
        if q is None or q.op_type != "QuantizeLinear" or q.input[0] in initializers:
            continue
        readers = users.get(dq.output[0], [])
        if not readers or dq.output[0] in graph_outputs or any(r.name not in fp32_nodes for r in readers):
            continue
        source = q.input[0]
        folded = made_before.get(source)
        now = producer.get(source)
        if folded in ("Relu", "Clip") and (now is None or now.op_type != folded):
            if folded == "Clip":
                continue
            relu_out = f"{source}_fp32_relu"
            if relu_out not in producer:
                relu = helper.make_node("Relu", [source], [relu_out], name=f"{source}_fp32_Relu")
                graph.node.append(relu)
                producer[relu_out] = relu
            source = relu_out
        for reader in readers:
            for i, name in enumerate(reader.input):
                if name == dq.output[0]:
                    reader.input[i] = source
        dead.append(dq)
        if all(u is dq for u in users.get(q.output[0], [])) and q.output[0] not in graph_outputs:
            dead.append(q)
    for node in dead:
        graph.node.remove(node)
    _topological_sort(graph)
    return sum(1 for node in dead if node.op_type == "DequantizeLinear")


def _topological_sort(graph: Any) -> None:
    """ONNX requires nodes in topological order; appended Relus may sit after their consumers."""
    known = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(i in known for i in n.input)]
        if not ready:  # a cycle cannot come from this pass; keep the rest as they were
            ordered += pending
            break
        for node in ready:
            ordered.append(node)
            known.update(node.output)
        pending = [n for n in pending if n not in ready]
    del graph.node[:]
    graph.node.extend(ordered)
