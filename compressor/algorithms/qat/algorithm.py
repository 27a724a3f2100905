"""Quantization-aware training without a framework import: which ops train with fake quantization.

QAT trains the ops that the *same* int8 path as PTQ will later convert, with the same numbers:
per-channel (or shared-scale) symmetric int8 weights and uint8 affine activations (what the x86 int8
kernels run, see ``ptq/torch/observers.py``). The plan is therefore a PTQ ``Plan`` (approach static):
every op the backend can run in int8 static, minus what ``op_type_dict``/``op_name_dict`` keep in fp32
(1.x ``op_wise`` form, regexes matched against whole names; a pattern matching nothing is an error).
Within an op's allowed options the first one is taken (per-channel weights unless restricted).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ConfigError
from ..ptq.algorithm import FP32, OpInfo, OpQuant, Plan
from ..ptq.op_rules import calibration_methods, dtype_freedom, filter_options, resolve_rules


def qat_plan(ops: Sequence[OpInfo], options: dict[str, Sequence[OpQuant]], config: Any) -> Plan:
    """The plan QAT trains and converts. ``options`` maps op name -> backend's static int8 options."""
    rules = resolve_rules(ops, config.op_type_dict, config.op_name_dict)
    calibration = calibration_methods(config.op_type_dict, config.op_name_dict)[0]
    choices: dict[str, OpQuant] = {}
    for op in ops:
        int8_ok, fp32_ok = dtype_freedom(op, rules[op.name])
        allowed = filter_options(op, options.get(op.name, ()), rules[op.name]) if int8_ok else ()
        if allowed:
            choices[op.name] = allowed[0]
        elif fp32_ok:
            choices[op.name] = FP32
        else:
            raise ConfigError(
                " and ".join(rules[op.name].sources) or "op dicts",
                dict(rules[op.name].rule),
                "options the backend can run in int8 static, or fp32",
                reason=f"op {op.name!r} ({op.op_type}) must be int8 but none of its int8 options is allowed",
            )
    plan = Plan(ops=choices, approach="static", calibration=calibration)
    if plan.all_fp32:
        raise ConfigError(
            "op_name_dict/op_type_dict",
            "every op fp32",
            "rules that leave at least one op to quantize",
            reason="quantization-aware training with every op in fp32 would train nothing to int8",
        )
    return plan
