"""bf16/fp16 mixed precision (``mix_precision.fit``) through compressor's public API only.

Rows record the precision (the technique kind), the ops kept fp32 (``fp32_ops``) and the hardware
verdict (``hardware_verdict``, also in ``notes``): on a CPU or runtime without native support it reads
"emulated: no speedup expected (...)", so a slowdown in ``speedup_vs_fp32`` is not taken for a result.
"""

from __future__ import annotations

from . import Compressed, register_technique
from .ptq import tuning_notes


def _mixed_precision(ctx, precision: str) -> Compressed:
    from compressor import mix_precision
    from compressor.config import AccuracyCriterion, MixedPrecisionConfig, TuningCriterion

    spec = ctx.technique
    conf = MixedPrecisionConfig(
        precisions=(precision,),
        tuning_criterion=TuningCriterion(strategy="auto", max_trials=spec.max_trials, random_seed=ctx.seed),
        accuracy_criterion=AccuracyCriterion(tolerable_loss=spec.tolerable_loss),
    )
    result = mix_precision.fit(
        ctx.fp32_model,
        conf,
        eval_func=ctx.eval_fn,
        eval_dataloader=ctx.calib_loader,  # input batches for op sensitivity and latency
        workspace=ctx.workspace / "mixed_precision",
        resume=True,  # the job's own workspace: a rerun resumes
        backend_options=ctx.backend_options,
    )
    tuning = result.tuning
    notes = {
        "precision": precision,
        "met_criterion": bool(result.met_criterion),
        "all_fp32": bool(result.all_fp32),
        "emulated": result.emulated,
        "hardware_note": result.hardware_note,
        "fp32_compute_ops": result.fp32_compute_ops,
        **tuning_notes(ctx, tuning, "mixed_precision"),
    }
    return Compressed(
        model=result.model,
        fp32_ops=list(result.fp32_ops),
        trials=len(tuning.trials),
        tuning_seconds=float(tuning.seconds),
        accuracy=float(tuning.accuracy),
        strategy=None,
        notes=notes,
    )


@register_technique("bf16", uses="mixed_precision")
def bf16(ctx) -> Compressed:
    return _mixed_precision(ctx, "bf16")


@register_technique("fp16", uses="mixed_precision")
def fp16(ctx) -> Compressed:
    return _mixed_precision(ctx, "fp16")
