"""Validators for the quantization option dicts: ``op_name_dict``, ``op_type_dict`` and ``recipes``.

The op dicts use the 1.x ``op_wise`` form that seed 001 maps them from::

    {"fc1.*": {"activation": {"dtype": ["fp32"]}, "weight": {"dtype": ["fp32"]}}}

Keys are regular expressions (over op names or op types); each tensor kind lists the choices the
tuner may use for matching ops.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, UnknownKeyError
from . import checks as ck
from .frozen import freeze

DTYPES = ("int8", "uint8", "fp32", "bf16", "fp16")
SCHEMES = ("sym", "asym")
GRANULARITIES = ("per_tensor", "per_channel")
ALGORITHMS = ("minmax", "kl", "entropy", "percentile")

_TENSOR_OPTIONS = {
    "dtype": ck.one_or_many(ck.choice(*DTYPES), allow_empty=False),
    "scheme": ck.one_or_many(ck.choice(*SCHEMES), allow_empty=False),
    "granularity": ck.one_or_many(ck.choice(*GRANULARITIES), allow_empty=False),
    "algorithm": ck.one_or_many(ck.choice(*ALGORITHMS), allow_empty=False),
}
_TENSOR_KINDS = ("activation", "weight")


def op_dict(field: str, value: Any) -> Any:
    """``{regex: {"activation"|"weight": {"dtype"|"scheme"|"granularity"|"algorithm": choice(s)}}}``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(field, value, "a dict of {op regex: {'activation': {...}, 'weight': {...}}}")
    out = {}
    for pattern, entry in value.items():
        ck.regex(f"{field} key", pattern)
        where = f"{field}[{pattern!r}]"
        if not isinstance(entry, Mapping) or not entry:
            raise ConfigError(where, entry, "a dict with 'activation' and/or 'weight' settings")
        kinds = {}
        for kind, options in entry.items():
            if kind not in _TENSOR_KINDS:
                raise UnknownKeyError(where, kind, _TENSOR_KINDS)
            kinds[kind] = ck.keyed(_TENSOR_OPTIONS)(f"{where}.{kind}", options)
        out[pattern] = kinds
    return freeze(out)


GRAPH_OPT_LEVELS = ("DISABLE_ALL", "ENABLE_BASIC", "ENABLE_EXTENDED", "ENABLE_ALL")

_SMOOTH_QUANT_ARGS = {
    "alpha": lambda f, v: v if v == "auto" else ck.number(0.0, 1.0)(f, v),
    "folding": ck.boolean,
    "op_types": ck.one_or_many(ck.string),
    "calib_iter": ck.integer(1),
}

RECIPES = {
    "smooth_quant": ck.boolean,
    "smooth_quant_args": ck.keyed(_SMOOTH_QUANT_ARGS),
    "fast_bias_correction": ck.boolean,
    "weight_correction": ck.boolean,
    "gemm_to_matmul": ck.boolean,
    "graph_optimization_level": ck.choice(*GRAPH_OPT_LEVELS),
    "first_conv_or_matmul_quantization": ck.boolean,
    "last_conv_or_matmul_quantization": ck.boolean,
    "pre_post_process_quantization": ck.boolean,
    "add_qdq_pair_to_weight": ck.boolean,
    "dedicated_qdq_pair": ck.boolean,
    "optypes_to_exclude_output_quant": ck.one_or_many(ck.string),
    "layer_wise_quant": ck.boolean,
    "scale_propagation_max_pooling": ck.boolean,
    "scale_propagation_concat": ck.boolean,
}

recipes = ck.keyed(RECIPES)
