"""``mix_precision.fit``: bf16/fp16 + fp32 conversion with an accuracy check (seed 001's 2.x API).

    converted = mix_precision.fit(model, config=MixedPrecisionConfig(), eval_func=..., eval_dataloader=...)
    converted.save("./out/model.pt")

``model`` is a ``torch.nn.Module``, an ``onnx.ModelProto`` or a path to a ``.onnx`` file. Every
convertible op (matmul/conv-like) starts in the preferred precision of ``config.precisions`` less
``config.excluded_precisions`` (natively supported precisions first); softmax, normalisations and
losses stay fp32. When ``accuracy_criterion`` fails, the tuner (the same one as PTQ: strategies,
history, resume, ``recover``) moves ops back to fp32 by measured sensitivity within ``tuning_criterion``.

The result is a ``MixedPrecisionModel`` even when nothing met the criterion, and it always says whether
the CPU and runtime run the precision natively; without native support the log, ``.hardware_note`` and
benchmark rows say "emulated: no speedup expected" instead of presenting a slowdown as a result.
Without ``eval_func``/``eval_dataloader`` the model is converted once and accuracy is not checked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import backends
from .algorithms.mixed_precision import mixed_precision_backend
from .algorithms.mixed_precision.algorithm import TuningView, plan_from_dtypes, precision_order
from .algorithms.mixed_precision.result import SIDECAR_SUFFIX, MixedPrecisionModel, shorten
from .backends.batches import calibration_batches, split_batch
from .config import MixedPrecisionConfig
from .errors import ConfigError
from .metrics import make_eval_func
from .tuning.workspace import default_workspace

log = logging.getLogger(__name__)

# Samples kept for op sensitivity and latency (the first eval batches); enough to rank ops.
SENSITIVITY_SAMPLES = 32

__all__ = ["MixedPrecisionModel", "fit", "load", "recover"]


def fit(
    model: Any,
    config: MixedPrecisionConfig | None = None,
    eval_func: Callable[[Any], float] | None = None,
    eval_dataloader: Iterable[Any] | None = None,
    eval_metric: Any = None,
    *,
    conf: MixedPrecisionConfig | None = None,
    workspace: str | Path | None = None,
    resume: bool = True,
    backend_options: dict[str, Any] | None = None,
) -> MixedPrecisionModel:
    """Convert ``model`` and tune fp32 fallback until ``config.accuracy_criterion`` holds.

    ``conf=`` is accepted as an alias of ``config=`` (the real 2.x releases' name).
    """
    from .tuning.tuner import Tuner

    config = _resolve_config(config, conf)
    framework = backends.detect_framework(model)
    basics = backends.basics(framework)
    model = basics.load(model)
    backend = mixed_precision_backend(framework, **(backend_options or {}))
    allowed = precision_order(config.precisions, config.excluded_precisions)
    verdicts = {p: backend.hardware(p) for p in allowed}
    order = precision_order(allowed, (), native={p: v.native for p, v in verdicts.items()})
    backend.set_precisions(order)
    for verdict in verdicts.values():
        log.info("%s: %s", verdict.precision, verdict.note)
    eval_func = _eval_func(basics, eval_func, eval_dataloader, eval_metric)
    batches = _input_batches(config, eval_dataloader, basics.input_count(model))
    if eval_func is not None and not batches:
        raise ConfigError(
            "example_inputs",
            None,
            "MixedPrecisionConfig(example_inputs=...) or eval_dataloader=",
            reason="fp32 fallback by sensitivity and the latency check need at least one input batch",
        )
    view = TuningView(config, sample_count=SENSITIVITY_SAMPLES, performance_only=eval_func is None)
    weights = basics.fingerprint(model)
    if workspace is None:  # see tuning.workspace: other weights, data or config never share one by default
        workspace = default_workspace(
            "mixed-precision", weights, config.to_json(sort_keys=True), batches, evaluated=eval_func is not None
        )
    tuner = Tuner(
        backend, model, view, batches, eval_func, workspace=workspace, resume=resume, model_fingerprint=weights
    )
    result = tuner.run()
    plan = result.best_plan if result.best_plan is not None else plan_from_dtypes({})
    converted = MixedPrecisionModel(
        backend, result.model, plan, hardware=_final_verdicts(backend, result.model, order), tuning=result,
        requested=order,
    )  # fmt: skip
    _report(converted)
    return converted


def load(path: str | Path, model: Any = None, *, backend_options: dict[str, Any] | None = None) -> MixedPrecisionModel:
    """Reload what ``MixedPrecisionModel.save`` wrote; torch models rebuild onto their fp32 ``model``."""
    path = Path(path)
    by_suffix = {".onnx": "onnxrt", ".keras": "tensorflow"}.get(path.suffix)
    framework = by_suffix or (backends.detect_framework(model) if model is not None else None)
    if framework is None:
        raise ConfigError("model", None, "the fp32 nn.Module the saved torch model was converted from")
    backend = mixed_precision_backend(framework, **(backend_options or {}))
    native = backend.load(str(path), model)
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    dtypes = json.loads(sidecar.read_text())["ops"] if sidecar.exists() else backend.converted_ops(native)
    plan = plan_from_dtypes(dtypes)
    used = tuple(sorted({d for d in dtypes.values() if d != "fp32"}))
    return MixedPrecisionModel(backend, native, plan, hardware=_final_verdicts(backend, native, used), requested=used)


def recover(
    fp32_model: Any, history_path: str | Path, trial_index: int, *, backend_options: dict[str, Any] | None = None
) -> MixedPrecisionModel:
    """Rebuild the model of any recorded trial from the history (no dataloader or eval_func needed)."""
    from .tuning.history import read_history
    from .tuning.recover import recover as rebuild

    framework = backends.detect_framework(fp32_model)
    model = backends.basics(framework).load(fp32_model)
    backend = mixed_precision_backend(framework, **(backend_options or {}))
    native = rebuild(backend, model, history_path, trial_index)
    plan = read_history(history_path).trial(trial_index).plan
    used = tuple(sorted({c.dtype for c in plan.ops.values() if c.dtype != "fp32"}))
    return MixedPrecisionModel(backend, native, plan, hardware=_final_verdicts(backend, native, used), requested=used)


def _resolve_config(config: Any, conf: Any) -> MixedPrecisionConfig:
    if config is not None and conf is not None and config is not conf:
        raise ConfigError("conf", conf, "None when config= is given", reason="config= and conf= are the same argument")
    config = config if config is not None else conf
    config = MixedPrecisionConfig() if config is None else config
    if not isinstance(config, MixedPrecisionConfig):
        raise ConfigError("config", type(config).__name__, "a MixedPrecisionConfig")
    if config.device != "cpu":
        raise ConfigError("config.device", config.device, ["cpu"], reason="only CPU backends are implemented")
    if config.backend != "default":
        raise ConfigError("config.backend", config.backend, ["default"], reason="ipex/itex/EPs are not implemented")
    return config


def _eval_func(basics: Any, eval_func, eval_dataloader, eval_metric):
    if eval_func is not None:
        if eval_metric is not None:
            log.warning("eval_func is given: eval_metric is not used")
        return eval_func
    if eval_dataloader is not None:
        return make_eval_func(basics, eval_dataloader, "topk" if eval_metric is None else eval_metric)
    log.warning("no eval_func or eval_dataloader: the model is converted without checking its accuracy")
    return None


def _input_batches(config: MixedPrecisionConfig, eval_dataloader, arity: int | None) -> list:
    if eval_dataloader is not None:
        return calibration_batches(eval_dataloader, SENSITIVITY_SAMPLES, arity, field="eval_dataloader")
    if config.example_inputs is not None:
        return [split_batch(config.example_inputs, with_labels=False)[0]]
    return []


def _final_verdicts(backend: Any, model: Any, precisions: Iterable[str]) -> dict:
    return {p: backend.hardware(p, model) for p in precisions}


def _report(converted: MixedPrecisionModel) -> None:
    if converted.all_fp32:
        log.warning("no op was converted: the result is the fp32 model (%s)", converted.hardware_note)
    elif converted.emulated:
        log.warning("%s; measured speed-up %.2fx", converted.hardware_note, converted.speedup)
    if converted.fp32_compute_ops:
        log.warning("converted but computed in fp32 (no runtime kernel): %s", shorten(converted.fp32_compute_ops))
    log.info("%s", converted.summary())
