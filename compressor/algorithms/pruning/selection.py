"""Which ops each pruner prunes, and every config-vs-model check made before training (no framework).

- ``pruning_op_types``: ``Conv`` selects Conv1d/2d/3d, ``Linear`` selects Linear (the backend sorts
  modules into these kinds; transposed convs are not pruned).
- ``op_names`` / ``excluded_op_names`` are regular expressions applied with ``re.search`` to module
  names (as INC does), so ``"layer1"`` selects ``layer1.0.conv1``; anchor with ``^...$`` for exact
  names. An empty ``op_names`` selects every op of the allowed types. Each regex must match at least
  one op of the model, otherwise it is a typo and a ``ConfigError`` with a did-you-mean.
- An op selected by two pruners goes to the *first* one (first-wins, logged); a pruner left with no
  op is an error.
- The pattern must cut an op's weight (e.g. ``4x1`` needs out % 4 == 0). An op the pattern cannot
  cut is *skipped* (left dense, logged, listed in the summary's ``skipped_ops``) when the pruner took
  it implicitly: by an empty ``op_names`` (every op, e.g. a 10-class classifier under the default
  ``4x1``) or by a regex that also matches other ops. An op named exactly (``"fc3"``, ``"^fc3$"``) is
  an explicit request, so a pattern that cannot cut it is a ``ConfigError``; so is a pruner whose
  pattern cuts none of its ops.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...errors import ConfigError, did_you_mean
from .patterns import parse_pattern

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpInfo:
    name: str
    kind: str  # "Conv" | "Linear": the pruning_op_types value that selects it
    module_type: str  # e.g. "Conv2d"
    shape: tuple[int, ...]  # weight shape as the framework stores it ([out, in, *kernel])

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class SkippedOp:
    """An op a pruner selected implicitly but its pattern cannot cut: it stays dense."""

    name: str
    pruner: int
    module_type: str
    shape: tuple[int, ...]
    pattern: str
    reason: str

    def to_dict(self) -> dict:
        return {
            "op": self.name,
            "pruner": self.pruner,
            "type": self.module_type,
            "shape": list(self.shape),
            "pattern": self.pattern,
            "reason": self.reason,
        }


def field_prefix(n_pruners: int, first_pruner_set: bool, index: int) -> str:
    """The same field path ``WeightPruningConfig`` uses in its own errors."""
    return f"pruning_configs[{index}]." if n_pruners > 1 or first_pruner_set else ""


def _examples(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    more = f", … ({len(names)} in all)" if len(names) > limit else ""
    return f"a regex matching op names such as {shown}{more}" if names else "no prunable op exists"


def _check_regexes(field: str, regexes: Sequence[str], names: Sequence[str], kinds: Sequence[str]) -> None:
    for regex in regexes:
        if not any(re.search(regex, name) for name in names):
            raise ConfigError(
                field,
                regex,
                _examples(names),
                reason=f"matches no {'/'.join(kinds)} op of the model",
                suggestion=did_you_mean(regex, names, cutoff=0.5),
            )


def select_ops(
    pruners: Sequence[Mapping], ops: Sequence[OpInfo], first_pruner_set: bool
) -> tuple[list[list[OpInfo]], list[SkippedOp]]:
    """The ops of each pruner, in model order, and the ops skipped because their pruner's pattern cannot
    cut them (see the module docstring); raises ``ConfigError`` for every mistake found."""
    claimed: dict[str, int] = {}
    selections = []
    skipped: list[SkippedOp] = []
    for index, pruner in enumerate(pruners):
        prefix = field_prefix(len(pruners), first_pruner_set, index)
        kinds = tuple(pruner["pruning_op_types"])
        candidates = [op for op in ops if op.kind in kinds]
        names = [op.name for op in candidates]
        _check_regexes(f"{prefix}op_names", pruner["op_names"], names, kinds)
        _check_regexes(
            f"{prefix}excluded_op_names", pruner["excluded_op_names"], [o.name for o in ops], ("Conv", "Linear")
        )

        chosen = []
        for op in candidates:
            if pruner["op_names"] and not any(re.search(r, op.name) for r in pruner["op_names"]):
                continue
            if any(re.search(r, op.name) for r in pruner["excluded_op_names"]):
                continue
            if op.name in claimed:
                log.info("op %s is already pruned by pruning_configs[%d]; skipped here", op.name, claimed[op.name])
                continue
            chosen.append(op)
        if not chosen:
            why = "every op it matches is excluded, of another type, or already taken by an earlier pruner"
            raise ConfigError(
                f"{prefix}op_names",
                list(pruner["op_names"]),
                _examples(names),
                reason=f"this pruner selects no op ({why}; pruning_op_types={list(kinds)})",
            )
        kept = _fit_pattern(prefix, index, pruner, chosen, skipped)
        for op in kept:
            claimed[op.name] = index
        selections.append(kept)
    return selections, skipped


def _named_exactly(regexes: Sequence[str], name: str) -> bool:
    """``name`` is spelled out by one of ``regexes`` (``"fc3"``, ``"^fc3$"``, ``"layer1\\.0"``)."""
    return any(r.removeprefix("^").removesuffix("$").replace("\\", "") == name for r in regexes)


def _fit_pattern(
    prefix: str, index: int, pruner: Mapping, ops: Sequence[OpInfo], skipped: list[SkippedOp]
) -> list[OpInfo]:
    """The ops the pattern can cut; implicitly selected ones it cannot are appended to ``skipped``."""
    text = pruner["pattern"]
    pattern = parse_pattern(text)
    kept, first_problem = [], None
    for op in ops:
        problem = pattern.problem(op.shape)
        if problem is None:
            kept.append(op)
            continue
        reason = f"op {op.name!r} ({op.module_type}, weight shape {list(op.shape)}): {problem}"
        if _named_exactly(pruner["op_names"], op.name):
            raise ConfigError(
                f"{prefix}pattern",
                text,
                "a pattern that divides the weight of every op named in op_names, or drop the op from op_names",
                reason=reason,
            )
        first_problem = first_problem or reason
        skipped.append(SkippedOp(op.name, index, op.module_type, op.shape, text, problem))
    if not kept:
        raise ConfigError(
            f"{prefix}pattern",
            text,
            "a pattern that divides the weight of at least one selected op",
            reason=f"it cuts none of the {len(ops)} op(s) this pruner selects; e.g. {first_problem}",
        )
    mine = [s for s in skipped if s.pruner == index]
    if mine:
        log.warning(
            "%spattern %s cannot cut %d op(s), left dense (see the summary's skipped_ops): %s",
            prefix,
            text,
            len(mine),
            ", ".join(f"{s.name} {list(s.shape)}" for s in mine),
        )
    return kept
