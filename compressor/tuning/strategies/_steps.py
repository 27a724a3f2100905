"""Plan sequences shared by several strategies (each strategy module stays a short recipe)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from ...algorithms.ptq.algorithm import Plan
from ..sensitivity import rank_ops
from ..space import TuningSpace
from .base import SequentialStrategy

# Per-op option fields whose alternatives are tried model-wide as "knob variants".
OPTION_FIELDS = ("weight_granularity", "weight_scheme", "activation_scheme")


def knob_variants(space: TuningSpace, base: Plan) -> Iterator[Plan]:
    """Plans that differ from ``base`` in one global knob or one model-wide op option."""
    for calibration in space.calibrations_for(base.approach):
        yield replace(base, calibration=calibration)
    for fmt in space.formats[base.approach]:
        yield replace(base, quant_format=fmt)
    for alpha in space.smooth_quant_alphas:
        yield replace(base, smooth_quant_alpha=alpha)
    for field in OPTION_FIELDS:
        for value in _option_values(space, base.approach, field):
            yield _with_preference(space, base, {field: value})
    for approach in space.approaches:
        if approach != base.approach:
            yield space.plan(approach, fallback=base.fallback_ops)


def _option_values(space: TuningSpace, approach: str, field: str) -> list[str]:
    values: list[str] = []
    for choice in space.ops:
        for option in choice.options(approach):
            value = getattr(option, field)
            if value not in values:
                values.append(value)
    return values


def _with_preference(space: TuningSpace, base: Plan, prefer: dict[str, str]) -> Plan:
    """``base`` with each quantized op moved to its option matching ``prefer`` (other fields kept)."""
    ops = {}
    for choice in space.ops:
        current = base.ops[choice.name]
        if not current.quantized:
            ops[choice.name] = current
            continue
        wanted = {**{f: getattr(current, f) for f in OPTION_FIELDS}, **prefer}
        options = choice.options(base.approach)
        exact = [o for o in options if all(getattr(o, f) == v for f, v in wanted.items())]
        loose = [o for o in options if all(getattr(o, f) == v for f, v in prefer.items())]
        ops[choice.name] = (exact or loose or [current])[0]
    return base.with_ops(**ops)


def single_fallbacks(space: TuningSpace, base: Plan) -> list[tuple[str, Plan]]:
    """(op, ``base`` with only that op moved to fp32) for every tunable op still quantized in ``base``."""
    quantized = set(base.quantized_ops)
    return [(op, base.with_fallback(op)) for op in space.tunable_ops(base.approach) if op in quantized]


def cumulative_fallbacks(base: Plan, ranked: Sequence[str], start: int = 1) -> Iterator[Plan]:
    """``base`` with the first k ops of ``ranked`` in fp32, for k = start .. len(ranked).

    A plan with every op in fp32 is not a quantized model, so it is never proposed.
    """
    for k in range(start, len(ranked) + 1):
        plan = base.with_fallback(*ranked[:k])
        if not plan.all_fp32:
            yield plan


def sensitivity_ranking(strategy: SequentialStrategy, plan: Plan) -> list[str]:
    """Tunable ops still quantized in ``plan``, most harmful first by the op-output MSE oracle."""
    errors = strategy.op_sensitivity(plan)
    quantized = set(plan.quantized_ops)
    candidates = [op for op in strategy.space.tunable_ops(plan.approach) if op in quantized]
    return rank_ops(errors, strategy.space.op_names, candidates)


def basic_sequence(strategy: SequentialStrategy) -> Iterator[Plan]:
    """INC's basic: default, knob variants, single-op fallbacks on the best, then accumulate them."""
    space = strategy.space
    default = space.default_plan()
    variants = [default, *knob_variants(space, default)]
    yield from variants
    best = strategy.best_trial([p.key for p in variants])
    base = best.plan if best is not None else default
    singles = single_fallbacks(space, base)
    for _, plan in singles:
        yield plan
    # The fallbacks that helped most first; ties keep model order (sorted is stable).
    ranked = [op for op, plan in sorted(singles, key=lambda item: strategy.loss_of(item[1]))]
    yield from cumulative_fallbacks(base, ranked, start=2)
