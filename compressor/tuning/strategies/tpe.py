"""``tpe``: a categorical Tree-structured Parzen Estimator over the knobs and per-op choices.

Trials are split into the best ``gamma`` fraction and the rest (by the same score as ``bayesian``);
each dimension gets smoothed value frequencies in both groups, and the proposal is the unseen candidate
with the largest likelihood ratio good/bad. Like ``bayesian``, the good group's prior leans towards fp32
fallback (``fallback_prior`` pseudo-counts on each op's fp32 value): before any evidence, moving an op
to fp32 is the likeliest way to recover accuracy. numpy only.
"""

from __future__ import annotations

import math

import numpy as np

from ..registry import register_strategy
from ._model_based import ModelBasedStrategy


@register_strategy("tpe")
class TPEStrategy(ModelBasedStrategy):
    """Options: ``gamma`` (fraction of trials deemed good, default 0.25), ``prior`` (smoothing, 1.0),
    ``fallback_prior`` (1.0)."""

    def acquisition(self, codes: np.ndarray, y: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        gamma = float(self.option("gamma", 0.25))
        prior = float(self.option("prior", 1.0))
        lean = float(self.option("fallback_prior", 1.0))
        order = np.argsort(-y, kind="stable")
        n_good = max(1, math.ceil(gamma * len(y)))
        good, bad = codes[order[:n_good]], codes[order[n_good:]]
        ratio = np.zeros(len(candidates))
        for d, size in enumerate(self.encoder.sizes):
            p_good = _frequencies(good[:, d], size, prior, lean if d >= 4 else 0.0)
            p_bad = _frequencies(bad[:, d], size, prior)
            ratio += np.log(p_good[candidates[:, d]]) - np.log(p_bad[candidates[:, d]])
        return ratio


def _frequencies(values: np.ndarray, size: int, prior: float, fp32_lean: float = 0.0) -> np.ndarray:
    counts = np.bincount(values.astype(int), minlength=size).astype(float) + prior
    counts[-1] += fp32_lean  # an op dimension's last value is fp32
    return counts / counts.sum()
