"""``quantization.fit``: post-training quantization with accuracy-aware tuning (seed 001's 2.x API).

    q_model = quantization.fit(model, conf, calib_dataloader=..., eval_func=...)

``model`` is a ``torch.nn.Module``, an ``onnx.ModelProto`` or a path to a ``.onnx`` file. Accuracy comes
from ``eval_func(model) -> float`` or from ``eval_dataloader`` + ``eval_metric``. The result is a
``QuantizedModel`` even when no plan met the criterion (``.met_criterion`` is then False and the log
says why) — never None.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import backends
from .algorithms.ptq import ptq_backend
from .backends.batches import calibration_batches, split_batch
from .config import PostTrainingQuantConfig
from .errors import ConfigError
from .metrics import make_eval_func
from .quantized_model import QuantizedModel
from .quantized_model import load as load  # public: reloads what QuantizedModel.save wrote
from .tuning.workspace import default_workspace

log = logging.getLogger(__name__)


def fit(
    model: Any,
    conf: PostTrainingQuantConfig | None = None,
    calib_dataloader: Iterable[Any] | None = None,
    calib_func: Callable[..., Any] | None = None,
    eval_func: Callable[[Any], float] | None = None,
    eval_dataloader: Iterable[Any] | None = None,
    eval_metric: Any = None,
    *,
    workspace: str | Path | None = None,
    resume: bool = True,
    backend_options: dict[str, Any] | None = None,
    eval_subset: float | None = None,
) -> QuantizedModel:
    """Quantize ``model`` and tune until ``conf.accuracy_criterion`` holds (see module docstring).

    ``workspace`` holds the trial history and calibration data; by default it is
    ``nc_workspace/ptq-<digest of the weights, calibration data and config>``, so re-running the same
    script after a crash resumes. A resume re-measures the fp32 baseline and refuses (``StaleWorkspaceError``)
    a history written for other weights, data, config or evaluation; ``resume=False`` starts over.

    Subset screening: when the evaluation can run on part of its examples (``eval_dataloader``, or an
    ``eval_func(model, subset=None)`` that evaluates that fraction of its examples, the same ones every call
    and spread over the set, never a prefix of a label-sorted set), each
    trial is first evaluated on ``eval_subset`` of them (default 0.25) and rejected there when it loses
    more than 3x the tolerable loss; plans that can still pass, and the returned one, are evaluated on all
    of them. ``eval_subset=0`` turns screening off.
    """
    from .tuning.tuner import Tuner

    conf = PostTrainingQuantConfig() if conf is None else conf
    if not isinstance(conf, PostTrainingQuantConfig):
        raise ConfigError("conf", type(conf).__name__, "a PostTrainingQuantConfig")
    if calib_func is not None:
        raise ConfigError(
            "calib_func", calib_func, "None", reason="calibration runs inside the backend; pass calib_dataloader="
        )
    framework = backends.detect_framework(model)
    basics = backends.basics(framework)
    model = basics.load(model)
    eval_func = _eval_func(basics, conf, eval_func, eval_dataloader, eval_metric)
    calibration = _calibration(conf, calib_dataloader, eval_dataloader, basics.input_count(model))
    backend = ptq_backend(framework, **(backend_options or {}))
    weights = basics.fingerprint(model)
    if workspace is None:
        workspace = default_workspace(
            "ptq", weights, conf.to_json(sort_keys=True), calibration, evaluated=eval_func is not None
        )
    tuner = Tuner(
        backend,
        model,
        conf,
        calibration,
        eval_func,
        workspace=Path(workspace),
        resume=resume,
        model_fingerprint=weights,
        eval_subset=eval_subset,
    )
    result = tuner.run()
    return QuantizedModel(backend, result.model, result.best_plan, tuning=result)


def recover(
    fp32_model: Any, history_path: str | Path, trial_index: int, *, backend_options: dict[str, Any] | None = None
) -> QuantizedModel:
    """Rebuild the model of any recorded trial (seed 002's tip) from the history and its workspace.

    Needs no dataloader: the workspace keeps the calibration batches next to ``history.jsonl``.
    """
    from .tuning.history import read_history
    from .tuning.recover import recover as rebuild

    framework = backends.detect_framework(fp32_model)
    model = backends.basics(framework).load(fp32_model)
    backend = ptq_backend(framework, **(backend_options or {}))
    native = rebuild(backend, model, history_path, trial_index)
    plan = read_history(history_path).trial(trial_index).plan
    return QuantizedModel(backend, native, plan)


def _eval_func(basics: Any, conf: PostTrainingQuantConfig, eval_func, eval_dataloader, eval_metric):
    if eval_func is not None:
        if eval_dataloader is not None or eval_metric is not None:
            log.warning("eval_func is given: eval_dataloader/eval_metric are not used")
        return eval_func
    if eval_dataloader is not None:
        return make_eval_func(basics, eval_dataloader, "topk" if eval_metric is None else eval_metric)
    if conf.performance_only:
        return None
    raise ConfigError(
        "eval_func",
        None,
        "eval_func=callable(model) -> float, or eval_dataloader= (+ eval_metric=)",
        reason="accuracy-aware tuning needs a way to measure accuracy (or set performance_only=True)",
    )


def _calibration(conf: PostTrainingQuantConfig, calib_dataloader, eval_dataloader, arity: int | None) -> list:
    size = conf.calibration_sampling_size[0]
    if conf.approach == "dynamic":
        # Dynamic quantization needs no calibration; one batch still serves latency and op-output probes.
        source = calib_dataloader if calib_dataloader is not None else eval_dataloader
        if source is None:
            return []
        for item in source:
            return [split_batch(item, arity=arity)[0]]
        return []
    return calibration_batches(calib_dataloader, size, arity)
