"""Pruning criteria (``pruning_type``) for PyTorch weights; lower score = pruned first.

- ``magnitude``: ``|w|`` at the event.
- ``snip``: ``|w * dL/dw|`` of the latest gradients seen before an optimizer step (SNIP, Lee et al.
  2019); before any gradient exists it falls back to magnitude (logged once).
- ``snip_momentum``: INC's running score ``s = 0.9 * s + |w * dL/dw|`` updated before every optimizer
  step; falls back like ``snip`` when no gradient was seen yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import numpy as np
import torch

log = logging.getLogger(__name__)

CRITERIA: dict[str, Callable[[Mapping[str, torch.nn.Parameter]], Criterion]] = {}


def register_criterion(name: str):
    def register(cls):
        CRITERIA[name] = cls
        return cls

    return register


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).cpu().numpy()


class Criterion:
    def __init__(self, weights: Mapping[str, torch.nn.Parameter]) -> None:
        self.weights = dict(weights)

    def accumulate(self) -> None:
        """Called before each optimizer step, with gradients present."""

    def scores(self) -> dict[str, np.ndarray]:
        return {name: _numpy(w.abs()) for name, w in self.weights.items()}


register_criterion("magnitude")(Criterion)


@register_criterion("snip")
class SnipCriterion(Criterion):
    def __init__(self, weights: Mapping[str, torch.nn.Parameter]) -> None:
        super().__init__(weights)
        self.latest: dict[str, torch.Tensor] = {}
        self._warned = False

    def _snip(self) -> dict[str, torch.Tensor]:
        return {n: (w.detach() * w.grad).abs() for n, w in self.weights.items() if w.grad is not None}

    def accumulate(self) -> None:
        self.latest.update(self._snip())

    def _fallback(self, have: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
        missing = [n for n in self.weights if n not in have]
        if missing and not self._warned:
            log.warning("no gradient seen yet for %s: scoring by magnitude at this event", ", ".join(missing))
            self._warned = True
        out = super().scores()
        out.update({n: _numpy(s) for n, s in have.items()})
        return out

    def scores(self) -> dict[str, np.ndarray]:
        return self._fallback({**self.latest, **self._snip()})


@register_criterion("snip_momentum")
class SnipMomentumCriterion(SnipCriterion):
    alpha, beta = 0.9, 1.0  # INC's values

    def accumulate(self) -> None:
        for name, snip in self._snip().items():
            prev = self.latest.get(name)
            self.latest[name] = self.beta * snip if prev is None else prev.mul_(self.alpha).add_(snip, alpha=self.beta)

    def scores(self) -> dict[str, np.ndarray]:
        return self._fallback(self.latest)
