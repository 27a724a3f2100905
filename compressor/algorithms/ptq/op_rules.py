"""``op_type_dict`` / ``op_name_dict`` (the 1.x ``op_wise`` form) applied to a model's ops.

Each key is a regular expression matched against the whole op type or op name (``re.fullmatch``);
each value restricts what the tuner may choose for matching ops::

    {"fc1.*": {"activation": {"dtype": ["fp32"]}, "weight": {"dtype": ["fp32"]}}}

Precedence follows 1.x: type rules first, then name rules, later settings replacing earlier ones field
by field. A pattern that matches nothing is an error, never silently ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError, did_you_mean
from .algorithm import CALIBRATIONS, OpInfo, OpQuant

log = logging.getLogger(__name__)

_INT8 = ("int8", "uint8")
# bf16/fp16 are not plan choices of PTQ tuning: an op restricted to them stays unquantized (fp32).
_FLOAT = ("fp32", "bf16", "fp16")
_ALGORITHM_ALIASES = {"kl": "entropy"}
_SHOWN_NAMES = 12


@dataclass(frozen=True)
class OpRule:
    """The merged restrictions for one op; empty means "no restriction"."""

    rule: Mapping[str, Mapping[str, tuple]]
    sources: tuple[str, ...] = ()

    def get(self, kind: str, field: str) -> tuple | None:
        value = self.rule.get(kind, {}).get(field)
        return tuple(value) if value is not None else None


def resolve_rules(ops: Sequence[OpInfo], op_type_dict: Any, op_name_dict: Any) -> dict[str, OpRule]:
    """Per op name, the merged rule of every matching pattern (type rules first, then name rules)."""
    merged: dict[str, dict[str, dict[str, tuple]]] = {op.name: {} for op in ops}
    sources: dict[str, list[str]] = {op.name: [] for op in ops}
    for field, table, attr in (("op_type_dict", op_type_dict, "op_type"), ("op_name_dict", op_name_dict, "name")):
        for pattern, entry in (table or {}).items():
            hits = [op for op in ops if _matches(pattern, getattr(op, attr))]
            if not hits:
                raise unmatched_pattern(field, pattern, [getattr(op, attr) for op in ops])
            for op in hits:
                for kind, options in entry.items():
                    merged[op.name].setdefault(kind, {}).update({k: tuple(v) for k, v in options.items()})
                sources[op.name].append(f"{field}[{pattern!r}]")
    return {name: OpRule(rule, tuple(sources[name])) for name, rule in merged.items()}


def _matches(pattern: str, text: str) -> bool:
    return pattern == text or re.fullmatch(pattern, text) is not None


def unmatched_pattern(field: str, pattern: str, names: Sequence[str]) -> ConfigError:
    unique = list(dict.fromkeys(names))
    shown = ", ".join(repr(n) for n in unique[:_SHOWN_NAMES])
    if len(unique) > _SHOWN_NAMES:
        shown += f", ... ({len(unique)} in all)"
    what = "op types" if field == "op_type_dict" else "op names"
    literal = re.sub(r"[\\^$.*+?()\[\]{}|]", "", pattern)
    suggestion = did_you_mean(pattern, unique) or (did_you_mean(literal, unique) if literal else None)
    return ConfigError(
        f"{field}[{pattern!r}]",
        pattern,
        f"a regular expression matching whole {what} of this model: {shown}" if unique else "no ops in this model",
        reason=f"the pattern matches no {what[:-1]}",
        suggestion=suggestion,
    )


def dtype_freedom(op: OpInfo, rule: OpRule) -> tuple[bool, bool]:
    """(may be int8, may stay fp32) from the rule's dtype lists; both lists must allow a choice."""
    int8_ok = fp32_ok = True
    for kind in ("activation", "weight"):
        if kind == "weight" and not op.has_weight:
            continue
        dtypes = rule.get(kind, "dtype")
        if dtypes is None:
            continue
        int8_ok &= any(d in _INT8 for d in dtypes)
        fp32_ok &= any(d in _FLOAT for d in dtypes)
    if not int8_ok and not fp32_ok:
        raise ConfigError(
            " and ".join(rule.sources) or "op dicts",
            dict(rule.rule),
            "dtype lists that agree on int8 or fp32 for both activation and weight",
            reason=f"op {op.name!r} can be neither int8 nor fp32 under these rules",
        )
    return int8_ok, fp32_ok


def filter_options(op: OpInfo, options: Sequence[OpQuant], rule: OpRule) -> tuple[OpQuant, ...]:
    """The backend's int8 options for ``op`` that the rule's scheme/granularity lists allow."""
    checks = [("activation", "scheme", "activation_scheme")]
    if op.has_weight:
        checks += [("weight", "scheme", "weight_scheme"), ("weight", "granularity", "weight_granularity")]
    kept = list(options)
    for kind, field, attr in checks:
        allowed = rule.get(kind, field)
        if allowed is not None:
            kept = [o for o in kept if getattr(o, attr) in allowed]
    if rule.get("activation", "granularity") is not None:
        log.debug("op %s: activation granularity is not a plan choice; ignored", op.name)
    return tuple(kept)


def calibration_methods(op_type_dict: Any, op_name_dict: Any) -> tuple[str, ...]:
    """Calibration methods allowed by every activation ``algorithm`` list (``kl`` means entropy)."""
    allowed = list(CALIBRATIONS)
    sources = []
    for field, table in (("op_type_dict", op_type_dict), ("op_name_dict", op_name_dict)):
        for pattern, entry in (table or {}).items():
            algorithms = entry.get("activation", {}).get("algorithm")
            if algorithms is None:
                continue
            wanted = {_ALGORITHM_ALIASES.get(a, a) for a in algorithms}
            allowed = [c for c in allowed if c in wanted]
            sources.append(f"{field}[{pattern!r}].activation.algorithm")
    if not allowed:
        raise ConfigError(
            " and ".join(sources),
            "no common calibration method",
            list(CALIBRATIONS),
            reason="the activation algorithm lists have no method in common",
        )
    return tuple(allowed)
