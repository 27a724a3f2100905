"""Training-time configs of the 2.x API: weight pruning and distillation (QAT's config is in ``quantization``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..algorithms.pruning.patterns import parse_pattern
from ..errors import ConfigError
from . import checks as ck
from .base import Config, nested
from .frozen import FrozenDict, freeze

PRUNING_TYPES = ("magnitude", "snip", "snip_momentum", "snip_momentum_progressive")
PRUNING_SCOPES = ("global", "local")
DECAY_TYPES = ("exp", "linear", "cos", "cube")
PRUNING_OP_TYPES = ("Conv", "Linear")


def pattern(field_name: str, value: Any) -> str:
    """A pruning pattern name, checked by the pruning algorithm's own grammar (``parse_pattern``)."""
    parse_pattern(value, field_name)
    return value


_sparsity = ck.number(0.0, 1.0, max_inclusive=False)
_regexes = ck.one_or_many(ck.regex)

# One validator per pruner key; the same keys are the top-level defaults of WeightPruningConfig.
PRUNER_KEYS: dict[str, ck.Check] = {
    "target_sparsity": _sparsity,
    "pruning_type": ck.choice(*PRUNING_TYPES),
    "pattern": pattern,
    "op_names": _regexes,
    "excluded_op_names": _regexes,
    "start_step": ck.integer(0),
    "end_step": ck.integer(0),
    "pruning_scope": ck.choice(*PRUNING_SCOPES),
    "pruning_frequency": ck.integer(1),
    "min_sparsity_ratio_per_op": _sparsity,
    "max_sparsity_ratio_per_op": _sparsity,
    "sparsity_decay_type": ck.choice(*DECAY_TYPES),
    "pruning_op_types": ck.one_or_many(ck.choice(*PRUNING_OP_TYPES), allow_empty=False),
}


def _pruner_list(field_name: str, value: Any) -> tuple:
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(field_name, value, "a list of pruner dicts")
    pruner = ck.keyed(PRUNER_KEYS)
    out = [pruner(f"{field_name}[{i}]", entry) for i, entry in enumerate(value)]
    return tuple(out) if out else (FrozenDict(),)


def _check(name: str) -> Any:
    return field(metadata={"check": PRUNER_KEYS[name]})


@dataclass(frozen=True)
class WeightPruningConfig(Config):
    """Pruning settings; ``pruning_configs`` entries override the top-level defaults per pruner.

    Keys missing from a pruner dict are complemented by the top-level values (``resolved_pruners``).
    """

    pruning_configs: tuple = field(default=(FrozenDict(),), metadata={"check": _pruner_list})
    target_sparsity: float = field(default=0.9, metadata={"check": _sparsity})
    pruning_type: str = field(default="snip_momentum", metadata={"check": PRUNER_KEYS["pruning_type"]})
    pattern: str = field(default="4x1", metadata={"check": pattern})
    op_names: tuple = field(default=(), metadata={"check": _regexes})
    excluded_op_names: tuple = field(default=(), metadata={"check": _regexes})
    start_step: int = field(default=0, metadata={"check": PRUNER_KEYS["start_step"]})
    end_step: int = field(default=0, metadata={"check": PRUNER_KEYS["end_step"]})
    pruning_scope: str = field(default="global", metadata={"check": PRUNER_KEYS["pruning_scope"]})
    pruning_frequency: int = field(default=1, metadata={"check": PRUNER_KEYS["pruning_frequency"]})
    min_sparsity_ratio_per_op: float = field(default=0.0, metadata={"check": _sparsity})
    max_sparsity_ratio_per_op: float = field(default=0.98, metadata={"check": _sparsity})
    sparsity_decay_type: str = field(default="exp", metadata={"check": PRUNER_KEYS["sparsity_decay_type"]})
    pruning_op_types: tuple = field(default=("Conv", "Linear"), metadata={"check": PRUNER_KEYS["pruning_op_types"]})

    def resolved_pruners(self) -> tuple[FrozenDict, ...]:
        """Every pruner with all keys set: its own values first, then the top-level defaults."""
        defaults = {key: getattr(self, key) for key in PRUNER_KEYS}
        return tuple(FrozenDict({**defaults, **dict(p)}) for p in self.pruning_configs)

    def _validate(self) -> None:
        for i, pruner in enumerate(self.resolved_pruners()):
            where = f"pruning_configs[{i}]" if len(self.pruning_configs) > 1 or self.pruning_configs[0] else ""
            prefix = f"{where}." if where else ""
            if pruner["end_step"] < pruner["start_step"]:
                raise ConfigError(
                    f"{prefix}end_step", pruner["end_step"], f"an integer >= start_step ({pruner['start_step']})"
                )
            if pruner["min_sparsity_ratio_per_op"] > pruner["max_sparsity_ratio_per_op"]:
                raise ConfigError(
                    f"{prefix}min_sparsity_ratio_per_op",
                    pruner["min_sparsity_ratio_per_op"],
                    f"a ratio <= max_sparsity_ratio_per_op ({pruner['max_sparsity_ratio_per_op']})",
                )
            if pruner["target_sparsity"] > pruner["max_sparsity_ratio_per_op"]:
                raise ConfigError(
                    f"{prefix}target_sparsity",
                    pruner["target_sparsity"],
                    f"a ratio <= max_sparsity_ratio_per_op ({pruner['max_sparsity_ratio_per_op']})",
                    reason="no op may be pruned beyond max_sparsity_ratio_per_op",
                )


