"""fp32 baselines and post-training quantization, through compressor's public API only."""

from __future__ import annotations

import time

from . import Compressed, register_technique


@register_technique("fp32")
def fp32(ctx) -> Compressed:
    return Compressed(model=ctx.fp32_model)


@register_technique("fp32_optimized", only=("onnxrt", "tensorflow"))
def fp32_optimized(ctx) -> Compressed:
    import compressor

    return Compressed(model=compressor.optimize_fp32(ctx.fp32_model))


def _plan_quantize(ctx, approach: str, calibration: str) -> Compressed:
    """One fixed plan, no tuning: compressor's default plan (every op at its backend's first int8 option)
    with the given calibration method, through ``quantization.fit(..., performance_only=True)``."""
    from compressor import quantization
    from compressor.config import PostTrainingQuantConfig

    algorithm = {".*": {"activation": {"algorithm": [calibration]}}} if approach == "static" else None
    conf = PostTrainingQuantConfig(
        approach=approach,
        calibration_sampling_size=(ctx.settings.calib_samples,),
        op_type_dict=algorithm,
        performance_only=True,
    )
    start = time.perf_counter()
    q = quantization.fit(
        ctx.fp32_model,
        conf,
        calib_dataloader=ctx.calib_loader,
        workspace=ctx.workspace / "ptq",
        resume=False,
        backend_options=ctx.backend_options,
    )
    return Compressed(
        model=q.model,
        fp32_ops=list(q.tuning.fallback_ops),
        tuning_seconds=time.perf_counter() - start,
        trials=1,
    )


def tuning_notes(ctx, result, recover_with: str) -> dict:
    """Where the tuned model can be rebuilt from (``harness reproduce``) and how much was resumed."""
    from pathlib import Path

    return {
        "history": str(Path(result.history_path).resolve().relative_to(ctx.workspace.resolve())),
        "best_trial": result.best_trial_index,
        "recover_with": recover_with,
        "resumed_trials": int(result.resumed_trials),
    }


@register_technique("int8_minmax", uses="ptq")
def int8_minmax(ctx) -> Compressed:
    return _plan_quantize(ctx, "static", "minmax")


@register_technique("int8_entropy", uses="ptq", only=("onnxrt",))
def int8_entropy(ctx) -> Compressed:
    return _plan_quantize(ctx, "static", "entropy")


@register_technique("int8_percentile", uses="ptq", only=("onnxrt",))
def int8_percentile(ctx) -> Compressed:
    return _plan_quantize(ctx, "static", "percentile")


@register_technique("dynamic", uses="ptq")
def dynamic(ctx) -> Compressed:
    return _plan_quantize(ctx, "dynamic", "minmax")


@register_technique("tuned", uses="ptq")
def tuned(ctx) -> Compressed:
    """Accuracy-aware tuning (``quantization.fit``) with the technique's strategy and trial budget."""
    from compressor import quantization
    from compressor.config import AccuracyCriterion, PostTrainingQuantConfig, TuningCriterion

    spec = ctx.technique
    conf = PostTrainingQuantConfig(
        approach="static",
        calibration_sampling_size=(ctx.settings.calib_samples,),
        tuning_criterion=TuningCriterion(
            strategy=spec.strategy,
            max_trials=spec.max_trials,
            timeout=spec.tuning_timeout_s,
            random_seed=ctx.seed,
        ),
        accuracy_criterion=AccuracyCriterion(tolerable_loss=spec.tolerable_loss),
    )
    q = quantization.fit(
        ctx.fp32_model,
        conf,
        calib_dataloader=ctx.calib_loader,
        eval_func=ctx.eval_fn,
        workspace=ctx.workspace / "tuning",
        resume=True,  # the workspace is the job's own (content-addressed): a rerun of a killed job resumes
        backend_options=ctx.backend_options,
    )
    result = q.tuning
    notes = {
        "met_criterion": bool(result.met_criterion),
        "all_fp32": bool(result.all_fp32),
        # trials rejected on the leading quarter of the eval set; the row's accuracy is always the full set
        "screened_trials": int(result.screened_trials),
        # the report's "int8 ops" column needs the total
        "quantizable_ops": len(result.best_plan.ops) if result.best_plan is not None else None,
    }
    notes.update(tuning_notes(ctx, result, "ptq"))
    return Compressed(
        model=q.model,
        fp32_ops=list(result.fallback_ops),
        trials=len(result.trials),
        tuning_seconds=float(result.seconds),
        accuracy=float(result.accuracy),
        strategy=spec.strategy,
        notes=notes,
    )
