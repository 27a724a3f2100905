"""PyTorch pruning component (framework ``"torch"``).

Masks live beside the model (no module swaps, no forward hooks): the selected weights are multiplied
by their masks in place, so the user's Parameters and any optimizer built on them stay valid, and the
model's ``state_dict`` and forward are unchanged. For ``1xchannel`` ops that head a shrinkable chain
(see ``torch/graph.py``) the output-channel mask also covers the op's bias and the BatchNorm entries
after it, so a pruned channel carries exact zeros and can be removed physically at ``on_train_end``.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from .algorithm import PrunerPlan
from .backend import PruningComponent
from .patterns import CHANNEL_PATTERNS
from .selection import OpInfo
from .torch.criteria import CRITERIA
from .torch.graph import Chains, find_chains
from .torch.shrink import count_params, shrink

log = logging.getLogger(__name__)

#: module type → pruning_op_types value
OP_KINDS = {nn.Conv1d: "Conv", nn.Conv2d: "Conv", nn.Conv3d: "Conv", nn.Linear: "Linear"}


class TorchPruningComponent(PruningComponent):
    framework = "torch"

    def list_ops(self, model: nn.Module) -> list[OpInfo]:
        ops = []
        for name, module in model.named_modules():
            kind = OP_KINDS.get(type(module))
            if kind is not None and isinstance(getattr(module, "weight", None), torch.Tensor):
                ops.append(OpInfo(name, kind, type(module).__name__, tuple(module.weight.shape)))
        return ops

    def attach(self, model: nn.Module) -> None:
        modules = dict(model.named_modules())
        self.weights = {op.name: modules[op.name].weight for plan in self.plans for op in plan.ops}
        self.masks: dict[str, torch.Tensor] = {}
        self.criteria = [
            CRITERIA[plan.criterion]({op.name: self.weights[op.name] for op in plan.ops}) for plan in self.plans
        ]
        # extra tensors masked by an op's output-channel mask: (tensor, op name)
        self.row_masked: list[tuple[torch.Tensor, str]] = []
        self.chains = Chains([], {})
        if any(plan.pattern.text in CHANNEL_PATTERNS for plan in self.plans):
            self.chains = find_chains(model)
            heads = {c.producer: c for c in self.chains.chains}
            for plan in self.plans:
                for op in plan.ops:
                    chain = heads.get(op.name) if plan.pattern.text == "1xchannel" else None
                    if chain is None:
                        continue
                    extra = [modules[op.name].bias] + [
                        t for n in chain.norms for t in (modules[n].weight, modules[n].bias)
                    ]
                    self.row_masked += [(t, op.name) for t in extra if t is not None]

    def accumulate_scores(self) -> None:
        for criterion in self.criteria:
            criterion.accumulate()

    def scores(self, plan: PrunerPlan) -> dict[str, Any]:
        return self.criteria[plan.index].scores()

    def push_masks(self, plan: PrunerPlan) -> None:
        for op in plan.ops:
            weight = self.weights[op.name]
            mask = torch.from_numpy(plan.mask(op.name, op.shape).copy())
            self.masks[op.name] = mask.to(device=weight.device, dtype=weight.dtype)

    def _row_mask(self, name: str) -> torch.Tensor:
        mask = self.masks[name]
        return (mask.reshape(mask.shape[0], -1).sum(dim=1) > 0).to(mask.dtype)

    @torch.no_grad()
    def apply_masks(self) -> None:
        for name, mask in self.masks.items():
            self.weights[name].mul_(mask)
        for tensor, name in self.row_masked:
            if name in self.masks:
                tensor.mul_(self._row_mask(name))

    @torch.no_grad()
    def zero_masked_grads(self) -> None:
        for name, mask in self.masks.items():
            grad = self.weights[name].grad
            if grad is not None:
                grad.mul_(mask)
        for tensor, name in self.row_masked:
            if name in self.masks and tensor.grad is not None:
                tensor.grad.mul_(self._row_mask(name))

    def finish(self, model: nn.Module | None) -> Any:
        self.masks, self.row_masked = {}, []  # masks removed: weights stay zero, nothing else is kept
        if model is None:
            return None
        channel_ops = {
            op.name: plan.pattern.text
            for plan in self.plans
            for op in plan.ops
            if plan.pattern.text in CHANNEL_PATTERNS
        }
        if self.chains.error:
            self._shrink_report = {"applied": False, "reason": self.chains.error}
            return model
        chains = [c for c in self.chains.chains if c.producer in channel_ops or c.consumer in channel_ops]
        # 1xchannel ops shrink as a chain's producer, channelx1 ops as its consumer
        handled = {"1xchannel": {c.producer for c in chains}, "channelx1": {c.consumer for c in chains}}
        skipped = []
        for name, pattern in channel_ops.items():
            if name in handled[pattern]:
                continue
            if pattern == "1xchannel":
                reason = self.chains.skipped.get(name, "heads no producer→consumer chain")
            else:
                reason = "its input is not the output of a single Conv/Linear through channel-wise ops"
            skipped.append({"op": name, "pattern": pattern, "reason": reason})
        small, report = shrink(model, chains)
        before, after = count_params(model), count_params(small)
        self._shrink_report = {
            "applied": any(r["channels_after"] < r["channels_before"] for r in report),
            "params_before": before,
            "params_after": after,
            "chains": report,
            "skipped": skipped,
        }
        log.info("pruning: shrunk %d chains, parameters %d → %d", len(report), before, after)
        return small
