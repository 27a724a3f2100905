"""Hard-for-int8 variants of trained zoo models: seeded, documented transforms that keep the fp32 function.

A variant entry (``models.catalog``, ``parent=...``) is its parent's trained model with ``culprits`` applied:
no training, so a variant costs one forward pass over the probe examples on top of its parent. Each
culprit adds ONE channel to a producer layer (a Conv2d/Linear followed by its ReLU) of an ``nn.Sequential``,
and gives the consumer (the next Conv2d/Linear) zero weights for it, so the fp32 logits are the parent's (the
new channel is multiplied by 0; only float summation order differs), while int8 sees a tensor or a weight it
cannot represent:

- ``massive_channel``: the new channel is a constant ``ratio`` times the largest activation of the tensor
  (bias 1, zero weights, then a per-channel gain). Per-tensor activation scales then leave the real channels
  a few int8 levels. Like the massive activations of LLMs, it is present for every input, so calibration
  cannot clip it (percentile keeps it, entropy clips at most to a quarter of the range) and per-channel
  *weights* do not help. Fix: the consumer in fp32 (its input is then not quantized).
- ``spike_channel``: the new channel copies one real channel (weights of ordinary size) shifted down by a
  threshold so that it fires at only ``spikes`` positions of the probe examples (the first ``probe_examples``
  calibration examples: 128, what the harness calibrates with), and a gain makes those spikes ``ratio`` times the largest
  activation. MinMax calibration spends the whole uint8 range on a handful of values; a percentile range
  (ORT cuts 0.0005 % of the values at the top) clips them, harmlessly since the consumer ignores them. Fix:
  ``percentile`` calibration (or the consumer in fp32).
- ``weight_outlier``: the new channel's weights are ``-ratio`` times the layer's largest weight. The layer
  reads a ReLU output (or non-negative pixels), so the channel is never positive and its ReLU output is 0;
  but one per-tensor weight scale now spans ``ratio`` times the real weights, which round to 0. Fix:
  per-channel weights (or the layer in fp32). Not hard on torch, whose backend defaults to per-channel weights.

The gain is an ``nn.Module`` of its own (``ChannelGain``, exported as one ONNX ``Mul``): it stands for an
unfolded per-channel scale, like a LayerNorm gain, which is how such outliers arise in real models, and it
keeps the producer's weights ordinary so that each culprit breaks int8 for one reason only. (Scaling an
existing channel's weights instead would also make a weight outlier of the producer.) The ``seed`` of the
recipe picks where the new channel goes and which real channel a spike copies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn

from models.definition import EntryDefinition, resolve
from models.errors import EntryDefinitionError

WEIGHTED = (nn.Conv2d, nn.Linear)
PASS_THROUGH = (nn.ReLU, nn.MaxPool2d, nn.Flatten)


class ChannelGain(nn.Module):
    """``x * gain`` with one gain per channel (dim 1): an unfolded per-channel scale."""

    def __init__(self, channels: int, spatial: bool) -> None:
        super().__init__()
        self.register_buffer("gain", torch.ones((1, channels, 1, 1) if spatial else (1, channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain


def build_torch(entry: EntryDefinition, base: nn.Module | None = None) -> nn.Module:
    """The variant: ``base`` (the parent's trained model; untrained when None) with the culprits applied."""
    parent = entry.parent
    if parent is None:
        raise EntryDefinitionError(f"model {entry.name!r} uses {__name__} but declares no parent")
    model = resolve(parent.builders["torch"])(parent) if base is None else base
    if not isinstance(model, nn.Sequential):
        raise EntryDefinitionError(f"{entry.name}: outlier culprits need an nn.Sequential parent, not {type(model)}")
    x, _ = parent.load_data("calib")
    probe = torch.from_numpy(np.ascontiguousarray(x[: int(entry.recipe["probe_examples"])]))
    rng = np.random.default_rng(int(entry.recipe["seed"]))
    with torch.no_grad():
        for culprit in entry.recipe["culprits"]:
            culprit = dict(culprit)
            kind = culprit.pop("kind")
            if kind not in CULPRITS:
                raise EntryDefinitionError(f"{entry.name}: unknown culprit {kind!r}; known: {sorted(CULPRITS)}")
            CULPRITS[kind](model, probe, rng, **culprit)
    return model.eval()


# --- the culprits -----------------------------------------------------------------------------------------


def massive_channel(model: nn.Sequential, probe: torch.Tensor, rng, *, layer: int, ratio: float) -> None:
    site = _Site(model, layer, rng)
    bulk = site.activation_max(probe)
    site.add_channel(torch.zeros_like(site.producer.weight[0]), 1.0, gain=ratio * bulk)


def spike_channel(model: nn.Sequential, probe: torch.Tensor, rng, *, layer: int, ratio: float, spikes: int) -> None:
    site = _Site(model, layer, rng)
    bulk = site.activation_max(probe)
    source = int(rng.integers(site.producer.weight.shape[0]))
    pre = site.pre_activation(probe)[:, source].flatten().sort(descending=True).values
    if pre.numel() <= spikes or float(pre[spikes - 1]) <= float(pre[spikes]):
        raise EntryDefinitionError(
            f"spike_channel: channel {source} of layer {layer} has no {spikes} distinct top values"
        )
    threshold = float(pre[spikes - 1] + pre[spikes]) / 2  # exactly `spikes` probe values lie above it
    bias = float(site.producer.bias[source]) - threshold
    height = float(pre[0]) - threshold
    site.add_channel(site.producer.weight[source].clone(), bias, gain=ratio * bulk / height)


def weight_outlier(model: nn.Sequential, probe: torch.Tensor, rng, *, layer: int, ratio: float) -> None:
    site = _Site(model, layer, rng)
    if float(site.producer_input(probe).min()) < 0:
        raise EntryDefinitionError(f"weight_outlier: layer {layer} reads negative values; its new channel would fire")
    big = ratio * float(site.producer.weight.abs().max())
    site.add_channel(torch.full_like(site.producer.weight[0], -big), 0.0, gain=None)


CULPRITS: Mapping[str, Callable[..., None]] = {
    "massive_channel": massive_channel,
    "spike_channel": spike_channel,
    "weight_outlier": weight_outlier,
}


# --- surgery on an nn.Sequential ------------------------------------------------------------------------------


class _Site:
    """A producer layer of ``model``, its ReLU and its consumer: where one culprit channel goes."""

    def __init__(self, model: nn.Sequential, layer: int, rng) -> None:
        self.model, self.layer = model, layer
        self.producer = model[layer]
        if not isinstance(self.producer, WEIGHTED) or layer + 1 >= len(model) or not _is_relu(model[layer + 1]):
            raise EntryDefinitionError(f"layer {layer} is not a Conv2d/Linear followed by a ReLU")
        self.consumer_index = next((i for i in range(layer + 2, len(model)) if isinstance(model[i], WEIGHTED)), None)
        if self.consumer_index is None:
            raise EntryDefinitionError(f"layer {layer} has no consumer layer")
        between = [model[i] for i in range(layer + 2, self.consumer_index)]
        if not all(isinstance(m, PASS_THROUGH) for m in between):
            raise EntryDefinitionError(f"layer {layer}: only ReLU/MaxPool/Flatten may sit before its consumer")
        self.consumer = model[self.consumer_index]
        channels = self.producer.weight.shape[0]
        self.index = int(rng.integers(channels + 1))  # where the new channel goes (seeded)
        # A Linear consumer after a Conv producer reads each channel as a block of flattened positions.
        in_width = self.consumer.weight.shape[1]
        self.block = in_width // channels if isinstance(self.consumer, nn.Linear) else 1

    def producer_input(self, probe: torch.Tensor) -> torch.Tensor:
        return self.model[: self.layer](probe)

    def pre_activation(self, probe: torch.Tensor) -> torch.Tensor:
        return self.model[: self.layer + 1](probe)

    def activation_max(self, probe: torch.Tensor) -> float:
        """The largest value of the producer's ReLU output on the probe (what a culprit is measured against)."""
        return float(self.model[: self.layer + 2](probe).max())

    def add_channel(self, weight: torch.Tensor, bias: float, gain: float | None) -> None:
        i, producer, consumer = self.index, self.producer, self.consumer
        relu = self.model[self.layer + 1]
        if isinstance(relu, nn.Sequential):  # its gain has one entry per channel: no second culprit here
            raise EntryDefinitionError(f"layer {self.layer} already has a culprit")
        self.model[self.layer] = _with_row(producer, i, weight, bias)
        zeros = torch.zeros(consumer.weight.shape[0], self.block, *consumer.weight.shape[2:])
        self.model[self.consumer_index] = _with_columns(consumer, i * self.block, zeros)
        if gain is not None:
            scale = ChannelGain(producer.weight.shape[0] + 1, spatial=isinstance(producer, nn.Conv2d))
            scale.gain.view(-1)[i] = gain
            self.model[self.layer + 1] = nn.Sequential(relu, scale)


def _is_relu(module: nn.Module) -> bool:
    return isinstance(module, nn.ReLU) or (isinstance(module, nn.Sequential) and isinstance(module[0], nn.ReLU))


def _with_row(layer: nn.Module, i: int, weight: torch.Tensor, bias: float) -> nn.Module:
    """``layer`` with one more output channel at index ``i``."""
    w = layer.weight.detach()
    b = layer.bias.detach() if layer.bias is not None else torch.zeros(w.shape[0])
    new = _like(layer, out=w.shape[0] + 1, inp=w.shape[1])
    new.weight.copy_(torch.cat([w[:i], weight.unsqueeze(0).to(w), w[i:]]))
    new.bias.copy_(torch.cat([b[:i], torch.tensor([bias], dtype=b.dtype), b[i:]]))
    return new


def _with_columns(layer: nn.Module, start: int, columns: torch.Tensor) -> nn.Module:
    """``layer`` reading ``columns.shape[1]`` more inputs, inserted at input index ``start``."""
    w = layer.weight.detach()
    new = _like(layer, out=w.shape[0], inp=w.shape[1] + columns.shape[1])
    new.weight.copy_(torch.cat([w[:, :start], columns.to(w), w[:, start:]], dim=1))
    if layer.bias is not None:
        new.bias.copy_(layer.bias.detach())
    return new


def _like(layer: nn.Module, out: int, inp: int) -> nn.Module:
    if isinstance(layer, nn.Linear):
        return nn.Linear(inp, out)
    return nn.Conv2d(inp, out, layer.kernel_size, layer.stride, layer.padding, layer.dilation)
