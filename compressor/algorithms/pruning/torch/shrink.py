"""Physical channel removal along producer → consumer chains (PyTorch).

A channel ``c`` of a chain is removed when it provably carries nothing the consumer uses:

- the consumer's input slice for ``c`` is all zero (what ``channelx1`` pruning of the consumer makes), or
- the producer's output ``c`` is zero (weight row and bias) and every BatchNorm between has
  ``weight[c] == bias[c] == 0`` (what ``1xchannel`` pruning of the producer makes: the component masks
  the bias and those BatchNorm entries with the rows), and the ops between map 0 to 0.

So the shrunk model computes the same function as the masked one. At least one channel is kept. The
shrunk model is a deep copy with sliced parameters (same module classes); the original is untouched.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from .graph import Chain


def _in_slices(consumer: nn.Module, chain: Chain, channels: int) -> torch.Tensor:
    """Consumer weight as ``[out, channels, rest]``: the input slice owned by each channel."""
    w = consumer.weight.detach()  # Linear [out, C*S] (flatten is channel-major) or Conv [out, C, *k]
    return w.reshape(w.shape[0], channels, -1)


def removable(model: nn.Module, chain: Chain) -> torch.Tensor:
    producer = model.get_submodule(chain.producer)
    consumer = model.get_submodule(chain.consumer)
    channels = producer.weight.shape[0]
    input_dead = _in_slices(consumer, chain, channels).abs().sum(dim=(0, 2)) == 0
    output_dead = producer.weight.detach().reshape(channels, -1).abs().sum(dim=1) == 0
    if producer.bias is not None:
        output_dead &= producer.bias.detach() == 0
    for name in chain.norms:
        norm = model.get_submodule(name)
        if norm.weight is None:
            output_dead &= False
        else:
            output_dead &= (norm.weight.detach() == 0) & (norm.bias.detach() == 0)
    dead = input_dead | output_dead
    if bool(dead.all()):
        dead[0] = False
    return dead


def _slice_param(module: nn.Module, name: str, index: torch.Tensor, dim: int) -> None:
    tensor = getattr(module, name)
    if tensor is None:
        return
    sliced = tensor.detach().index_select(dim, index).clone()
    if isinstance(tensor, nn.Parameter):
        setattr(module, name, nn.Parameter(sliced, requires_grad=tensor.requires_grad))
    else:
        setattr(module, name, sliced)


def _cut(model: nn.Module, chain: Chain, keep: torch.Tensor) -> None:
    producer = model.get_submodule(chain.producer)
    consumer = model.get_submodule(chain.consumer)
    channels = producer.weight.shape[0]
    _slice_param(producer, "weight", keep, 0)
    _slice_param(producer, "bias", keep, 0)
    if isinstance(producer, nn.Linear):
        producer.out_features = len(keep)
    else:
        producer.out_channels = len(keep)
    for name in chain.norms:
        norm = model.get_submodule(name)
        for attr in ("weight", "bias", "running_mean", "running_var"):
            _slice_param(norm, attr, keep, 0)
        norm.num_features = len(keep)
    if isinstance(consumer, nn.Linear):
        per = consumer.in_features // channels
        columns = (keep[:, None] * per + torch.arange(per)[None, :]).reshape(-1)
        _slice_param(consumer, "weight", columns, 1)
        consumer.in_features = len(columns)
    else:
        _slice_param(consumer, "weight", keep, 1)
        consumer.in_channels = len(keep)


def shrink(model: nn.Module, chains: list[Chain]) -> tuple[nn.Module, list[dict[str, Any]]]:
    """A smaller copy of ``model`` and one report entry per chain."""
    plans = [(chain, removable(model, chain)) for chain in chains]  # decided on the original
    small = copy.deepcopy(model)
    done = []
    for chain, dead in plans:
        keep = torch.nonzero(~dead).flatten()
        entry = {
            "producer": chain.producer,
            "consumer": chain.consumer,
            "norms": list(chain.norms),
            "channels_before": int(dead.numel()),
            "channels_after": int(keep.numel()),
        }
        if keep.numel() < dead.numel():
            _cut(small, chain, keep)
        done.append(entry)
    return small, done


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
