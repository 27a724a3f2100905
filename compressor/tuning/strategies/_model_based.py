"""Shared loop of the model-based strategies (bayesian, tpe): a few seeded exploratory plans, then
each proposal is the best-scoring unseen candidate under the strategy's surrogate model."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from ...algorithms.ptq.algorithm import Plan
from ..trial import Trial
from ._encoding import PlanEncoder, score
from .base import TuneStrategy


class ModelBasedStrategy(TuneStrategy):
    """Options: ``n_initial`` (exploratory plans after the default one), ``n_candidates``."""

    stall_trials = 12  # it never runs out: after 12 trials without progress, the continuation searches

    default_initial = 4

    def __init__(self, space, seed=0, options=None) -> None:
        super().__init__(space, seed, options)
        self.encoder = PlanEncoder(space)
        self.n_initial = int(self.option("n_initial", self.default_initial))
        self.n_candidates = int(self.option("n_candidates", 256))

    def propose(self, history: Sequence[Trial]) -> Plan | None:
        seen = {t.key for t in history}
        default = self.space.default_plan()
        if default.key not in seen:
            return default
        exploring = len(history) <= self.n_initial
        pool = self._candidates(history, mutations=not exploring)
        if not pool:
            return None
        if exploring or not self.encoder.ops:
            return pool[0][1]
        codes = np.array([self.encoder.encode(t.plan) for t in history])
        y = score(history, len(self.encoder.ops))
        cand = np.array([c for c, _ in pool])
        values = self.acquisition(codes, y, cand)
        return pool[int(np.argmax(values))][1]

    @abstractmethod
    def acquisition(self, codes: np.ndarray, y: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Score each candidate code (higher = try first) from the evaluated codes and their scores."""

    def _candidates(self, history: Sequence[Trial], mutations: bool) -> list[tuple[list[int], Plan]]:
        """Unseen plans: random samples, plus one-step mutations of the best trials so far.

        Plans are compared by their canonical codes (``encode(decode(codes))``), not ``Plan.key``: the
        key hashes JSON and is too slow for hundreds of candidates per proposal.
        """
        out: list[tuple[list[int], Plan]] = []
        known = {tuple(self.encoder.encode(t.plan)) for t in history}
        parents = []
        if mutations:
            scores = score(history, len(self.encoder.ops))
            best = sorted(range(len(history)), key=lambda i: -scores[i])[:3]
            parents = [self.encoder.encode(history[i].plan) for i in best]
        for n in range(self.n_candidates):
            if parents and n % 2 == 0:
                codes = self.encoder.mutate(parents[(n // 2) % len(parents)], self.rng)
            else:
                codes = self.encoder.sample(self.rng)
            plan = self.encoder.decode(codes)
            canonical = tuple(self.encoder.encode(plan))
            if canonical in known or plan.all_fp32:
                continue
            known.add(canonical)
            out.append((list(canonical), plan))
        return out
