"""Fake quantization for QAT in eager PyTorch, matching the int8 numbers PTQ's x86 path produces.

- Weights: a ``torch.nn.utils.parametrize`` parametrization. It keeps the module's own ``Parameter``
  object as ``parametrizations.weight.original``, so an optimizer built before QAT starts keeps
  training it. Symmetric int8 in [-128, 127] with scale ``amax / 127.5`` per output channel (or one
  shared scale for ``per_tensor``) — torchao's ``PerChannelMinMaxObserver`` numbers. Per-channel
  symmetric quantization is invariant to scaling a channel, so it equals quantizing the BatchNorm-folded
  weights that the converted model runs.
- Activations: a forward pre-hook on each quantized op with an exponential moving average of the
  input's min/max (uint8 affine, zero kept exactly representable), frozen in eval mode.
Both use straight-through estimators (``torch.fake_quantize_*``): gradients pass inside the range.
"""

from __future__ import annotations

import torch
from torch import nn

EPS = 2**-12  # as the PTQ observers: keeps scales of near-constant tensors finite


class FakeQuantWeight(nn.Module):
    """Parametrization: ``weight -> fake_quant(weight)`` (symmetric int8, per channel or shared)."""

    def __init__(self, per_channel: bool = True) -> None:
        super().__init__()
        self.per_channel = per_channel

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        flat = weight.detach().reshape(weight.shape[0], -1)
        amax = flat.abs().amax(dim=1)
        if not self.per_channel:
            amax = amax.max().expand_as(amax)
        scale = torch.clamp(amax / 127.5, min=EPS).float()
        zero = torch.zeros_like(scale, dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(weight, scale, zero, 0, -128, 127)


class ActivationFakeQuant:
    """Forward pre-hook: fake-quantizes the op's first input as uint8 with EMA-tracked range.

    A plain object rather than a module so that it never shows up in ``state_dict`` or in the ops
    of the converted model; ``strip_fake_quant`` finds it by type (also on deep copies).
    """

    def __init__(self, momentum: float = 0.1) -> None:
        self.momentum = momentum
        self.min_val: float | None = None
        self.max_val: float | None = None

    def observe(self, x: torch.Tensor) -> None:
        lo, hi = float(x.detach().min()), float(x.detach().max())
        if self.min_val is None:
            self.min_val, self.max_val = lo, hi
        else:
            self.min_val += self.momentum * (lo - self.min_val)
            self.max_val += self.momentum * (hi - self.max_val)

    def qparams(self) -> tuple[float, int]:
        lo, hi = min(self.min_val, 0.0), max(self.max_val, 0.0)
        scale = max((hi - lo) / 255.0, EPS)
        zero = int(min(max(round(-lo / scale), 0), 255))
        return scale, zero

    def __call__(self, module: nn.Module, args: tuple):
        if not args or not isinstance(args[0], torch.Tensor) or not args[0].is_floating_point():
            return None
        x = args[0]
        if module.training or self.min_val is None:
            self.observe(x)
        scale, zero = self.qparams()
        return (torch.fake_quantize_per_tensor_affine(x, scale, zero, 0, 255), *args[1:])


def add_fake_quant(module: nn.Module, per_channel: bool) -> ActivationFakeQuant:
    from torch.nn.utils import parametrize

    parametrize.register_parametrization(module, "weight", FakeQuantWeight(per_channel))
    hook = ActivationFakeQuant()
    module.register_forward_pre_hook(hook)
    return hook


def strip_fake_quant(model: nn.Module) -> int:
    """Removes every QAT parametrization and hook from ``model`` (trained weights stay). Returns a count."""
    from torch.nn.utils import parametrize

    removed = 0
    for module in model.modules():
        if parametrize.is_parametrized(module, "weight") and any(
            isinstance(p, FakeQuantWeight) for p in module.parametrizations.weight
        ):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
            removed += 1
        for key, hook in list(module._forward_pre_hooks.items()):
            if isinstance(hook, ActivationFakeQuant):
                del module._forward_pre_hooks[key]
    return removed
