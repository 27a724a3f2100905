"""What kind of model an ONNX graph is, and the role of each quantizable op in it.

The tuner's first plan should be the one a practitioner would pick for this kind of model, not the same
full-int8 plan for everything (issue: on MiniLM variants the full-int8 first trial lost 5 %, and tuning
spent its trials recovering). The roles read here:

- ``attention_scores``: a MatMul of two activations whose output reaches a Softmax (Q·Kᵀ, through the
  scale Div/Mul and the mask Add);
- ``attention_values``: a MatMul of two activations with a Softmax output as an input (softmax·V); NNCF's
  transformer preset leaves it unquantized (ours does not: see ``OnnxRuntimePTQBackend.preset``);
- ``linear`` (a MatMul/Gemm with a constant weight), ``conv``, ``matmul`` (any other two-activation MatMul).

The model type: ``transformer`` (a Softmax fed by an activation MatMul, and LayerNormalization or its
decomposed ReduceMean form), ``rnn`` (LSTM/GRU/RNN nodes), ``cnn`` (Conv nodes), else ``mlp``.
"""

from __future__ import annotations

from typing import Any

from . import graph as g

# Ops a tensor passes through between an attention MatMul and its Softmax (scale, mask, layout).
_PASS = {"Div", "Mul", "Add", "Sub", "Where", "Reshape", "Transpose", "Cast", "Dropout", "Identity", "Squeeze"}
_HOPS = 4


def model_type(model: Any) -> str:
    graph = g.as_model(model).graph
    types = {node.op_type for node in graph.node}
    attention = {"attention_scores", "attention_values"} & set(op_roles(model).values())
    if attention and types & {"LayerNormalization", "SimplifiedLayerNormalization", "ReduceMean"}:
        return "transformer"
    if types & {"LSTM", "GRU", "RNN"}:
        return "rnn"
    if "Conv" in types:
        return "cnn"
    return "mlp"


def op_roles(model: Any) -> dict[str, str]:
    """Role of every quantizable op (see the module docstring), by node name."""
    proto = g.as_model(model)
    graph = proto.graph
    inits = g.initializer_names(graph)
    made_by = g.producers(graph)
    used_by = g.consumers(graph)
    roles: dict[str, str] = {}
    for node in g.quantizable_nodes(proto):
        if node.op_type == "Conv":
            roles[node.name] = "conv"
        elif g.weight_input(node, inits) is not None:
            roles[node.name] = "linear"
        elif any(_from_softmax(name, made_by) for name in node.input):
            roles[node.name] = "attention_values"
        elif _into_softmax(node.output[0], used_by):
            roles[node.name] = "attention_scores"
        else:
            roles[node.name] = "matmul"
    return roles


def _from_softmax(tensor: str, made_by: dict[str, Any]) -> bool:
    for _ in range(_HOPS):
        node = made_by.get(tensor)
        if node is None:
            return False
        if node.op_type == "Softmax":
            return True
        if node.op_type not in _PASS or not node.input:
            return False
        tensor = node.input[0]
    return False


def _into_softmax(tensor: str, used_by: dict[str, list[Any]]) -> bool:
    frontier = [tensor]
    for _ in range(_HOPS):
        following = [user for name in frontier for user in used_by.get(name, [])]
        if any(user.op_type == "Softmax" for user in following):
            return True
        frontier = [user.output[0] for user in following if user.op_type in _PASS and user.output]
        if not frontier:
            return False
    return False
