"""SmoothQuant (Xiao et al. 2023) for Linear layers, exact in fp32.

Per input channel j of a Linear, ``s_j = max|X_j|^alpha / max|W_:,j|^(1-alpha)`` moves activation
outliers into the weights: ``X W^T = (X / s)(W * s)^T``. Where a LayerNorm feeds only Linears, 1/s is
folded into its weight and bias (free at run time). Elsewhere a forward pre-hook divides the Linear's
input by s: that division is one more fp32 op, which torch.export records inside the Linear, so the
quantizer then observes the smoothed activation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .graph import layer_norm_groups
from .inputs import batch_dims, export_example

log = logging.getLogger(__name__)
_FLOOR = 1e-5  # keeps s finite for channels that were never active during calibration


class InputScale:
    """Forward pre-hook dividing a module's first input by ``scale`` (a plain object: deep-copyable)."""

    def __init__(self, scale: torch.Tensor) -> None:
        self.scale = scale

    def __call__(self, module, args):
        return (args[0] / self.scale, *args[1:])


@dataclass
class SmoothQuantResult:
    folded: dict[str, list[str]] = field(default_factory=dict)  # LayerNorm -> Linears smoothed through it
    hooked: dict[str, torch.Tensor] = field(default_factory=dict)  # Linear -> scale applied by a pre-hook


def _input_absmax(model: torch.nn.Module, names: Sequence[str], batches) -> dict[str, torch.Tensor]:
    stats: dict[str, torch.Tensor] = {}

    def hook(name):
        def record(module, args):
            x = args[0].detach().abs().reshape(-1, args[0].shape[-1]).amax(dim=0)
            stats[name] = x if name not in stats else torch.maximum(stats[name], x)

        return record

    handles = [model.get_submodule(n).register_forward_pre_hook(hook(n)) for n in names]
    try:
        with torch.no_grad():
            for args in batches:
                model(*args)
    finally:
        for h in handles:
            h.remove()
    return stats


def _scale(act: torch.Tensor, weights: Sequence[torch.Tensor], alpha: float) -> torch.Tensor:
    w = torch.stack([wt.detach().abs().amax(dim=0) for wt in weights]).amax(dim=0)
    s = act.clamp(min=_FLOOR).pow(alpha) / w.clamp(min=_FLOOR).pow(1.0 - alpha)
    return s.clamp(min=_FLOOR)


def _has_affine(module: torch.nn.Module) -> bool:
    return getattr(module, "weight", None) is not None and getattr(module, "bias", None) is not None


def apply_hook_scales(model: torch.nn.Module, scales: dict[str, torch.Tensor]) -> None:
    """Registers the pre-hooks of ``scales`` (weights are assumed already multiplied): used on reload."""
    for name, s in scales.items():
        model.get_submodule(name).register_forward_pre_hook(InputScale(s))


def smooth_quant(model: torch.nn.Module, linear_names: Sequence[str], batches, alpha: float) -> SmoothQuantResult:
    """Smooths, in place, the named Linear modules of ``model`` (a private copy) over ``batches``."""
    names = [n for n in linear_names if isinstance(model.get_submodule(n), torch.nn.Linear)]
    result = SmoothQuantResult()
    if not names:
        return result
    example = export_example(batches)
    with torch.no_grad():
        graph = torch.export.export(model, example, dynamic_shapes=batch_dims(example)).graph_module
    # Groups are found among all Linears: folding is exact, so an fp32 Linear may share a quantized one's LayerNorm.
    all_linears = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    groups = {
        ln: linears
        for ln, linears in layer_norm_groups(graph, all_linears).items()
        if set(linears) & set(names) and _has_affine(model.get_submodule(ln))
    }
    stats = _input_absmax(model, sorted(set(names) | {n for ls in groups.values() for n in ls}), batches)
    with torch.no_grad():
        for ln_name, linears in groups.items():
            if not all(n in stats for n in linears):
                continue  # a consumer never ran during calibration: no statistics to scale by
            act = torch.stack([stats[n] for n in linears]).amax(dim=0)
            s = _scale(act, [model.get_submodule(n).weight for n in linears], alpha)
            ln = model.get_submodule(ln_name)
            ln.weight.div_(s)
            ln.bias.div_(s)
            for n in linears:
                model.get_submodule(n).weight.mul_(s)
            result.folded[ln_name] = linears
        grouped = {n for linears in result.folded.values() for n in linears}
        for name in names:
            if name in grouped or name not in stats:
                continue
            linear = model.get_submodule(name)
            s = _scale(stats[name], [linear.weight], alpha)
            linear.weight.mul_(s)
            result.hooked[name] = s
    apply_hook_scales(model, result.hooked)
    log.debug("SmoothQuant alpha=%s: folded into %s, hooked %s", alpha, list(result.folded), list(result.hooked))
    return result
