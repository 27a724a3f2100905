"""Small, dependency-light views of an ONNX graph: node names, quantizable ops, op output tensors."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

from . import deps

# Ops a plan decides about. ORT also quantizes Attention/LSTM/EmbedLayerNormalization, but those only
# appear in transformer-optimizer outputs, which this backend does not produce.
QUANTIZABLE_OP_TYPES = ("Conv", "MatMul", "Gemm")
# Activations ORT folds into the preceding op's output range when it quantizes (QDQ removes them, QLinear
# ops clamp through the output zero-point); the logical "output" of an op then includes them.
FUSED_ACTIVATIONS = ("Relu", "Clip")


def as_model(model: Any) -> Any:
    """A ``ModelProto`` from a ModelProto or a path to a ``.onnx`` file."""
    onnx = deps.onnx()
    if isinstance(model, (str, Path)):
        return onnx.load(str(model))
    if not isinstance(model, onnx.ModelProto):
        raise TypeError(f"expected an onnx.ModelProto or a path to a .onnx file, got {type(model).__name__}")
    return model


def digest(data: bytes) -> str:
    """A content key for a serialized model: equal bytes, equal key, across processes."""
    return hashlib.sha256(data).hexdigest()[:20]


def name_nodes(model: Any) -> int:
    """Give every unnamed or duplicate-named node a deterministic unique name, in place.

    Names are ``<op_type>_<index>`` (index = position in the graph), so preparing the same model twice
    yields the same names; a clash gets ``_1``, ``_2``... Returns how many nodes were renamed.
    """
    taken = {node.name for node in model.graph.node if node.name}
    seen: set[str] = set()
    renamed = 0
    for index, node in enumerate(model.graph.node):
        if node.name and node.name not in seen:
            seen.add(node.name)
            continue
        base = f"{node.op_type}_{index}"
        name, suffix = base, 0
        while name in taken or name in seen:
            suffix += 1
            name = f"{base}_{suffix}"
        node.name = name
        seen.add(name)
        taken.add(name)
        renamed += 1
    return renamed


def initializer_names(graph: Any) -> set[str]:
    return {init.name for init in graph.initializer}


def producers(graph: Any) -> dict[str, Any]:
    return {out: node for node in graph.node for out in node.output if out}


def consumers(graph: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            if name:
                found[name].append(node)
    return found


def input_signature(model: Any) -> list[tuple[str, Any]]:
    """(name, numpy dtype or None) of each runtime input, in order, for building feeds."""
    onnx = deps.onnx()
    inits = initializer_names(model.graph)
    out = []
    for value in model.graph.input:
        if value.name in inits:
            continue
        elem = value.type.tensor_type.elem_type if value.type.HasField("tensor_type") else 0
        out.append((value.name, onnx.helper.tensor_dtype_to_np_dtype(elem) if elem else None))
    return out


def input_dims(model: Any) -> list[tuple[str, tuple[int | None, ...] | None]]:
    """(name, dims) of each runtime input, in order: a dim is None when symbolic (the batch size), dims
    are None when the graph does not declare a shape at all."""
    inits = initializer_names(model.graph)
    out = []
    for value in model.graph.input:
        if value.name in inits:
            continue
        tensor = value.type.tensor_type if value.type.HasField("tensor_type") else None
        if tensor is None or not tensor.HasField("shape"):
            out.append((value.name, None))
            continue
        out.append((value.name, tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)))
    return out


def weight_input(node: Any, inits: set[str]) -> str | None:
    """The initializer a quantizable op multiplies by, or None (e.g. MatMul of two activations)."""
    if node.op_type in ("Conv", "Gemm"):
        return node.input[1] if len(node.input) > 1 and node.input[1] in inits else None
    if node.op_type == "MatMul":
        for name in node.input[1::-1]:  # ORT's MatMul quantizers look at B first
            if name in inits:
                return name
    return None


def activation_inputs(node: Any, inits: set[str]) -> list[str]:
    """The non-constant inputs a quantized op reads (its activations); bias and weights excluded."""
    count = 2 if node.op_type in QUANTIZABLE_OP_TYPES else len(node.input)
    return [name for name in node.input[:count] if name and name not in inits]


def quantizable_nodes(model: Any) -> list[Any]:
    """Conv/MatMul/Gemm nodes in graph order (ONNX requires graphs to be topologically sorted)."""
    return [node for node in model.graph.node if node.op_type in QUANTIZABLE_OP_TYPES]


def op_infos(model: Any, op_types: tuple[str, ...] = QUANTIZABLE_OP_TYPES) -> list[Any]:
    """``OpInfo`` of every node of ``op_types``, in graph order; ``has_weight`` when an input is constant."""
    from ..algorithm import OpInfo

    proto = as_model(model)
    inits = initializer_names(proto.graph)
    return [
        OpInfo(node.name, node.op_type, has_weight=weight_input(node, inits) is not None)
        for node in proto.graph.node
        if node.op_type in op_types
    ]


def op_probes(model: Any) -> dict[str, tuple[str, str]]:
    """For each quantizable op: (its output tensor, the tensor after a fused Relu/Clip).

    The second name is what a quantized model exposes for the op when ORT folded the activation into it,
    so fp32 and int8 outputs of the same logical op are compared after the same activation.
    """
    graph = model.graph
    users = consumers(graph)
    outputs = {o.name for o in graph.output}
    probes = {}
    for node in quantizable_nodes(model):
        out = node.output[0]
        after = out
        following = users.get(out, [])
        if out not in outputs and len(following) == 1 and following[0].op_type in FUSED_ACTIVATIONS:
            after = following[0].output[0]
        probes[node.name] = (out, after)
    return probes


def with_outputs(model: Any, names: list[str]) -> Any:
    """A copy of ``model`` that also returns the tensors ``names`` (kept float unless typed otherwise)."""
    onnx = deps.onnx()
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    existing = {o.name for o in copy.graph.output}
    typed = {vi.name: vi for vi in copy.graph.value_info}
    for name in names:
        if name in existing:
            continue
        # Element type only: a shape recorded before quantization could contradict the new graph.
        elem = typed[name].type.tensor_type.elem_type if name in typed else onnx.TensorProto.FLOAT
        copy.graph.output.append(onnx.helper.make_tensor_value_info(name, elem, None))
        existing.add(name)
    return copy
