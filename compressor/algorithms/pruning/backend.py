"""The pruning ``TrainingComponent``: hook logic shared by every framework, framework parts abstract.

Step counting: the global step is the number of ``on_step_begin`` calls so far (0-based); the
``step`` argument is ignored because the seed-001 loops pass ``enumerate``'s index, which restarts
every epoch. Both seed loop shapes work:

- 2.x: ``on_train_begin``, per batch ``on_step_begin`` → backward → ``on_before_optimizer_step`` →
  ``optimizer.step()`` → ``on_after_optimizer_step``, then ``on_train_end``;
- 1.x: ``on_epoch_begin``, per batch ``on_step_begin`` → backward → (every k-th batch)
  ``on_before_optimizer_step`` → ``optimizer.step()`` → ``on_step_end``, ``on_epoch_end``; no
  ``on_train_begin`` (the component attaches itself at the first hook) nor ``on_after_optimizer_step``.

A pruning event due at step s is resolved at that step's ``on_before_optimizer_step`` (gradients are
there for snip scores); if the loop skips that hook for the step, at ``on_step_end``, the next
``on_step_begin`` or ``on_train_end``. Masks are multiplied into the weights in place (same
Parameter objects, so an optimizer built beforehand keeps working) after every optimizer step and at
every step boundary; masked gradients are zeroed before the optimizer step.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

from ..component import TrainingComponent
from .algorithm import PrunerPlan
from .patterns import CHANNEL_PATTERNS
from .selection import OpInfo, SkippedOp, select_ops

log = logging.getLogger(__name__)


class PruningComponent(TrainingComponent):
    name = "pruning"
    framework = ""

    def __init__(self, config: Any, model: Any, *, tolerance: float = 0.01) -> None:
        self.config = config
        self.model = model
        self.tolerance = tolerance
        self.pruners = config.resolved_pruners()
        self.plans: list[PrunerPlan] | None = None
        self.skipped: list[SkippedOp] = []  # ops a pattern cannot cut, left dense (selection.py)
        self.step = -1
        self._pending: list[PrunerPlan] = []
        self._attached = False
        self._finished = False
        self._shrink_report: dict[str, Any] = {"applied": False, "reason": "no channel pattern in this config"}

    # --- framework parts ------------------------------------------------------------------------

    @abstractmethod
    def list_ops(self, model: Any) -> list[OpInfo]:
        """Every prunable op of ``model`` in model order."""

    @abstractmethod
    def attach(self, model: Any) -> None:
        """Hold the selected weights, set up criteria (and channel chains) for ``self.plans``."""

    @abstractmethod
    def accumulate_scores(self) -> None:
        """Called before every optimizer step (gradients present): momentum criteria update here."""

    @abstractmethod
    def scores(self, plan: PrunerPlan) -> dict[str, Any]:
        """Per-op numpy scores in weight shape for ``plan``'s criterion (latest gradients seen)."""

    @abstractmethod
    def push_masks(self, plan: PrunerPlan) -> None:
        """Copy ``plan``'s applied masks to the framework side."""

    @abstractmethod
    def apply_masks(self) -> None:
        """Multiply masks into the weights in place."""

    @abstractmethod
    def zero_masked_grads(self) -> None:
        """Zero the gradients of pruned weights."""

    @abstractmethod
    def finish(self, model: Any) -> Any:
        """Drop masks/hooks; shrink channel-pruned ops when asked; return the model to expose."""

    # --- hooks ---------------------------------------------------------------------------------

    def validate(self, model: Any) -> None:
        first_set = bool(self.config.pruning_configs and self.config.pruning_configs[0])
        selections, self.skipped = select_ops(self.pruners, self.list_ops(model), first_set)
        self.plans = [PrunerPlan(i, p, ops) for i, (p, ops) in enumerate(zip(self.pruners, selections, strict=True))]

    def _ensure_attached(self) -> None:
        if self._attached:
            return
        if self.plans is None:
            self.validate(self.model)
        self.attach(self.model)
        self._attached = True

    def on_train_begin(self, model: Any) -> None:
        if model is not None and model is not self.model:
            self.model, self._attached, self.plans = model, False, None
        self._ensure_attached()

    def on_epoch_begin(self, epoch: int) -> None:
        self._ensure_attached()

    def on_step_begin(self, step: int) -> None:
        self._ensure_attached()
        self._resolve_pending()
        self.step += 1
        for plan in self.plans:
            if plan.progressive_step(self.step):
                self.push_masks(plan)
            if plan.is_event(self.step):
                self._pending.append(plan)
        self.apply_masks()

    def on_before_optimizer_step(self) -> None:
        self._ensure_attached()
        self.accumulate_scores()
        self._resolve_pending()
        self.zero_masked_grads()

    def on_after_optimizer_step(self) -> None:
        self.apply_masks()

    def on_step_end(self) -> None:
        self._resolve_pending()
        self.apply_masks()

    def on_epoch_end(self) -> None:
        self.apply_masks()

    def on_train_end(self, model: Any) -> Any:
        self._ensure_attached()
        self._resolve_pending()
        self.apply_masks()
        self._finished = True
        if not any(p.pattern.text in CHANNEL_PATTERNS for p in self.plans):
            self.finish(None)
            return model if model is not None else self.model
        return self.finish(model if model is not None else self.model)

    def _resolve_pending(self) -> None:
        for plan in self._pending:
            plan.update(self.step, self.scores(plan))
            self.push_masks(plan)
            log.debug("pruner %d: step %d → sparsity %.4f", plan.index, self.step, plan.scheduled)
        if self._pending:
            self.apply_masks()
        self._pending = []

    # --- report --------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        if not self.plans:
            return {
                "component": self.name,
                "framework": self.framework,
                "steps": self.step + 1,
                "pruners": [],
                "ops": [],
                "skipped_ops": [op.to_dict() for op in self.skipped],
            }
        reports = [plan.report(self.tolerance) for plan in self.plans]
        return {
            "component": self.name,
            "framework": self.framework,
            "steps": self.step + 1,
            "finished": self._finished,
            "tolerance": self.tolerance,
            "target_met": all(r["pruner"]["target_met"] for r in reports),
            "pruners": [r["pruner"] for r in reports],
            "ops": [op for r in reports for op in r["ops"]],
            "skipped_ops": [op.to_dict() for op in self.skipped],
            "shrink": self._shrink_report,
        }
