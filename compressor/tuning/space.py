"""The tuning space of one model: per-op choices and the global knobs a plan can take.

Built from the backend (``quantizable_ops``, ``op_options``, ``formats``) and restricted by the
config (``approach``, ``quant_format``, ``op_type_dict``/``op_name_dict``, the SmoothQuant recipe).
Strategies build plans only through ``TuningSpace.plan`` / ``default_plan`` so that every proposal
honours the config; the tuner checks custom strategies' plans with ``check``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..algorithms.ptq import op_rules
from ..algorithms.ptq.algorithm import FP32, OpInfo, OpQuant, Plan
from ..config.frozen import FrozenDict
from ..errors import ConfigError

log = logging.getLogger(__name__)

# With alpha "auto", "no smoothing" stays a candidate: on some models plain per-channel int8 is best.
DEFAULT_SMOOTH_QUANT_ALPHAS = (0.5, 0.65, 0.8, None)
_UNSET: Any = object()


@dataclass(frozen=True)
class OpChoices:
    """What one op may be: its int8 options per approach (best first) and whether fp32 is allowed."""

    op: OpInfo
    int8: FrozenDict  # approach -> tuple[OpQuant, ...]; empty when the op cannot be int8 there
    fp32_allowed: bool = True

    @property
    def name(self) -> str:
        return self.op.name

    def options(self, approach: str) -> tuple[OpQuant, ...]:
        return tuple(self.int8.get(approach, ()))

    def tunable(self, approach: str) -> bool:
        """Both int8 and fp32 are possible, so fallback is a real choice."""
        return bool(self.options(approach)) and self.fp32_allowed

    def choices(self, approach: str) -> tuple[OpQuant, ...]:
        """Every allowed choice: the int8 options, then fp32 (when allowed or the only way)."""
        int8 = self.options(approach)
        return int8 + (FP32,) if (self.fp32_allowed or not int8) else int8


@dataclass(frozen=True)
class TuningSpace:
    """Per-op choices plus the global knobs; every field is immutable."""

    ops: tuple[OpChoices, ...]
    approaches: tuple[str, ...]
    calibrations: tuple[str, ...]
    formats: FrozenDict  # approach -> tuple of formats, best first
    smooth_quant_alphas: tuple  # (None,) when SmoothQuant is off
    # The model-aware first plan: per-op choices (for the first approach) that replace the first int8 option
    # in ``default_plan`` (e.g. a transformer's weights per-channel; "fp32" wishes are allowed too).
    preset: FrozenDict = FrozenDict()
    model_type: str = ""
    # Ops that play one role in the model (the backend's optional ``op_groups``: e.g. a transformer's Q·Kᵀ
    # MatMuls), name -> op names in model order; strategies may move a group in one trial.
    groups: FrozenDict = FrozenDict()

    @property
    def op_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.ops)

    def op(self, name: str) -> OpChoices:
        for choice in self.ops:
            if choice.name == name:
                return choice
        raise ConfigError("op", name, self.op_names)

    def tunable_ops(self, approach: str | None = None) -> tuple[str, ...]:
        """Ops that may be int8 or fp32 under ``approach`` (default: the first approach), model order."""
        approach = approach or self.approaches[0]
        return tuple(c.name for c in self.ops if c.tunable(approach))

    def calibrations_for(self, approach: str) -> tuple[str, ...]:
        """Dynamic quantization has no calibration: only the first method is a meaningful value."""
        return self.calibrations if approach == "static" else self.calibrations[:1]

    def plan(
        self,
        approach: str | None = None,
        calibration: str | None = None,
        quant_format: str | None = None,
        smooth_quant_alpha: Any = _UNSET,
        *,
        prefer: Mapping[str, str] | None = None,
        fallback: Iterable[str] = (),
        quantize: Iterable[str] | None = None,
    ) -> Plan:
        """A plan inside the space.

        Each op takes its first int8 option matching every ``prefer`` field (e.g.
        ``{"weight_granularity": "per_tensor"}``), else its first option. Ops in ``fallback`` stay fp32
        when allowed; with ``quantize`` given, only those ops (and ops that must be int8) are int8.
        Ops that cannot be int8 are always fp32.
        """
        approach = approach or self.approaches[0]
        fallback = set(fallback)
        keep = None if quantize is None else set(quantize)
        ops = {}
        for choice in self.ops:
            options = choice.options(approach)
            wants_fp32 = choice.name in fallback or (keep is not None and choice.name not in keep)
            if not options or (wants_fp32 and choice.fp32_allowed):
                ops[choice.name] = FP32
            else:
                ops[choice.name] = _preferred(options, prefer)
        return Plan(
            ops=FrozenDict(ops),
            approach=approach,
            calibration=calibration or self.calibrations_for(approach)[0],
            quant_format=quant_format or self.formats[approach][0],
            smooth_quant_alpha=self.smooth_quant_alphas[0] if smooth_quant_alpha is _UNSET else smooth_quant_alpha,
        )

    def default_plan(self, approach: str | None = None) -> Plan:
        """The cheapest plan likely to be good: every op at its first int8 option with the default knobs, and
        the backend's preset for this kind of model on top (first approach only)."""
        plan = self.plan(approach)
        if self.preset and (approach or self.approaches[0]) == self.approaches[0]:
            plan = plan.with_ops(**dict(self.preset))
        return plan

    def check(self, plan: Plan) -> None:
        """Raise ``ConfigError`` when ``plan`` leaves the space (e.g. a custom strategy's proposal)."""
        if plan.approach not in self.approaches:
            raise ConfigError("plan.approach", plan.approach, self.approaches)
        if plan.quant_format not in self.formats[plan.approach]:
            raise ConfigError("plan.quant_format", plan.quant_format, self.formats[plan.approach])
        if plan.calibration not in self.calibrations:
            raise ConfigError("plan.calibration", plan.calibration, self.calibrations)
        if plan.smooth_quant_alpha not in self.smooth_quant_alphas:
            raise ConfigError("plan.smooth_quant_alpha", plan.smooth_quant_alpha, self.smooth_quant_alphas)
        if tuple(plan.ops) != self.op_names:
            missing = sorted(set(self.op_names) - set(plan.ops))
            extra = sorted(set(plan.ops) - set(self.op_names))
            raise ConfigError(
                "plan.ops", f"missing {missing}, unknown {extra}", "exactly the model's ops, in model order"
            )
        for choice in self.ops:
            allowed = choice.choices(plan.approach)
            if plan.ops[choice.name] not in allowed:
                raise ConfigError(f"plan.ops[{choice.name!r}]", plan.ops[choice.name], allowed)

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (logged, and stored in the history header)."""
        return {
            "ops": len(self.ops),
            "tunable_ops": list(self.tunable_ops()),
            "forced_fp32": [c.name for c in self.ops if not any(c.int8.values())],
            "approaches": list(self.approaches),
            "calibrations": list(self.calibrations),
            "formats": {a: list(f) for a, f in self.formats.items()},
            "smooth_quant_alphas": list(self.smooth_quant_alphas),
            "model_type": self.model_type,
            "groups": {name: len(ops) for name, ops in self.groups.items()},
            "preset": {op: _short(q) if q.quantized else "fp32" for op, q in self.preset.items()},
        }


def _preferred(options: tuple[OpQuant, ...], prefer: Mapping[str, str] | None) -> OpQuant:
    if prefer:
        for option in options:
            if all(getattr(option, k) == v for k, v in prefer.items()):
                return option
    return options[0]


def build_space(backend: Any, model: Any, conf: Any) -> TuningSpace:
    """The space of ``model`` (already prepared by the backend) under ``conf``."""
    ops = list(backend.quantizable_ops(model))
    if not ops:
        raise ConfigError("model", type(model).__name__, reason="the backend found no quantizable op")
    wanted = ("static", "dynamic") if conf.approach == "auto" else (conf.approach,)
    rules = op_rules.resolve_rules(ops, conf.op_type_dict, conf.op_name_dict)
    choices = []
    for op in ops:
        rule = rules[op.name]
        int8_ok, fp32_ok = op_rules.dtype_freedom(op, rule)
        per_approach = {}
        for approach in wanted:
            offered = tuple(backend.op_options(op, approach)) if int8_ok else ()
            kept = op_rules.filter_options(op, offered, rule)
            if offered and not kept:
                raise ConfigError(
                    " and ".join(rule.sources),
                    dict(rule.rule),
                    [_short(o) for o in offered],
                    reason=f"no {approach} int8 option of op {op.name!r} satisfies these rules",
                )
            per_approach[approach] = kept
        if not fp32_ok and not any(per_approach.values()):
            raise ConfigError(
                " and ".join(rule.sources),
                dict(rule.rule),
                reason=f"op {op.name!r} must be int8 but the backend offers no int8 option for it",
            )
        choices.append(OpChoices(op, FrozenDict(per_approach), fp32_allowed=fp32_ok))
    approaches = tuple(a for a in wanted if any(c.options(a) for c in choices)) or wanted[:1]
    kind, preset = _preset(backend, model, choices, approaches[0])
    space = TuningSpace(
        ops=tuple(choices),
        approaches=approaches,
        calibrations=_calibrations(backend, conf),
        formats=FrozenDict((a, _formats(backend, a, conf.quant_format)) for a in approaches),
        smooth_quant_alphas=smooth_quant_alphas(conf.recipes),
        preset=preset,
        model_type=kind,
        groups=_groups(backend, model, choices, approaches[0]),
    )
    log.info("tuning space: %s", space.describe())
    return space


def _preset(backend: Any, model: Any, choices: list[OpChoices], approach: str) -> tuple[str, FrozenDict]:
    """(model type, {op: choice}) from the backend's optional ``preset(model)``, which returns the model type
    and per-op wishes: ``"fp32"`` or a dict of ``OpQuant`` fields (``{"weight_granularity": "per_channel"}``).
    Where the config (``op_type_dict``/``op_name_dict``) allows only part of a wish, the option granting the
    most of it is taken; a wish it allows nothing of is dropped."""
    if not hasattr(backend, "preset"):
        return "", FrozenDict()
    kind, wishes = backend.preset(model)
    by_name = {c.name: c for c in choices}
    chosen = {}
    for op, wish in wishes.items():
        choice = by_name.get(op)
        if choice is None or not choice.options(approach):
            continue
        if wish == "fp32":
            if choice.tunable(approach):
                chosen[op] = FP32
            continue
        if approach == "dynamic":  # every op of a dynamic plan is dynamic: that wish is already granted
            wish = {k: v for k, v in wish.items() if k != "activation_mode"}
        # the option granting most of the wish (a config rule may forbid part of it), earlier options on ties
        options = choice.options(approach)
        granted = [sum(getattr(o, k) == v for k, v in wish.items()) for o in options]
        if max(granted) > 0:
            chosen[op] = options[granted.index(max(granted))]
    if chosen and all(not q.quantized for q in chosen.values()) and len(chosen) == len(choices):
        return kind, FrozenDict()  # a preset that quantizes nothing is no first plan
    if chosen:
        log.info("%s model: the first plan follows its preset for %d of %d ops", kind, len(chosen), len(choices))
    return kind, FrozenDict((c.name, chosen[c.name]) for c in choices if c.name in chosen)


def _calibrations(backend: Any, conf: Any) -> tuple[str, ...]:
    """The calibration methods the config allows and the backend can run (optional ``calibration_methods()``;
    without it, every method)."""
    allowed = op_rules.calibration_methods(conf.op_type_dict, conf.op_name_dict)
    if not hasattr(backend, "calibration_methods"):
        return allowed
    offered = tuple(backend.calibration_methods())
    kept = tuple(m for m in allowed if m in offered)
    if not kept:
        raise ConfigError(
            "op_type_dict/op_name_dict activation.algorithm",
            list(allowed),
            list(offered),
            reason=f"the {getattr(backend, 'name', 'selected')} backend calibrates with none of these",
        )
    return kept


def _groups(backend: Any, model: Any, choices: list[OpChoices], approach: str) -> FrozenDict:
    """The backend's ``op_groups(model)`` restricted to tunable ops; groups of fewer than two are dropped."""
    if not hasattr(backend, "op_groups"):
        return FrozenDict()
    tunable = [c.name for c in choices if c.tunable(approach)]
    groups = {}
    for name, ops in backend.op_groups(model).items():
        kept = tuple(op for op in tunable if op in set(ops))
        if len(kept) >= 2:
            groups[name] = kept
    return FrozenDict(groups)


def _formats(backend: Any, approach: str, requested: str) -> tuple[str, ...]:
    offered = tuple(backend.formats(approach)) or ("default",)
    if requested == "default":
        return offered
    if requested not in offered:
        raise ConfigError("quant_format", requested, offered, reason=f"not offered for approach={approach!r}")
    return (requested,)


def smooth_quant_alphas(recipes: Mapping[str, Any]) -> tuple:
    """(None,) when SmoothQuant is off; the given alpha, or a few candidates for ``"auto"``/unset."""
    if not recipes.get("smooth_quant"):
        return (None,)
    alpha = (recipes.get("smooth_quant_args") or {}).get("alpha", "auto")
    return DEFAULT_SMOOTH_QUANT_ALPHAS if alpha == "auto" else (float(alpha),)


def _short(option: OpQuant) -> str:
    mode = " dynamic" if option.activation_mode == "dynamic" else ""
    return f"{option.weight_granularity}/{option.weight_scheme} weight, {option.activation_scheme}{mode} activation"
