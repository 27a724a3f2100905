"""SmoothQuant (Xiao et al. 2023) on an fp32 ONNX graph, without Intel Neural Compressor.

Per-tensor int8 activations lose everything when a few input channels of a MatMul are 50-100x larger
than the rest (LayerNorm outputs of transformers). With ``s_j = max|X_j|^a / max|W_j|^(1-a)``,
``X W = (X / s) (s W)``: the outliers move into the weights, which are quantized offline and per channel
if needed. The fp32 function is unchanged; only rounding differs.

``1/s`` is folded into the producer of ``X`` when ``X`` feeds nothing but the smoothed ops and the
producer is a LayerNormalization over the last axis (scale and bias), a Mul by a constant, or such a Mul
followed by an Add of a constant; otherwise a ``Mul`` node is inserted, whose name is returned so the
caller keeps it in fp32 (quantizing its input would reintroduce the outliers).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from . import deps
from . import graph as g

log = logging.getLogger(__name__)

MIN_SCALE = 1e-5  # SmoothQuant's clamp: keeps 1/s finite for dead channels

# A callable that runs ``model`` over the calibration batches and yields {tensor: array} per batch.
Runner = Callable[[Any, Sequence[str]], Iterable[dict[str, np.ndarray]]]


def smoothable(model: Any) -> dict[str, list[tuple[Any, str, int]]]:
    """Activation tensor -> [(node, weight initializer, weight input-channel axis)] of MatMul/Gemm."""
    inits = {init.name: init for init in model.graph.initializer}
    groups: dict[str, list[tuple[Any, str, int]]] = defaultdict(list)
    for node in model.graph.node:
        if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2:
            continue
        act, weight = node.input[0], node.input[1]
        if act in inits or weight not in inits or len(inits[weight].dims) != 2:
            continue
        attrs = {a.name: a.i for a in node.attribute if a.type == a.INT}
        if node.op_type == "Gemm" and attrs.get("transA", 0):
            continue
        axis = 1 if node.op_type == "Gemm" and attrs.get("transB", 0) else 0
        groups[act].append((node, weight, axis))
    return dict(groups)


def smooth(model: Any, alpha: float, run: Runner) -> tuple[Any, list[str]]:
    """A smoothed copy of ``model`` and the names of the Mul nodes it inserted."""
    onnx = deps.onnx()
    model = _copy(model)
    groups = smoothable(model)
    if not groups:
        log.info("SmoothQuant: no MatMul/Gemm with a constant weight; model unchanged")
        return model, []
    act_max = _activation_absmax(model, list(groups), run)
    graph = model.graph
    arrays = {init.name: onnx.numpy_helper.to_array(init).astype(np.float32) for init in graph.initializer}
    users = {name: [n.name for n in nodes] for name, nodes in g.consumers(graph).items()}
    pending = []  # Mul insertions rebuild the node list, so they wait until every edit is done
    for act, members in groups.items():
        scale = _scales(act_max[act], [(arrays[w], axis) for _, w, axis in members], alpha)
        for node, weight, axis in _unique_weights(members):
            shape = [1, 1]
            shape[axis] = -1
            _set_initializer(model, node, weight, arrays[weight] * scale.reshape(shape), arrays, users)
        group_names = {node.name for node, _, _ in members}
        if not _fold(model, act, 1.0 / scale, group_names, arrays, users):
            pending.append((act, 1.0 / scale, group_names))
    inserted = _insert_muls(model, pending)
    # A folded scalar constant became a vector: stale value_info of initializers would clash with it.
    constants = {init.name for init in graph.initializer}
    kept = [vi for vi in graph.value_info if vi.name not in constants]
    del graph.value_info[:]
    graph.value_info.extend(kept)
    log.info("SmoothQuant(alpha=%s): %d activations smoothed, %d Mul nodes inserted", alpha, len(groups), len(inserted))
    return onnx.shape_inference.infer_shapes(model), inserted


def _activation_absmax(model: Any, names: list[str], run: Runner) -> dict[str, np.ndarray]:
    """Per-channel (last axis) max |x| over every batch: what MatMul contracts over."""
    found: dict[str, np.ndarray] = {}
    for outputs in run(model, names):
        for name, value in outputs.items():
            value = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
            found[name] = value if name not in found else np.maximum(found[name], value)
    return found


def _scales(act_max: np.ndarray, weights: list[tuple[np.ndarray, int]], alpha: float) -> np.ndarray:
    w_max = np.max([np.abs(w).max(axis=1 - axis) for w, axis in weights], axis=0)
    act_max = act_max.astype(np.float64)
    w_max = w_max.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.power(act_max, alpha) / np.power(w_max, 1.0 - alpha)
    # A channel that is all zero in X or in W carries nothing to migrate.
    scale = np.where((act_max > 0) & (w_max > 0) & np.isfinite(scale), scale, 1.0)
    return np.clip(scale, MIN_SCALE, None).astype(np.float32)


def _unique_weights(members: list[tuple[Any, str, int]]) -> list[tuple[Any, str, int]]:
    seen, out = set(), []
    for node, weight, axis in members:
        if weight not in seen:
            seen.add(weight)
            out.append((node, weight, axis))
    return out


def _fold(model: Any, act: str, inv: np.ndarray, group: set[str], arrays: dict, users: dict) -> bool:
    """Multiply the producer of ``act`` by ``inv`` in place; False when that is not exact."""
    graph = model.graph
    if any(name not in group for name in users.get(act, [])) or act in {o.name for o in graph.output}:
        return False
    producer = g.producers(graph).get(act)
    if producer is None:
        return False
    if producer.op_type == "LayerNormalization":
        return _fold_layer_norm(model, producer, inv, arrays, users)
    if producer.op_type == "Mul":
        return _fold_mul(model, producer, inv, arrays, users)
    if producer.op_type == "Add":
        return _fold_affine_add(model, producer, inv, arrays, users)
    return False


def _fold_layer_norm(model: Any, node: Any, inv: np.ndarray, arrays: dict, users: dict) -> bool:
    axis = next((a.i for a in node.attribute if a.name == "axis"), -1)
    params = [name for name in node.input[1:3] if name]
    if axis not in (-1, _rank(model, node.input[0]) - 1) or any(p not in arrays for p in params):
        return False
    if any(arrays[p].shape != inv.shape for p in params):
        return False
    for name in params:
        _set_initializer(model, node, name, arrays[name] * inv, arrays, users)
    return True


def _fold_mul(model: Any, node: Any, inv: np.ndarray, arrays: dict, users: dict) -> bool:
    const = _broadcastable_constant(node, inv, arrays)
    if const is None:
        return False
    _set_initializer(model, node, const, arrays[const] * inv, arrays, users)
    return True


def _fold_affine_add(model: Any, node: Any, inv: np.ndarray, arrays: dict, users: dict) -> bool:
    """``Add(Mul(x, c1), c2)`` (a decomposed affine/LayerNorm tail): scale both constants."""
    bias = _broadcastable_constant(node, inv, arrays)
    other = next((name for name in node.input if name != bias), None)
    mul = g.producers(model.graph).get(other) if other else None
    if bias is None or mul is None or mul.op_type != "Mul" or len(users.get(other, [])) != 1:
        return False
    if _broadcastable_constant(mul, inv, arrays) is None:
        return False
    _fold_mul(model, mul, inv, arrays, users)
    _set_initializer(model, node, bias, arrays[bias] * inv, arrays, users)
    return True


def _broadcastable_constant(node: Any, inv: np.ndarray, arrays: dict) -> str | None:
    """The constant input whose product with ``inv`` (over the last axis) keeps the node's output shape."""
    consts = [name for name in node.input if name in arrays]
    if len(consts) != 1 or len(node.input) != 2:
        return None
    shape = arrays[consts[0]].shape
    if shape and shape[-1] not in (1, inv.shape[0]):
        return None
    if len(shape) > 1 and any(d != 1 for d in shape[:-1]):
        return None  # leading dims could broadcast the output wider than the activation
    return consts[0]


