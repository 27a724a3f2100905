"""Quantization, tuning, accuracy, mixed-precision and benchmark configs of the 2.x API (seed 001).

Names, arguments and defaults follow the seed. Two additions are additive only:
``TuningCriterion.random_seed`` (1.x ``tuning.random_seed``) and the seed's shortcut arguments
(``strategy=``, ``objective=``, ``relative=``, ``timeout=``, ``max_trials=``) on the quantization
configs. Real 2.x releases take those through ``TuningCriterion``/``AccuracyCriterion``; both forms are
accepted, and when both are given the shortcut argument wins (a warning is logged).
"""

from __future__ import annotations

import logging
from dataclasses import KW_ONLY, InitVar, dataclass, field
from typing import Any

from ..errors import ConfigError
from ..tuning.registry import available_strategies
from . import checks as ck
from . import quant_options as qo
from .base import Config, nested
from .frozen import FrozenDict

log = logging.getLogger(__name__)

DEVICES = ("cpu", "gpu", "npu", "xpu")
BACKENDS = (
    "default",
    "ipex",
    "itex",
    "onnxrt_trt_ep",
    "onnxrt_cuda_ep",
    "onnxrt_dnnl_ep",
    "onnxrt_dml_ep",
)
DOMAINS = ("auto", "cv", "object_detection", "nlp", "recommendation_system")
QUANT_FORMATS = ("default", "QDQ", "QOperator")
APPROACHES = ("static", "dynamic", "auto")
OBJECTIVES = ("performance", "accuracy", "modelsize", "footprint")
CRITERIA = ("relative", "absolute")
LOW_PRECISIONS = ("bf16", "fp16")


def _f(default: Any = None, check: ck.Check | None = None, *, factory: Any = None) -> Any:
    """A dataclass field with its validator."""
    meta = {"check": check} if check is not None else {}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


_names = ck.tensor_names
_device = ck.choice(*DEVICES)
_backend = ck.choice(*BACKENDS)
_low_precisions = ck.one_or_many(ck.choice(*LOW_PRECISIONS))


@dataclass(frozen=True)
class AccuracyCriterion(Config):
    """How much accuracy the compressed model may lose against the fp32 baseline."""

    higher_is_better: bool = _f(True, ck.boolean)
    criterion: str = _f("relative", ck.choice(*CRITERIA))
    tolerable_loss: float = _f(0.01, ck.number(0.0))

    def _validate(self) -> None:
        if self.criterion == "relative" and self.tolerable_loss >= 1.0:
            raise ConfigError(
                "tolerable_loss",
                self.tolerable_loss,
                "a fraction in [0, 1) for criterion='relative' (0.01 means 1%)",
            )


@dataclass(frozen=True)
class TuningCriterion(Config):
    """Which strategy explores the tuning space, and when it stops (the 1.x ``exit_policy``)."""

    strategy: str = _f("auto", ck.dynamic_choice(available_strategies))
    strategy_kwargs: Any = _f(None, ck.optional(ck.mapping_of(ck.string, ck.anything)))
    timeout: float = _f(0, ck.number(0.0))
    max_trials: int = _f(100, ck.integer(1))
    objective: str = _f("performance", ck.choice(*OBJECTIVES))
    random_seed: int = _f(1978, ck.integer(0))


def _apply_shortcuts(conf: Any, *, strategy=None, objective=None, timeout=None, max_trials=None, relative=None):
    """Fold the seed's shortcut arguments into the criteria; the explicit shortcut wins."""
    given = {"strategy": strategy, "objective": objective, "timeout": timeout, "max_trials": max_trials}
    given = {k: v for k, v in given.items() if v is not None}
    if given:
        defaults = TuningCriterion()
        for name, value in given.items():
            current = getattr(conf.tuning_criterion, name)
            if current != getattr(defaults, name) and current != value:
                log.warning(
                    "%s=%r overrides tuning_criterion.%s=%r (the shortcut argument wins)",
                    name,
                    value,
                    name,
                    current,
                )
        try:
            tuned = conf.tuning_criterion.replace(**given)
        except ConfigError as exc:
            raise ConfigError(exc.field, exc.value, exc.allowed, suggestion=exc.suggestion) from None
        object.__setattr__(conf, "tuning_criterion", tuned)
    if relative is not None:
        current = conf.accuracy_criterion
        if current != AccuracyCriterion() and current != AccuracyCriterion(
            higher_is_better=current.higher_is_better, tolerable_loss=relative
        ):
            log.warning("relative=%r overrides accuracy_criterion=%r", relative, current)
        try:
            acc = current.replace(criterion="relative", tolerable_loss=relative)
        except ConfigError as exc:
            raise ConfigError("relative", relative, exc.allowed) from None
        object.__setattr__(conf, "accuracy_criterion", acc)


@dataclass(frozen=True)
class _QuantizationConfig(Config):
    """Fields shared by PTQ and QAT."""

    def _post_shortcuts(self, **shortcuts: Any) -> None:
        _apply_shortcuts(self, **shortcuts)


