"""Observers and pt2e quantization configs built from a plan's per-op choices.

What the X86 inductor path can run (measured with torch 2.13 + torchao 0.18, see torch_backend):
- weights: int8 symmetric only (the quantizer rejects affine weights), and only *per-channel* weights
  are lowered to oneDNN ``qconv``/``qlinear``; per-tensor weights silently run fp32 kernels after
  freezing. So per-tensor is emulated as per-channel with one shared scale: same numbers, int8 kernels.
- activations: uint8 affine only (oneDNN ``qconv`` refuses int8 input at run time).
- calibration: ``minmax`` -> MinMaxObserver; ``entropy`` -> HistogramObserver, whose search minimises
  the L2 quantization error over histogram ranges (the x86 default; not KL divergence, the closest
  torch has); ``percentile`` -> PercentileObserver below (clips to the 99.99th percentile).
"""

from __future__ import annotations

import torch
from torchao.quantization.pt2e import observer as obs
from torchao.quantization.pt2e.quantizer import QuantizationConfig, QuantizationSpec

from ....errors import BackendError
from ..algorithm import OpQuant

# Observers' eps as in torchao's x86 default config: keeps scales of near-constant tensors finite.
_EPS = 2**-12
PERCENTILE = 99.99


class PercentileObserver(obs.HistogramObserver):
    """Clips the observed range to the central ``percentile`` of the running histogram."""

    def __init__(self, *args, percentile: float = PERCENTILE, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.percentile = percentile

    def _non_linear_param_search(self) -> tuple[torch.Tensor, torch.Tensor]:
        hist = self.histogram.to(torch.float64)
        total = hist.sum()
        if total <= 0:
            return self.min_val, self.max_val
        cdf = torch.cumsum(hist, 0) / total
        tail = (100.0 - self.percentile) / 200.0
        width = (self.max_val - self.min_val) / self.bins
        lo = int(torch.searchsorted(cdf, torch.tensor(tail, dtype=torch.float64)))
        hi = int(torch.searchsorted(cdf, torch.tensor(1.0 - tail, dtype=torch.float64)))
        new_min = self.min_val + width * lo
        new_max = self.min_val + width * min(hi + 1, self.bins)
        # Never clip away zero: ReLU outputs must keep an exact zero point.
        return torch.minimum(new_min, torch.zeros_like(new_min)), torch.maximum(new_max, torch.zeros_like(new_max))


class SharedScaleWeightObserver(obs.PerChannelMinMaxObserver):
    """Per-channel qscheme with one scale for all channels: per-tensor numbers on per-channel kernels."""

    def calculate_qparams(self):
        lo = torch.full_like(self.min_val, float(self.min_val.min()))
        hi = torch.full_like(self.max_val, float(self.max_val.max()))
        return self._calculate_qparams(lo, hi)


_ACTIVATION_OBSERVERS = {
    "minmax": obs.MinMaxObserver,
    "entropy": obs.HistogramObserver,
    "percentile": PercentileObserver,
}


def activation_observer(calibration: str):
    try:
        return _ACTIVATION_OBSERVERS[calibration]
    except KeyError:
        raise BackendError(
            f"torch backend: unknown calibration {calibration!r}; known: {sorted(_ACTIVATION_OBSERVERS)}"
        ) from None


def check_static_choice(name: str, choice: OpQuant) -> None:
    """Refuse what the x86 int8 kernels cannot run instead of silently running something else."""
    if choice.weight_scheme != "sym":
        raise BackendError(
            f"torch backend: op {name!r}: asym weights are not supported by X86InductorQuantizer; use 'sym'"
        )
    if choice.activation_scheme != "asym":
        raise BackendError(
            f"torch backend: op {name!r}: oneDNN int8 conv/linear need uint8 (asym) activations; use 'asym'"
        )


def static_config(choice: OpQuant, calibration: str) -> QuantizationConfig:
    """The pt2e config of one int8 op (input and output activations share the activation spec)."""
    act = QuantizationSpec(
        dtype=torch.uint8,
        quant_min=0,
        quant_max=255,
        qscheme=torch.per_tensor_affine,
        is_dynamic=False,
        observer_or_fake_quant_ctr=activation_observer(calibration).with_args(eps=_EPS),
    )
    weight_observer = (
        obs.PerChannelMinMaxObserver if choice.weight_granularity == "per_channel" else SharedScaleWeightObserver
    )
    weight = QuantizationSpec(
        dtype=torch.int8,
        quant_min=-128,
        quant_max=127,
        qscheme=torch.per_channel_symmetric,
        ch_axis=0,  # output channels of both conv (oc, ic, k...) and linear (out, in) weights
        is_dynamic=False,
        observer_or_fake_quant_ctr=weight_observer.with_args(eps=_EPS),
    )
    return QuantizationConfig(act, act, weight, None, False)