KD_LOSS_TYPES = ("CE", "KL", "MSE")
SELF_KD_LOSS_TYPES = ("L2", "KL", "CE")


def _weights(field_name: str, value: Any) -> tuple:
    weights = ck.one_or_many(ck.number(0.0))(field_name, value)
    if weights and sum(weights) <= 0:
        raise ConfigError(field_name, list(weights), "non-negative weights with a positive sum")
    return weights


@dataclass(frozen=True)
class KnowledgeDistillationLossConfig(Config):
    """Student-vs-label and student-vs-teacher losses, mixed by ``loss_weights``."""

    temperature: float = field(default=1.0, metadata={"check": ck.number(0.0, min_inclusive=False)})
    loss_types: tuple = field(
        default=("CE", "CE"), metadata={"check": ck.one_or_many(ck.choice(*KD_LOSS_TYPES), allow_empty=False)}
    )
    loss_weights: tuple = field(default=(0.5, 0.5), metadata={"check": _weights})

    def _validate(self) -> None:
        if len(self.loss_types) != 2:
            raise ConfigError(
                "loss_types", list(self.loss_types), "two entries: [student-vs-label, student-vs-teacher]"
            )
        if len(self.loss_weights) != len(self.loss_types):
            raise ConfigError(
                "loss_weights", list(self.loss_weights), f"{len(self.loss_types)} weights, one per loss type"
            )


def _layer_mappings(field_name: str, value: Any) -> tuple:
    """Groups of ``[student_layer, teacher_layer]`` pairs, e.g. ``[[["s.1", "t.deep"]]]``."""
    allowed = "a list of groups, each a list of [student_layer, teacher_layer] name pairs"
    if not isinstance(value, (list, tuple)):
        raise ConfigError(field_name, value, allowed)
    groups = []
    for g, group in enumerate(value):
        if not isinstance(group, (list, tuple)) or not group:
            raise ConfigError(f"{field_name}[{g}]", group, allowed)
        pairs = []
        for p, pair in enumerate(group):
            ok = isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(n, str) for n in pair)
            if not ok:
                raise ConfigError(f"{field_name}[{g}][{p}]", pair, "a [student_layer, teacher_layer] pair")
            pairs.append(tuple(pair))
        groups.append(tuple(pairs))
    return tuple(groups)


@dataclass(frozen=True)
class SelfKnowledgeDistillationLossConfig(Config):
    """Self-distillation: deeper blocks teach shallower ones through ``layer_mappings`` groups. With none
    (the default, as seed 001 writes it) nothing is distilled and the loop's loss passes through, with a
    warning naming what to set (``algorithms/distillation/algorithm.py``)."""

    layer_mappings: tuple = field(default=(), metadata={"check": _layer_mappings})
    temperature: float = field(default=1.0, metadata={"check": ck.number(0.0, min_inclusive=False)})
    loss_types: tuple = field(default=(), metadata={"check": ck.one_or_many(ck.choice(*SELF_KD_LOSS_TYPES))})
    loss_weights: tuple = field(default=(), metadata={"check": _weights})
    add_origin_loss: bool = field(default=False, metadata={"check": ck.boolean})

    def _validate(self) -> None:
        groups = len(self.layer_mappings)
        for name in ("loss_types", "loss_weights"):
            value = getattr(self, name)
            if value and len(value) != groups:
                raise ConfigError(name, list(value), f"{groups} entries, one per layer_mappings group")


OPTIMIZERS = {
    "SGD": ("learning_rate", "momentum", "nesterov", "weight_decay"),
    "Adam": ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad", "weight_decay"),
    "AdamW": ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad", "weight_decay"),
}
_OPTIMIZER_PARAM_CHECKS = {
    "learning_rate": ck.number(0.0, min_inclusive=False),
    "momentum": ck.number(0.0),
    "nesterov": ck.boolean,
    "weight_decay": ck.number(0.0),
    "beta_1": ck.number(0.0, 1.0, max_inclusive=False),
    "beta_2": ck.number(0.0, 1.0, max_inclusive=False),
    "epsilon": ck.number(0.0, min_inclusive=False),
    "amsgrad": ck.boolean,
}


def optimizer(field_name: str, value: Any) -> FrozenDict:
    """``{"SGD": {"learning_rate": 0.1, ...}}``: exactly one optimizer and its parameters."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ConfigError(field_name, value, f"a dict with exactly one optimizer from {sorted(OPTIMIZERS)}")
    ((name, params),) = value.items()
    if name not in OPTIMIZERS:
        raise ConfigError(f"{field_name} name", name, sorted(OPTIMIZERS))
    spec = {k: _OPTIMIZER_PARAM_CHECKS[k] for k in OPTIMIZERS[name]}
    return freeze({name: ck.keyed(spec)(f"{field_name}.{name}", params or {})})


@dataclass(frozen=True)
class DistillationConfig(Config):
    """Knowledge distillation from ``teacher_model``; the teacher runs in eval mode without gradients."""

    teacher_model: Any = field(default=None, metadata={"check": ck.anything})
    criterion: Config = field(
        default_factory=KnowledgeDistillationLossConfig,
        metadata={"check": nested((KnowledgeDistillationLossConfig, SelfKnowledgeDistillationLossConfig))},
    )
    optimizer: FrozenDict = field(
        default_factory=lambda: freeze({"SGD": {"learning_rate": 0.0001}}), metadata={"check": optimizer}
    )
