"""The plan sequences strategies share: one step down (static -> dynamic int8 -> fp32), role groups, and the
x1.5-then-bisect search for the fewest ranked ops to change."""

from __future__ import annotations

from compressor.algorithms.ptq.algorithm import FP32, OpInfo, OpQuant, Plan
from compressor.config.frozen import FrozenDict
from compressor.tuning.space import OpChoices, TuningSpace
from compressor.tuning.strategies._steps import (
    can_demote_to_dynamic,
    demoted,
    demotion,
    group_steps,
    smallest_prefix,
)

STATIC = OpQuant()
STATIC_PC = OpQuant(weight_granularity="per_channel")
DYNAMIC = OpQuant(activation_mode="dynamic")
DYNAMIC_PC = OpQuant(weight_granularity="per_channel", activation_mode="dynamic")


def space(n: int = 8, groups: dict | None = None, frozen: tuple[str, ...] = ()) -> TuningSpace:
    """``n`` ops: op0..op{n-2} weighted (static or dynamic int8), the last one an activation MatMul
    (static only); ops in ``frozen`` may not be fp32."""
    ops = []
    for i in range(n):
        weighted = i < n - 1
        options = (STATIC, STATIC_PC, DYNAMIC, DYNAMIC_PC) if weighted else (STATIC,)
        info = OpInfo(f"op{i}", "MatMul", has_weight=weighted)
        ops.append(OpChoices(info, FrozenDict(static=options), fp32_allowed=f"op{i}" not in frozen))
    return TuningSpace(
        ops=tuple(ops),
        approaches=("static",),
        calibrations=("minmax",),
        formats=FrozenDict(static=("QDQ",)),
        smooth_quant_alphas=(None,),
        groups=FrozenDict((k, tuple(v)) for k, v in (groups or {}).items()),
    )


def test_one_step_down_is_dynamic_int8_then_fp32():
    s = space(frozen=("op2",))
    plan = s.plan().with_ops(op1=STATIC_PC)
    assert demotion(s, plan, "op0") == DYNAMIC
    assert demotion(s, plan, "op1") == DYNAMIC_PC  # the weight granularity is kept
    assert demotion(s, plan.with_ops(op0=DYNAMIC), "op0") == FP32
    assert demotion(s, plan, "op7") == FP32  # an activation MatMul has no dynamic form
    assert demotion(s, plan.with_ops(op2=DYNAMIC), "op2") == DYNAMIC  # may not be fp32: stays
    assert can_demote_to_dynamic(s, plan)
    all_dynamic = demoted(s, plan, [f"op{i}" for i in range(7)])
    assert all_dynamic.dynamic_ops == tuple(f"op{i}" for i in range(7))
    assert not can_demote_to_dynamic(s, all_dynamic)


class Judge:
    """A stand-in for a strategy: a plan meets when at least ``needed`` ops are fp32."""

    def __init__(self, needed: int) -> None:
        self.needed = needed

    def met(self, plan: Plan) -> bool:
        return len(plan.fallback_ops) >= self.needed


def prefix_sizes(needed: int, n: int = 7) -> list[int]:
    s = space(n + 1)
    ranked = [f"op{i}" for i in range(n)]
    plans = smallest_prefix(Judge(needed), lambda k: s.plan().with_fallback(*ranked[:k]), n)
    return [len(p.fallback_ops) for p in plans]


def test_fewest_ranked_changes_grow_by_half_then_bisect():
    assert prefix_sizes(7, n=40) == [1, 2, 3, 5, 8, 6, 7]
    assert prefix_sizes(1) == [1]
    assert prefix_sizes(40, n=40) == [1, 2, 3, 5, 8, 12, 18, 27, 40, 33, 36, 38, 39]
    assert prefix_sizes(99, n=40) == [1, 2, 3, 5, 8, 12, 18, 27, 40]  # never met: ends after n
    # a plan with every op in fp32 is never proposed
    s = space(2)
    every = list(smallest_prefix(Judge(9), lambda k: s.plan().with_fallback(*["op0", "op1"][:k]), 2))
    assert [p.fallback_ops for p in every] == [("op0",)]


def test_small_role_groups_step_down_together():
    s = space(9, groups={"scores": ["op8", "op7"], "values": ["op5", "op6"], "linear": [f"op{i}" for i in range(5)]})
    base = s.plan()
    steps = [(p.fallback_ops, p.dynamic_ops) for p in group_steps(s, base)]
    # groups of at most a quarter of the ops, smallest first, then together; the linears are too many
    assert steps == [
        (("op8",), ("op7",)),  # the activation MatMul has no dynamic form: fp32
        ((), ("op5", "op6")),
        (("op8",), ("op5", "op6", "op7")),
    ]
