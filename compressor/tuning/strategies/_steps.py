"""Plan sequences shared by several strategies (each strategy module stays a short recipe)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from ...algorithms.ptq.algorithm import FP32, OpQuant, Plan
from ..sensitivity import rank_ops
from ..space import TuningSpace
from .base import SequentialStrategy

# Per-op option fields whose alternatives are tried model-wide as "knob variants".
OPTION_FIELDS = ("weight_granularity", "weight_scheme", "activation_scheme", "activation_mode")


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


def demotion(space: TuningSpace, plan: Plan, op: str) -> OpQuant:
    """The next step down for ``op`` towards fp32: a static int8 op goes to dynamic int8 (weights still int8,
    its input quantized at run time; same weight options where offered) when the backend offers that in the
    plan's approach, anything else goes to fp32 (when allowed)."""
    choice, current = space.op(op), plan.ops[op]
    if current.quantized and not current.dynamic:
        dynamic = [o for o in choice.options(plan.approach) if o.dynamic]
        same = [o for o in dynamic if o.weight_granularity == current.weight_granularity]
        if dynamic:
            return (same or dynamic)[0]
    return FP32 if choice.fp32_allowed else current


def can_demote_to_dynamic(space: TuningSpace, plan: Plan) -> bool:
    """Some op still static int8 in ``plan`` could run dynamic int8 instead."""
    return any(not plan.ops[op].dynamic and demotion(space, plan, op).dynamic for op in plan.quantized_ops)


def demoted(space: TuningSpace, base: Plan, ops: Sequence[str]) -> Plan:
    """``base`` with each of ``ops`` one step down (``demotion``)."""
    return base.with_ops(**{op: demotion(space, base, op) for op in ops})


def group_steps(space: TuningSpace, base: Plan) -> Iterator[Plan]:
    """``base`` with one small op group (at most a quarter of the tunable ops: a transformer's attention
    MatMuls, not its linears) one step down, smallest groups first, then all of those groups at once."""
    limit = max(1, len(space.tunable_ops(base.approach)) // 4)
    small = sorted((ops for ops in space.groups.values() if len(ops) <= limit), key=len)
    for ops in small:
        yield demoted(space, base, [op for op in ops if base.ops[op].quantized])
    if len(small) > 1:
        yield demoted(space, base, [op for ops in small for op in ops if base.ops[op].quantized])


def smallest_prefix(strategy: SequentialStrategy, make: Callable[[int], Plan], n: int) -> Iterator[Plan]:
    """``make(k)`` for k = 1, 2, 3, 5, 8, 12, ... (x1.5, capped at ``n``) until a plan meets the criterion,
    then bisection between the last k that did not and the first that did, for the smallest k that meets:
    about 10 trials for MiniLM's 49 ops where one k at a time needs up to 49. With ``timeout=0`` the tuner
    stops at the first plan that meets, so the result has at most 1.5x the fewest changes that would have
    met; with a time budget the bisection finds that fewest. Plans with every op in fp32 are not quantized
    models and are never proposed."""
    low, k = 0, 1  # low: the largest k known not to meet
    while True:
        k = min(k, n)
        plan = make(k)
        if plan.all_fp32:
            return
        yield plan
        if strategy.met(plan):
            break
        if k == n:
            return
        low, k = k, max(k + 1, (3 * k + 1) // 2)
    high = k
    while high - low > 1:
        middle = (low + high) // 2
        plan = make(middle)
        yield plan
        if strategy.met(plan):
            high = middle
        else:
            low = middle


def fallback_sets(space: TuningSpace, base: Plan) -> Iterator[Plan]:
    """``base``'s knobs and int8 options with every set of its tunable ops in fp32, one op first, then two...
    (never all of them): the whole fallback space, lazily, most int8 first."""
    ops = space.tunable_ops(base.approach)
    full = base.with_ops(**{op: _first_int8(space, base, op) for op in ops})
    for k in range(1, len(ops)):
        for names in itertools.combinations(ops, k):
            yield full.with_fallback(*names)


def _first_int8(space: TuningSpace, base: Plan, op: str) -> OpQuant:
    current = base.ops[op]
    return current if current.quantized else space.op(op).options(base.approach)[0]


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
