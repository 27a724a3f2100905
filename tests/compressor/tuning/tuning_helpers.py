"""Helpers shared by the tuning tests (imported by name; ``conftest`` puts this folder on sys.path).

Kept out of ``conftest.py`` so tests never ``import conftest``: with ``--import-mode=importlib`` that
name can resolve to another folder's conftest.
"""

from __future__ import annotations

from pathlib import Path

from compressor.config import AccuracyCriterion, PostTrainingQuantConfig, TuningCriterion

HERE = Path(__file__).resolve().parent

FP32_ALL = {"activation": {"dtype": ["fp32"]}, "weight": {"dtype": ["fp32"]}}


def make_conf(
    strategy="basic",
    *,
    timeout=0,
    max_trials=30,
    seed=1978,
    objective="performance",
    criterion="relative",
    tolerable_loss=0.01,
    higher_is_better=True,
    strategy_kwargs=None,
    **ptq,
):
    ptq.setdefault("calibration_sampling_size", [200])
    return PostTrainingQuantConfig(
        tuning_criterion=TuningCriterion(
            strategy=strategy,
            timeout=timeout,
            max_trials=max_trials,
            random_seed=seed,
            objective=objective,
            strategy_kwargs=strategy_kwargs,
        ),
        accuracy_criterion=AccuracyCriterion(
            criterion=criterion, tolerable_loss=tolerable_loss, higher_is_better=higher_is_better
        ),
        **ptq,
    )


class Counter:
    """An eval_func wrapper that counts calls."""

    def __init__(self, func):
        self.func = func
        self.calls = 0

    def __call__(self, model):
        self.calls += 1
        return self.func(model)