def _set_initializer(model: Any, node: Any, name: str, value: np.ndarray, arrays: dict, users: dict) -> None:
    """Replace ``name``'s value for ``node``; a constant shared with other nodes gets a private copy."""
    onnx = deps.onnx()
    value = value.astype(np.float32)
    if len(users.get(name, [])) > 1:
        new = f"{name}_smoothed_{node.name}"
        model.graph.initializer.append(onnx.numpy_helper.from_array(value, new))
        for i, inp in enumerate(node.input):
            if inp == name:
                node.input[i] = new
        arrays[new] = value
        users[name] = [n for n in users[name] if n != node.name]
        users[new] = [node.name]
        return
    for init in model.graph.initializer:
        if init.name == name:
            init.CopyFrom(onnx.numpy_helper.from_array(value, name))
    arrays[name] = value


def _insert_muls(model: Any, pending: list[tuple[str, np.ndarray, set[str]]]) -> list[str]:
    """Insert ``Mul(act, 1/s)`` before the first smoothed consumer of each ``act``; their node names."""
    if not pending:
        return []
    onnx = deps.onnx()
    graph = model.graph
    before: dict[str, list[Any]] = defaultdict(list)
    names = []
    for act, inv, group in pending:
        scale_name, out_name, node_name = f"{act}_smooth_scale", f"{act}_smoothed", f"{act}_SmoothQuantMul"
        graph.initializer.append(onnx.numpy_helper.from_array(inv.astype(np.float32), scale_name))
        first = None
        for node in graph.node:
            if node.name in group:
                first = first or node.name
                for i, inp in enumerate(node.input):
                    if inp == act:
                        node.input[i] = out_name
        before[first].append(onnx.helper.make_node("Mul", [act, scale_name], [out_name], name=node_name))
        names.append(node_name)
    nodes = []
    for node in graph.node:
        nodes.extend(before.get(node.name, []))
        nodes.append(node)
    graph.ClearField("node")
    graph.node.extend(nodes)
    return names


def _rank(model: Any, tensor: str) -> int:
    for value in list(model.graph.value_info) + list(model.graph.input):
        if value.name == tensor and value.type.tensor_type.HasField("shape"):
            return len(value.type.tensor_type.shape.dim)
    return -2  # unknown: only axis=-1 is accepted


def _copy(model: Any) -> Any:
    onnx = deps.onnx()
    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out
