"""Which ops each pruner prunes, and every config-vs-model check made before training (no framework).

- ``pruning_op_types``: ``Conv`` selects Conv1d/2d/3d, ``Linear`` selects Linear (the backend sorts
  modules into these kinds; transposed convs are not pruned).
- ``op_names`` / ``excluded_op_names`` are regular expressions applied with ``re.search`` to module
  names (as INC does), so ``"layer1"`` selects ``layer1.0.conv1``; anchor with ``^...$`` for exact
  names. An empty ``op_names`` selects every op of the allowed types. Each regex must match at least
  one op of the model, otherwise it is a typo and a ``ConfigError`` with a did-you-mean.
- An op selected by two pruners goes to the *first* one (first-wins, logged); a pruner left with no
  op is an error.
- The pattern must cut every selected op's weight (e.g. ``4x1`` needs out % 4 == 0).
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


def select_ops(pruners: Sequence[Mapping], ops: Sequence[OpInfo], first_pruner_set: bool) -> list[list[OpInfo]]:
    """The ops of each pruner, in model order; raises ``ConfigError`` for every mistake found."""
    claimed: dict[str, int] = {}
    selections = []
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
        _check_pattern(prefix, pruner["pattern"], chosen)
        for op in chosen:
            claimed[op.name] = index
        selections.append(chosen)
    return selections


def _check_pattern(prefix: str, text: str, ops: Sequence[OpInfo]) -> None:
    pattern = parse_pattern(text)
    for op in ops:
        problem = pattern.problem(op.shape)
        if problem:
            raise ConfigError(
                f"{prefix}pattern",
                text,
                "a pattern that divides every selected op's weight, or exclude the op with excluded_op_names",
                reason=f"op {op.name!r} ({op.module_type}, weight shape {list(op.shape)}): {problem}",
            )
