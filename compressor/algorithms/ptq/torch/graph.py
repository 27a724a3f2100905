"""Reading exported (pt2e) graphs in terms of the eager model's module names.

``torch.export`` records, on every node, the stack of modules that produced it
(``meta["nn_module_stack"]``, innermost last, as ``(qualified_name, type)``); that is how a plan's op
names (module qualified names) are found again in a flat graph before and after quantization.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

import torch
from torch.fx import GraphModule, Interpreter, Node

from ....errors import BackendError

aten = torch.ops.aten
OP_TARGETS = (aten.linear.default, aten.conv1d.default, aten.conv2d.default)
_LAYER_NORM = (aten.layer_norm.default, aten.native_layer_norm.default)


def module_name(node: Node) -> str | None:
    """Qualified name of the innermost module that produced ``node`` (None outside any submodule)."""
    stack = node.meta.get("nn_module_stack")
    if not stack:
        return None
    name = list(stack.values())[-1][0]
    return name or None


def op_nodes(gm: GraphModule, names: Iterable[str] | None = None) -> dict[str, Node]:
    """The first conv/linear node of each named module (a module called twice keeps its first call)."""
    wanted = None if names is None else set(names)
    found: dict[str, Node] = {}
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target not in OP_TARGETS:
            continue
        name = module_name(node)
        if name is not None and (wanted is None or name in wanted) and name not in found:
            found[name] = node
    return found


def _is_dequantize(node: object) -> bool:
    return isinstance(node, Node) and node.op == "call_function" and "dequantize" in str(node.target)


def quantized_op_names(gm: GraphModule) -> list[str]:
    """Ops whose weight *and* input arrive through dequantize nodes, i.e. that inductor lowers to int8."""
    return [
        name
        for name, node in op_nodes(gm).items()
        if len(node.args) > 1 and _is_dequantize(node.args[0]) and _is_dequantize(node.args[1])
    ]


class _Recorder(Interpreter):
    def __init__(self, gm: GraphModule, targets: dict[Node, str]) -> None:
        super().__init__(gm)
        self.targets = targets
        self.outputs: dict[str, torch.Tensor] = {}

    def run_node(self, n: Node):
        result = super().run_node(n)
        if n in self.targets:
            self.outputs[self.targets[n]] = result.detach().clone()
        return result


def capture(gm: GraphModule, args: Sequence[torch.Tensor], names: Sequence[str]) -> dict[str, torch.Tensor]:
    """Outputs of the named ops' conv/linear nodes for one batch.

    In a converted pt2e graph that node computes on dequantized int8 input and weight, so the value
    carries the op's input and weight quantization error but not the requantization of its output
    (which oneDNN fuses after any following ReLU): the closest point to the fp32 module's output.
    """
    nodes = op_nodes(gm, names)
    missing = [n for n in names if n not in nodes]
    if missing:
        raise BackendError(f"torch backend: no conv/linear node for {missing} in the quantized graph")
    recorder = _Recorder(gm, {node: name for name, node in nodes.items()})
    with torch.no_grad():
        recorder.run(*args)
    return recorder.outputs


def layer_norm_groups(gm: GraphModule, linear_names: Iterable[str]) -> dict[str, list[str]]:
    """LayerNorm module -> the Linear modules that consume *only* its output (SmoothQuant can fold there).

    A LayerNorm whose output also feeds anything else (a residual add, a non-listed op) is left out:
    dividing its affine parameters would change that other consumer's input.
    """
    wanted = set(linear_names)
    groups: dict[str, list[str]] = {}
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target not in _LAYER_NORM:
            continue
        users = list(node.users)
        if node.target is aten.native_layer_norm.default:
            # native_layer_norm returns (out, mean, rstd): only getitem(.., 0) users carry the output
            if not all(u.target is operator.getitem and u.args[1] == 0 for u in users):
                continue
            users = [uu for u in users for uu in u.users]
        linears = [module_name(u) for u in users if u.target is aten.linear.default]
        ln_name = module_name(node)
        if ln_name and users and len(linears) == len(users) and all(name in wanted for name in linears):
            groups[ln_name] = sorted(set(linears), key=linears.index)
    return groups
