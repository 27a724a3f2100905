"""ONNX graph rewriting for mixed precision, and which ONNX Runtime CPU kernels exist per precision.

``convert_nodes`` moves the named nodes to bf16/fp16: their weights are stored in the low precision,
their activation inputs are cast down, and their outputs cast back to fp32 under the original tensor
names (so the rest of the graph, probes and graph outputs are unchanged). Where the CPU execution
provider has a kernel for the op in that precision, the op runs in it; where it has none, the op's
inputs are cast back to fp32 right before it: the values carry the low precision's rounding and range
(so accuracy is validated truthfully, overflow included) but the arithmetic is fp32. Those ops are
listed as "fp32 compute" in the result.

Measured with onnxruntime 1.32 (CPU EP, x86): no Conv/Gemm/MatMul kernel exists in either precision
(for fp16, ORT itself inserts casts around them; for bf16 it refuses the graph), so on x86 both are
emulated whatever the CPU flags say; LayerNormalization/Transpose/Flatten do have fp16 and bf16 kernels.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from ...quiet import quiet_session_options
from ..ptq.onnxrt import deps

# Float inputs each op type reads (positions); others (shapes, axes) are left alone.
FLOAT_INPUTS = {"Conv": (0, 1, 2), "ConvTranspose": (0, 1, 2), "Gemm": (0, 1, 2), "MatMul": (0, 1)}
_PROBE_SHAPES = {
    "Conv": ([1, 1, 5, 5], [2, 1, 3, 3]),
    "ConvTranspose": ([1, 1, 5, 5], [1, 2, 3, 3]),
    "Gemm": ([2, 4], [4, 3]),
    "MatMul": ([2, 4], [4, 3]),
}


def elem_type(precision: str) -> int:
    tp = deps.onnx().TensorProto
    return {"bf16": tp.BFLOAT16, "fp16": tp.FLOAT16, "fp32": tp.FLOAT}[precision]


def low_precision_tensor(array: np.ndarray, name: str, precision: str) -> Any:
    """An initializer holding ``array`` rounded to ``precision`` (bf16: round to nearest even)."""
    onnx = deps.onnx()
    array = np.asarray(array, dtype=np.float32)
    if precision == "fp16":
        with np.errstate(over="ignore"):  # beyond fp16's range is inf, as a Cast would make it
            return onnx.numpy_helper.from_array(array.astype(np.float16), name)
    bits = array.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    tensor = onnx.TensorProto(name=name, data_type=onnx.TensorProto.BFLOAT16, dims=list(array.shape))
    tensor.raw_data = rounded.tobytes()
    return tensor


@functools.lru_cache(maxsize=32)
def has_kernel(op_type: str, precision: str) -> bool:
    """Whether the CPU EP runs ``op_type`` in ``precision`` itself (no Cast inserted around it by ORT)."""
    onnx, ort = deps.onnx(), deps.ort()
    helper, elem = onnx.helper, elem_type(precision)
    shapes = _PROBE_SHAPES.get(op_type)
    if shapes is None:
        return False
    inputs = [helper.make_tensor_value_info(f"x{i}", elem, s) for i, s in enumerate(shapes)]
    node = helper.make_node(op_type, [i.name for i in inputs], ["y"])
    graph = helper.make_graph([node], "probe", inputs, [helper.make_tensor_value_info("y", elem, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    options = quiet_session_options(ort.SessionOptions())
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    fd, path = tempfile.mkstemp(suffix=".onnx", prefix="compressor-probe-")
    os.close(fd)
    options.optimized_model_filepath = path
    try:
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        ran = onnx.load(path)
    except Exception:  # NOT_IMPLEMENTED: no kernel at all
        return False
    finally:
        os.unlink(path)
    return not any(n.op_type == "Cast" for n in ran.graph.node)


def convert_nodes(model: Any, dtypes: Mapping[str, str]) -> tuple[Any, list[str]]:
    """A copy of ``model`` with each node named in ``dtypes`` ({node: "bf16"|"fp16"}) converted.

    Returns the model and the converted nodes whose arithmetic stays fp32 (no kernel).
    """
    onnx = deps.onnx()
    helper = onnx.helper
    source = model.graph
    inits = {i.name: i for i in source.initializer}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    del graph.node[:]
    made: set[str] = set()  # tensors created by added Casts or low-precision initializers
    added_inits = []
    fp32_compute = []

    def cast(src: str, dst: str, to: int) -> None:
        if dst not in made:
            graph.node.append(helper.make_node("Cast", [src], [dst], name=f"{dst}_cast", to=to))
            made.add(dst)

    def low_input(name: str, precision: str, native: bool) -> str:
        low = f"{name}_{precision}"
        if name in inits:
            if low not in made:
                values = onnx.numpy_helper.to_array(inits[name])
                added_inits.append(low_precision_tensor(values, low, precision))
                made.add(low)
        else:
            cast(name, low, elem_type(precision))
        if native:
            return low
        cast(low, f"{low}_fp32", elem_type("fp32"))
        return f"{low}_fp32"

    for node in source.node:
        precision = dtypes.get(node.name)
        if precision not in ("bf16", "fp16"):
            graph.node.append(node)
            continue
        native = has_kernel(node.op_type, precision)
        if not native:
            fp32_compute.append(node.name)
        converted = onnx.NodeProto()
        converted.CopyFrom(node)
        for i in FLOAT_INPUTS.get(node.op_type, ()):
            if i < len(node.input) and node.input[i]:
                converted.input[i] = low_input(node.input[i], precision, native)
        if native:
            for i, name in enumerate(node.output):
                converted.output[i] = f"{name}_{precision}_out"
        graph.node.append(converted)
        if native:
            for name in node.output:
                cast(f"{name}_{precision}_out", name, elem_type("fp32"))
    still_used = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    kept = [i for i in source.initializer if i.name in still_used]
    del graph.initializer[:]
    graph.initializer.extend(kept + added_inits)
    return out, fp32_compute
