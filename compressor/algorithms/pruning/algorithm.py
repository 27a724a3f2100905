"""One pruner's state: events, masks, progressive sub-steps and its report (numpy, no framework).

Masks are kept on the 2-D view of each weight (see ``patterns``); ``True`` keeps a weight.
Pruning is monotone: a weight pruned at one event stays pruned (its score becomes ``-inf``), so the
reached sparsity never goes down and the last event's target is what the model ends with.

``snip_momentum_progressive`` (INC's progressive pruning, an approximation): at each event the new
masks are computed as for ``snip_momentum``, but the units they newly remove are ranked across all
the pruner's ops by score per element and removed in ``PROGRESSIVE_STEPS`` (4) equal parts, one every
``pruning_frequency // 4`` steps, the lowest-scored first. The last event (``end_step``) is applied
whole so the target is reached at ``end_step``. Windows of at most 4 steps or a frequency below 2 fall
back to plain ``snip_momentum`` (as INC does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .allocation import SCOPES, OpUnits
from .patterns import from_2d, parse_pattern, to_2d, view_shape
from .schedule import Schedule
from .selection import OpInfo

#: pruning_type → the criterion that scores weights
CRITERION_OF = {
    "magnitude": "magnitude",
    "snip": "snip",
    "snip_momentum": "snip_momentum",
    "snip_momentum_progressive": "snip_momentum",
}
PROGRESSIVE_TYPES = ("snip_momentum_progressive",)


class PrunerPlan:
    def __init__(self, index: int, pruner: Mapping[str, Any], ops: Sequence[OpInfo]) -> None:
        self.index = index
        self.pruner = pruner
        self.ops = list(ops)
        self.pattern = parse_pattern(pruner["pattern"])
        self.schedule = Schedule(
            target=float(pruner["target_sparsity"]),
            start=int(pruner["start_step"]),
            end=int(pruner["end_step"]),
            frequency=int(pruner["pruning_frequency"]),
            decay=pruner["sparsity_decay_type"],
        )
        self.criterion = CRITERION_OF[pruner["pruning_type"]]
        self.progressive = (
            pruner["pruning_type"] in PROGRESSIVE_TYPES and self.schedule.progressive_interval() is not None
        )
        self.masks = {op.name: np.ones(view_shape(op.shape), dtype=bool) for op in self.ops}
        self.applied = {name: mask.copy() for name, mask in self.masks.items()}
        self.scheduled = 0.0
        self.events_done: list[int] = []
        self._progress: dict[str, Any] | None = None

    # --- events -------------------------------------------------------------------------------

    def is_event(self, step: int) -> bool:
        return self.schedule.is_event(step)

    def update(self, step: int, scores: Mapping[str, np.ndarray]) -> None:
        """Recompute masks at event ``step`` from per-weight ``scores`` (each in the weight's shape)."""
        target = self.schedule.sparsity_at(step)
        views, units = {}, []
        for op in self.ops:
            view = to_2d(np.asarray(scores[op.name], dtype=np.float64)).copy()
            view[~self.masks[op.name]] = -np.inf
            views[op.name] = view
            units.append(OpUnits(self.pattern.unit_scores(view, op.shape), self.pattern.unit_size(op.shape), op.numel))
        pruned = SCOPES[self.pruner["pruning_scope"]](
            units,
            target,
            float(self.pruner["min_sparsity_ratio_per_op"]),
            float(self.pruner["max_sparsity_ratio_per_op"]),
        )
        new = {
            op.name: self.pattern.keep_mask(views[op.name], op.shape, p) & self.masks[op.name]
            for op, p in zip(self.ops, pruned, strict=True)
        }
        self.scheduled = target
        self.events_done.append(step)
        if self.progressive and step < self.schedule.end:
            self._start_progressive(step, new, units)
        else:
            self._progress = None
            self.applied = {name: mask.copy() for name, mask in new.items()}
        self.masks = new

    def _start_progressive(self, step: int, new: Mapping[str, np.ndarray], units: Sequence[OpUnits]) -> None:
        ranked = []  # (score per element, op position, unit id)
        for i, (op, u) in enumerate(zip(self.ops, units, strict=True)):
            delta = self.applied[op.name] & ~new[op.name]
            for unit in np.unique(self.pattern.unit_ids(op.shape)[delta]):
                ranked.append((u.scores[unit] / u.unit_size, i, int(unit)))
        ranked.sort(key=lambda r: (r[0], r[1], r[2]))
        self._progress = {
            "event": step,
            "prev": {name: m.copy() for name, m in self.applied.items()},
            "new": new,
            "ranked": ranked,
            "parts": self.schedule.progressive_parts(),
            "interval": self.schedule.progressive_interval(),
        }
        self._apply_part(0)

    def _apply_part(self, part: int) -> None:
        p = self._progress
        take = math.ceil((part + 1) / p["parts"] * len(p["ranked"]))
        chosen: dict[int, list[int]] = {}
        for _, i, unit in p["ranked"][:take]:
            chosen.setdefault(i, []).append(unit)
        for i, op in enumerate(self.ops):
            ids = self.pattern.unit_ids(op.shape)
            removed = ~p["new"][op.name] & np.isin(ids, chosen.get(i, []))
            self.applied[op.name] = p["prev"][op.name] & ~removed

    def progressive_step(self, step: int) -> bool:
        """Apply a progressive sub-step due at ``step``; True when the applied masks changed."""
        p = self._progress
        if p is None:
            return False
        offset = step - p["event"]
        if offset <= 0 or offset % p["interval"]:
            return False
        part = offset // p["interval"]
        if part >= p["parts"]:
            return False
        self._apply_part(part)
        return True

    # --- results ------------------------------------------------------------------------------

    def mask(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The applied keep-mask of op ``name`` in its weight's own shape."""
        return from_2d(self.applied[name], shape)

    def report(self, tolerance: float) -> dict[str, Any]:
        target = self.schedule.target
        reachable = min(target, self.pattern.max_sparsity)
        ops, zeros, total = [], 0, 0
        for op in self.ops:
            pruned = int(np.count_nonzero(~self.applied[op.name]))
            zeros += pruned
            total += op.numel
            op_target = min(target, float(self.pruner["max_sparsity_ratio_per_op"]), self.pattern.max_sparsity)
            ops.append(
                {
                    "op": op.name,
                    "type": op.module_type,
                    "shape": list(op.shape),
                    "pruner": self.index,
                    "pattern": self.pattern.text,
                    "target_sparsity": op_target if self.pruner["pruning_scope"] == "local" else target,
                    "reached_sparsity": pruned / op.numel,
                }
            )
        reached = zeros / total if total else 0.0
        entry = {
            "index": self.index,
            "pattern": self.pattern.text,
            "pruning_type": self.pruner["pruning_type"],
            "pruning_scope": self.pruner["pruning_scope"],
            "target_sparsity": target,
            "reached_sparsity": reached,
            "target_met": reached >= target - tolerance,
            "events": list(self.events_done),
            "ops": [op.name for op in self.ops],
        }
        if reachable < target:
            entry["note"] = f"pattern {self.pattern.text} prunes at most {self.pattern.max_sparsity:.3f} of a weight"
        elif not self.events_done:
            entry["note"] = f"no pruning event ran: training stopped before start_step {self.schedule.start}"
        elif self.events_done[-1] < self.schedule.end:
            entry["note"] = f"training stopped at step {self.events_done[-1]}, before end_step {self.schedule.end}"
        return {"pruner": entry, "ops": ops}