@dataclass(frozen=True)
class PostTrainingQuantConfig(_QuantizationConfig):
    """Post-training quantization (``quantization.fit``)."""

    device: str = _f("cpu", _device)
    backend: str = _f("default", _backend)
    domain: str = _f("auto", ck.choice(*DOMAINS))
    recipes: FrozenDict = _f(factory=FrozenDict, check=qo.recipes)
    quant_format: str = _f("default", ck.choice(*QUANT_FORMATS))
    inputs: tuple = _f((), _names)
    outputs: tuple = _f((), _names)
    approach: str = _f("static", ck.choice(*APPROACHES))
    calibration_sampling_size: tuple = _f((100,), ck.one_or_many(ck.integer(1), allow_empty=False))
    op_type_dict: Any = _f(None, qo.op_dict)
    op_name_dict: Any = _f(None, qo.op_dict)
    reduce_range: bool | None = _f(None, ck.optional(ck.boolean))
    excluded_precisions: tuple = _f((), _low_precisions)
    quant_level: Any = _f("auto", ck.choice("auto", 0, 1))
    tuning_criterion: TuningCriterion = _f(factory=TuningCriterion, check=nested(TuningCriterion))
    accuracy_criterion: AccuracyCriterion = _f(factory=AccuracyCriterion, check=nested(AccuracyCriterion))
    diagnosis: bool = _f(False, ck.boolean)
    ni_workload_name: str = _f("quantization", ck.string)
    example_inputs: Any = _f(None, ck.anything)
    performance_only: bool = _f(False, ck.boolean)
    model_name: str = _f("", ck.string)
    _: KW_ONLY
    strategy: InitVar[str | None] = None
    objective: InitVar[str | None] = None
    timeout: InitVar[float | None] = None
    max_trials: InitVar[int | None] = None

    def __post_init__(self, strategy, objective, timeout, max_trials) -> None:  # type: ignore[override]
        super().__post_init__()
        self._post_shortcuts(strategy=strategy, objective=objective, timeout=timeout, max_trials=max_trials)


@dataclass(frozen=True)
class QuantizationAwareTrainingConfig(_QuantizationConfig):
    """Quantization-aware training through ``training.prepare_compression``."""

    device: str = _f("cpu", _device)
    backend: str = _f("default", _backend)
    inputs: tuple = _f((), _names)
    outputs: tuple = _f((), _names)
    op_type_dict: Any = _f(None, qo.op_dict)
    op_name_dict: Any = _f(None, qo.op_dict)
    reduce_range: bool | None = _f(None, ck.optional(ck.boolean))
    model_name: str = _f("", ck.string)
    quant_format: str = _f("default", ck.choice(*QUANT_FORMATS))
    excluded_precisions: tuple = _f((), _low_precisions)
    quant_level: Any = _f("auto", ck.choice("auto", 0, 1))
    accuracy_criterion: AccuracyCriterion = _f(factory=AccuracyCriterion, check=nested(AccuracyCriterion))
    tuning_criterion: TuningCriterion = _f(factory=TuningCriterion, check=nested(TuningCriterion))
    performance_only: bool = _f(False, ck.boolean)
    _: KW_ONLY
    strategy: InitVar[str | None] = None
    relative: InitVar[float | None] = None
    timeout: InitVar[float | None] = None
    max_trials: InitVar[int | None] = None
    objective: InitVar[str | None] = None

    def __post_init__(self, strategy, relative, timeout, max_trials, objective) -> None:  # type: ignore[override]
        super().__post_init__()
        self._post_shortcuts(
            strategy=strategy, relative=relative, timeout=timeout, max_trials=max_trials, objective=objective
        )


# The shortcuts read back as the effective values (the dataclass already captured their defaults).
for _cls in (PostTrainingQuantConfig, QuantizationAwareTrainingConfig):
    for _name in ("strategy", "objective", "timeout", "max_trials"):
        setattr(_cls, _name, property(lambda self, n=_name: getattr(self.tuning_criterion, n)))
QuantizationAwareTrainingConfig.relative = property(  # type: ignore[attr-defined]
    lambda self: self.accuracy_criterion.tolerable_loss if self.accuracy_criterion.criterion == "relative" else None
)


@dataclass(frozen=True)
class MixedPrecisionConfig(Config):
    """BF16/FP16 + FP32 conversion with an accuracy check (``mix_precision.fit``)."""

    device: str = _f("cpu", _device)
    backend: str = _f("default", _backend)
    precisions: tuple = _f(("bf16",), ck.one_or_many(ck.choice(*LOW_PRECISIONS), allow_empty=False))
    model_name: str = _f("", ck.string)
    inputs: tuple = _f((), _names)
    outputs: tuple = _f((), _names)
    tuning_criterion: TuningCriterion = _f(factory=TuningCriterion, check=nested(TuningCriterion))
    accuracy_criterion: AccuracyCriterion = _f(factory=AccuracyCriterion, check=nested(AccuracyCriterion))
    excluded_precisions: tuple = _f((), _low_precisions)
    example_inputs: Any = _f(None, ck.anything)

    def _validate(self) -> None:
        if not set(self.precisions) - set(self.excluded_precisions):
            raise ConfigError(
                "excluded_precisions",
                list(self.excluded_precisions),
                f"a set that leaves at least one of precisions={list(self.precisions)}",
                reason="every requested precision is excluded",
            )


@dataclass(frozen=True)
class BenchmarkConfig(Config):
    """Performance measurement settings (``benchmark.fit``); ``iteration=-1`` runs the whole dataloader."""

    inputs: tuple = _f((), _names)
    outputs: tuple = _f((), _names)
    backend: str = _f("default", _backend)
    device: str = _f("cpu", _device)
    warmup: int = _f(5, ck.integer(0))
    iteration: int = _f(-1, ck.integer(1, also=(-1,)))
    model_name: str = _f("", ck.string)
    cores_per_instance: int | None = _f(None, ck.optional(ck.integer(1)))
    num_of_instance: int | None = _f(None, ck.optional(ck.integer(1)))
    inter_num_of_threads: int | None = _f(None, ck.optional(ck.integer(1)))
    intra_num_of_threads: int | None = _f(None, ck.optional(ck.integer(1)))
    diagnosis: bool = _f(False, ck.boolean)
    ni_workload_name: str = _f("profiling", ck.string)
