"""Producer → consumer channel chains of a PyTorch model, found with ``torch.fx``.

A chain is ``producer (Conv/Linear) → [BatchNorm | channel-wise op]* → consumer (Conv/Linear)`` where
every node has exactly one user, every op in between acts on each channel separately and maps 0 to 0
(ReLU-like activations, pooling, dropout, identity, ``flatten(1)`` before a Linear). Only along such
a chain can an output channel of the producer and the matching input channel of the consumer (and the
BatchNorm entries between) be removed without changing the model's function. Anything else, a
residual add, a concat, a second user, a model output, grouped convs, is reported with the reason.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import fx, nn

WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
CHANNELWISE_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Tanh, nn.Hardswish, nn.Identity,
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
)  # fmt: skip
CHANNELWISE_FUNCTIONS = {
    F.relu, torch.relu, F.relu6, F.leaky_relu, F.gelu, F.silu, torch.tanh, F.hardswish, F.dropout,
    F.max_pool1d, F.max_pool2d, F.avg_pool1d, F.avg_pool2d, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d,
    F.adaptive_max_pool1d, F.adaptive_max_pool2d,
}  # fmt: skip
CHANNELWISE_METHODS = {"relu", "relu_", "tanh", "contiguous"}
MERGES = {operator.add, operator.iadd, torch.add, torch.cat, torch.concat, "add", "add_", operator.mul, torch.mul}


@dataclass
class Chain:
    producer: str
    consumer: str
    norms: list[str] = field(default_factory=list)
    flatten: bool = False  # consumer is a Linear after flatten(1): each channel owns in_features // C columns


@dataclass
class Chains:
    chains: list[Chain]
    skipped: dict[str, str]  # producer op name → why it heads no chain
    error: str | None = None


def _is_flatten(node: fx.Node, modules: dict) -> bool:
    if node.op == "call_module" and isinstance(modules[node.target], nn.Flatten):
        m = modules[node.target]
        return m.start_dim == 1 and m.end_dim == -1
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
    is_call = (node.op == "call_function" and node.target is torch.flatten) or (
        node.op == "call_method" and node.target == "flatten"
    )
    return is_call and start == 1 and end == -1


def _channelwise(node: fx.Node, modules: dict) -> bool:
    if node.op == "call_module":
        return isinstance(modules[node.target], CHANNELWISE_MODULES)
    if node.op == "call_function":
        return node.target in CHANNELWISE_FUNCTIONS
    return node.op == "call_method" and node.target in CHANNELWISE_METHODS


def _describe(node: fx.Node) -> str:
    if node.op == "output":
        return "is a model output"
    target = getattr(node.target, "__name__", str(node.target))
    if node.target in MERGES:
        return f"feeds a residual add/concat ({target})"
    return f"feeds {node.op} {target!r}, which is not a channel-wise op"


def _walk(node: fx.Node, modules: dict, calls: dict) -> Chain | str:
    producer = modules[node.target]
    if calls[node.target] > 1:
        return "module is called more than once"
    if isinstance(producer, nn.Conv1d | nn.Conv2d | nn.Conv3d) and producer.groups != 1:
        return f"grouped conv (groups={producer.groups})"
    chain = Chain(producer=node.target, consumer="")
    cur = node
    while True:
        users = list(cur.users)
        if len(users) != 1:
            return f"output has {len(users)} users ({', '.join(u.name for u in users)})"
        user = users[0]
        module = modules.get(user.target) if user.op == "call_module" else None
        if isinstance(module, WEIGHTED):
            break
        if isinstance(module, NORMS):
            chain.norms.append(user.target)
        elif _is_flatten(user, modules):
            chain.flatten = True
        elif not _channelwise(user, modules):
            return _describe(user)
        cur = user
    consumer = modules[user.target]
    channels = producer.weight.shape[0]
    if calls[user.target] > 1:
        return f"consumer {user.target} is called more than once"
    if isinstance(consumer, nn.Linear):
        ok = consumer.in_features % channels == 0 if chain.flatten else consumer.in_features == channels
    else:
        ok = consumer.groups == 1 and consumer.in_channels == channels and not chain.flatten
    if not ok or any(modules[n].num_features != channels for n in chain.norms):
        return f"consumer {user.target} does not take the {channels} channels one-to-one"
    chain.consumer = user.target
    return chain


def find_chains(model: nn.Module) -> Chains:
    try:
        gm = fx.symbolic_trace(model)
    except Exception as exc:  # noqa: BLE001 - fx raises many types for untraceable code
        return Chains([], {}, error=f"torch.fx cannot trace the model: {type(exc).__name__}: {exc}")
    modules = dict(gm.named_modules())
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    chains, skipped = [], {}
    for node in gm.graph.nodes:
        if node.op == "call_module" and isinstance(modules[node.target], WEIGHTED):
            result = _walk(node, modules, calls)
            if isinstance(result, Chain):
                chains.append(result)
            else:
                skipped.setdefault(node.target, result)
    return Chains(chains, skipped)
