"""fp32 baselines and post-training quantization, through compressor's public API only."""

from __future__ import annotations

import time

from . import Compressed, register_technique


@register_technique("fp32")
def fp32(ctx) -> Compressed:
    return Compressed(model=ctx.fp32_model)


@register_technique("fp32_optimized", frameworks=("onnxrt",))
def fp32_optimized(ctx) -> Compressed:
    return Compressed(model=ctx.backend.fp32_optimized(ctx.fp32_model))


def _plan_quantize(ctx, approach: str, calibration: str) -> Compressed:
    """One fixed plan: every op at its backend's first (default) option, no tuning."""
    from compressor.algorithms.ptq.algorithm import Plan

    backend = ctx.backend
    prepared = backend.prepare(ctx.fp32_model)
    ops = backend.quantizable_ops(prepared)
    choices = {}
    for op in ops:
        options = backend.op_options(op, approach)
        if options:
            choices[op.name] = options[0]
    plan = Plan(ops=choices, approach=approach, calibration=calibration)
    batches = ctx.calibration if approach == "static" else []
    start = time.perf_counter()
    model = backend.quantize(prepared, plan, batches)
    return Compressed(
        model=model,
        fp32_ops=[op.name for op in ops if op.name not in choices],
        tuning_seconds=time.perf_counter() - start,
        trials=1,
    )


@register_technique("int8_minmax")
def int8_minmax(ctx) -> Compressed:
    return _plan_quantize(ctx, "static", "minmax")


@register_technique("int8_entropy", frameworks=("onnxrt",))
def int8_entropy(ctx) -> Compressed:
    return _plan_quantize(ctx, "static", "entropy")


@register_technique("int8_percentile", frameworks=("onnxrt",))
def int8_percentile(ctx) -> Compressed:
    return _plan_quantize(ctx, "static", "percentile")


@register_technique("dynamic")
def dynamic(ctx) -> Compressed:
    return _plan_quantize(ctx, "dynamic", "minmax")


@register_technique("tuned")
def tuned(ctx) -> Compressed:
    """Accuracy-aware tuning (``quantization.fit``) with the technique's strategy and trial budget."""
    from compressor import quantization
    from compressor.config import AccuracyCriterion, PostTrainingQuantConfig, TuningCriterion

    spec = ctx.technique
    conf = PostTrainingQuantConfig(
        approach="static",
        calibration_sampling_size=(ctx.settings.calib_samples,),
        tuning_criterion=TuningCriterion(strategy=spec.strategy, max_trials=spec.max_trials, random_seed=ctx.seed),
        accuracy_criterion=AccuracyCriterion(tolerable_loss=spec.tolerable_loss),
    )
    option = "intra_op_num_threads" if ctx.framework == "onnxrt" else "num_threads"
    q = quantization.fit(
        ctx.fp32_model,
        conf,
        calib_dataloader=ctx.calib_loader,
        eval_func=ctx.eval_fn,
        workspace=ctx.workspace / "tuning",
        resume=False,
        backend_options={option: ctx.settings.threads},
    )
    result = q.tuning
    notes = {"met_criterion": bool(result.met_criterion), "all_fp32": bool(result.all_fp32)}
    return Compressed(
        model=q.model,
        fp32_ops=list(result.fallback_ops),
        trials=len(result.trials),
        tuning_seconds=float(result.seconds),
        accuracy=float(result.accuracy),
        strategy=spec.strategy,
        notes=notes,
    )
