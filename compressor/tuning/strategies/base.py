"""The strategy interface.

A strategy is a pure proposer: given the tuning space and the trials evaluated so far, it returns the
next plan to try, or ``None`` when it has nothing left. It never quantizes or evaluates; the ``Tuner``
does that, records the trial, applies the exit policy and picks the result. Because a strategy only
reads the history, resuming a crashed run is replaying the history through a fresh strategy.

Writing one (seed 002's ``mycustom``)::

    from compressor.tuning import TuneStrategy, register_strategy

    @register_strategy("mycustom")
    class MyCustom(TuneStrategy):
        def propose(self, history):
            if not history:
                return self.space.default_plan()          # full int8
            if history[-1].met:
                return None                               # done
            worst = self.space.tunable_ops()[len(history) - 1 : len(history)]
            return history[-1].plan.with_fallback(*worst) if worst else None

    PostTrainingQuantConfig(tuning_criterion=TuningCriterion(strategy="mycustom", strategy_kwargs={...}))

Contract:

- ``__init__(space, seed, options)``: ``space`` is a ``TuningSpace``; ``seed`` is
  ``TuningCriterion.random_seed``; ``options`` is ``TuningCriterion.strategy_kwargs`` as a dict.
- ``propose(history) -> Plan | None``: ``history`` is the list of ``Trial`` evaluated so far in this
  run, oldest first (``plan``, ``accuracy``, ``loss`` (positive = worse than fp32, in the criterion's
  units), ``met``, ``latency_ms``, ``size_bytes``). Build plans with ``space.plan`` /
  ``space.default_plan`` / ``Plan.with_fallback`` so they stay inside the config's restrictions.
- Determinism: the sequence of proposals must depend only on ``seed``, ``options`` and ``history``
  (use ``self.rng``, never the clock or unseeded randomness). Proposing an already evaluated plan is
  allowed but wasted: the tuner skips it without evaluating and asks again.
- Running out: returning ``None`` with the criterion unmet and budget left hands over to the tuner's
  continuation (the rest of the space, from the best plan so far), unless ``continue_when_unmet = False``.
- ``self.sensitivity(plan)`` (set by the tuner) returns ``{op: normalized output MSE vs fp32}`` for a
  plan, computed once on a calibration batch and recorded in the history.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ...algorithms.ptq.algorithm import Plan
from ...errors import ConfigError
from ..space import TuningSpace
from ..trial import Trial


class TuneStrategy(ABC):
    """Base class of strategies (subclassing is optional: duck typing on ``propose`` is enough).

    When ``propose`` returns None while no quantized plan met the criterion and trials are left, the tuner
    goes on with ``strategies.continuation.ContinueSearch`` from the best plan so far; a strategy whose
    ``None`` must be final sets ``continue_when_unmet = False``.
    """

    continue_when_unmet = True
    # Strategies that never run out (sampling, model-based) hand over to the continuation when this many
    # trials in a row did not improve on the best loss while the criterion is unmet; None: never.
    stall_trials: int | None = None

    def __init__(self, space: TuningSpace, seed: int = 0, options: Mapping[str, Any] | None = None) -> None:
        self.space = space
        self.seed = int(seed)
        self.options = dict(options or {})
        self.rng = np.random.default_rng(self.seed)
        self.sensitivity: Any = None

    @abstractmethod
    def propose(self, history: Sequence[Trial]) -> Plan | None:
        """The next plan to evaluate, or None when the strategy has nothing more to try."""

    def op_sensitivity(self, plan: Plan) -> dict[str, float]:
        if self.sensitivity is None:
            raise ConfigError(
                "strategy", type(self).__name__, reason="needs op sensitivity; run it through compressor's Tuner"
            )
        return self.sensitivity(plan)

    def option(self, name: str, default: Any) -> Any:
        return self.options.get(name, default)


class SequentialStrategy(TuneStrategy):
    """A strategy written as a generator of plans (``candidates``) that reads ``self.history``.

    Each ``propose`` resumes the generator; code after a ``yield`` sees the trial of the plan it
    yielded (``self.result(plan)``). Plans already evaluated are skipped automatically.
    """

    def __init__(self, space: TuningSpace, seed: int = 0, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(space, seed, options)
        self.history: list[Trial] = []
        self._by_key: dict[str, Trial] = {}
        self._generator: Iterator[Plan] | None = None

    @abstractmethod
    def candidates(self) -> Iterator[Plan]:
        """Yield plans in the order to try them."""

    def propose(self, history: Sequence[Trial]) -> Plan | None:
        self.history = list(history)
        self._by_key = {t.key: t for t in self.history}
        if self._generator is None:
            self._generator = self.candidates()
        for plan in self._generator:
            if plan.key not in self._by_key:
                return plan
        return None

    def result(self, plan: Plan) -> Trial | None:
        """The trial of ``plan`` if it was evaluated (now or earlier in the run)."""
        return self._by_key.get(plan.key)

    def loss_of(self, plan: Plan) -> float:
        trial = self.result(plan)
        return trial.loss if trial is not None else float("inf")

    def met(self, plan: Plan) -> bool:
        trial = self.result(plan)
        return bool(trial is not None and trial.met)

    def best_trial(self, keys: Sequence[str] | None = None) -> Trial | None:
        """Lowest loss among quantized trials (optionally only ``keys``), fewer fallbacks and earlier first."""
        pool = [
            t
            for t in self.history
            if not t.all_fp32 and t.error is None and t.loss == t.loss and (keys is None or t.key in keys)
        ]  # a plan the backend could not build, or whose accuracy was NaN, is never a base to build on
        if not pool:
            return None
        return min(pool, key=lambda t: (t.loss, len(t.fallback_ops), t.index))

    def best_plan(self) -> Plan:
        """The plan of ``best_trial()``, else the space's default plan (nothing evaluated yet)."""
        best = self.best_trial()
        return best.plan if best is not None else self.space.default_plan()
