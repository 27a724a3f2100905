"""``bayesian``: Gaussian-process Bayesian optimisation over the knobs and per-op fp32/int8 choices.

The surrogate is a GP with an RBF kernel on one-hot plan encodings, fit to a score that rewards low
accuracy loss and few fallbacks; the acquisition is expected improvement over seeded candidates
(random plans and one-step mutations of the best ones). The GP's prior mean encodes the one thing known
before any trial: moving ops to fp32 tends to recover accuracy (``fallback_prior`` per fraction of ops
in fp32); the data overrides it where trials disagree. numpy only.
"""

from __future__ import annotations

import math

import numpy as np

from ..registry import register_strategy
from ._model_based import ModelBasedStrategy

_erf = np.vectorize(math.erf)


@register_strategy("bayesian")
class BayesianStrategy(ModelBasedStrategy):
    """Options: ``length_scale`` (default 1.5), ``noise`` (1e-3), ``xi`` (EI exploration, 0.01),
    ``fallback_prior`` (0.5)."""

    def acquisition(self, codes: np.ndarray, y: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        encode = self.encoder.one_hot
        x = np.array([encode(c) for c in codes])
        xc = np.array([encode(c) for c in candidates])
        prior = float(self.option("fallback_prior", 0.5))
        base, base_c = prior * self._fallback_fraction(codes), prior * self._fallback_fraction(candidates)
        mean, std = gp_posterior(
            x, y - base, xc, float(self.option("length_scale", 1.5)), float(self.option("noise", 1e-3))
        )
        return expected_improvement(mean + base_c, std, float(y.max()), float(self.option("xi", 0.01)))

    def _fallback_fraction(self, codes: np.ndarray) -> np.ndarray:
        fp32 = np.array(self.encoder.sizes[4:]) - 1
        return (codes[:, 4:] == fp32).mean(axis=1) if fp32.size else np.zeros(len(codes))


def gp_posterior(x: np.ndarray, y: np.ndarray, xc: np.ndarray, length: float, noise: float):
    """Posterior mean and std of a zero-mean GP on standardised ``y`` at ``xc``, in ``y``'s units."""
    mu, sigma = float(y.mean()), float(y.std()) or 1.0
    target = (y - mu) / sigma
    k = _rbf(x, x, length) + noise * np.eye(len(x))
    chol = np.linalg.cholesky(k)
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, target))
    kc = _rbf(xc, x, length)
    mean = kc @ alpha
    v = np.linalg.solve(chol, kc.T)
    var = np.clip(1.0 - np.sum(v * v, axis=0), 1e-12, None)
    return mu + sigma * mean, sigma * np.sqrt(var)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float) -> np.ndarray:
    z = (mean - best - xi) / std
    cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return (mean - best - xi) * cdf + std * pdf


def _rbf(a: np.ndarray, b: np.ndarray, length: float) -> np.ndarray:
    d2 = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T
    return np.exp(-0.5 * np.clip(d2, 0.0, None) / (length * length))
