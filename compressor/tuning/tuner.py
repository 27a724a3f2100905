"""The tuning loop: owns evaluation, recording, the exit policy and the objective.

``Tuner(backend, model, conf, calibration, eval_func, workspace=...).run()`` prepares the model once,
measures the fp32 baseline (accuracy, latency, size), then asks the configured strategy for plans,
evaluates each (``backend.quantize`` → ``eval_func`` → latency → size) and appends it to the history.

Exit policy (seed 001/002): ``timeout == 0`` stops at the first quantized plan meeting the accuracy
criterion; ``timeout > 0`` keeps exploring until the timeout, then returns the best passing plan for
the objective; ``max_trials`` always bounds the number of evaluated plans; a strategy returning None
ends the run. ``random_seed`` seeds the strategy so the sequence of plans is reproducible. A plan with
every op in fp32 is not a quantized model: it never ends the run nor counts as meeting the criterion.
``performance_only=True`` quantizes the default plan once and never calls ``eval_func``.

Resume: with a history of the same run in the workspace, the strategy re-proposes from the start
and plans already in the history take their recorded result (``eval_func`` is not called for them), so
a killed run continues where it stopped and ends as an uninterrupted run would. Time already spent
(the recorded trials' seconds) counts towards the timeout. "The same run" is checked, never assumed:
the header records the config, the op names, a fingerprint of the fp32 weights, a digest of the
calibration data and the fp32 baseline accuracy; a resume re-measures the baseline (one ``eval_func``
call) and raises ``StaleWorkspaceError`` naming whatever differs (the recorded trials would describe
another model or another evaluation).

Accuracy values: ``eval_func`` must return a finite real number for the baseline (checked before any
trial; see ``criterion.as_accuracy``). A trial returning NaN/inf is recorded as a failed trial (infinite
loss, never meeting the criterion) and tuning goes on; a trial returning a non-number raises.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..algorithms.ptq.algorithm import Plan
from ..errors import BackendError, ConfigError
from . import calibration as calib
from . import criterion as crit
from .history import HISTORY_FILE, History, HistoryMeta, check_same_run
from .outcome import explain, op_impact, select
from .registry import get_strategy
from .result import TuningResult
from .sensitivity import SensitivityOracle, own_contributions
from .space import TuningSpace, build_space
from .trial import Trial

log = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration.npz"
# A strategy that keeps proposing evaluated plans is stuck; stop rather than spin.
_MAX_REPEATS = 100
# A trial's latency is a ranking signal, timed in about this many seconds: 20 calls of a small model, down
# to 5 of a large one (a MiniLM on a 32-example batch spent 7 s per trial on 20 calls).
LATENCY_BUDGET_S = 1.0
_LATENCY_CALLS = (5, 20)
# Subset screening: most of tuning is evaluation, and most trials of a hard model fail by far. An eval_func
# that takes ``subset=`` (a fraction: evaluate that share of its examples, the same ones each call, spread
# over the set so that every class is in it) first sees SCREEN_FRACTION of them; a plan losing more than
# SCREEN_MARGIN x the tolerable loss there (against fp32 on the same subset) is rejected without the full
# evaluation. Every plan that can still pass, and the plan returned, are evaluated on the full set.
SCREEN_FRACTION = 0.25
SCREEN_MARGIN = 3.0


class Tuner:
    """Accuracy-aware tuning of one model on one backend (see the module docstring).

    ``calibration`` is an iterable of input batches (each a tuple of numpy arrays, the model's
    positional inputs), cut to ``conf.calibration_sampling_size[0]`` samples and saved in ``workspace``;
    it may be None when resuming. The fp32 baseline is ``eval_func(backend.prepare(model))``, the model
    every plan starts from. ``latency_batch`` defaults to the first calibration batch.
    ``model_fingerprint`` identifies the fp32 weights in the history (default: ``backend.fingerprint``).
    """

    def __init__(
        self,
        backend: Any,
        model: Any,
        conf: Any,
        calibration: Iterable[Any] | None,
        eval_func: Callable[[Any], float],
        *,
        workspace: str | Path,
        latency_batch: Any = None,
        resume: bool = True,
        model_fingerprint: str | None = None,
        eval_subset: float | None = None,
    ) -> None:
        self.backend = backend
        self.model = model
        self.conf = conf
        self.calibration = calibration
        self.eval_func = eval_func
        self.screen = _screen_fraction(eval_func, eval_subset)
        self._subset_baseline: float | None = None
        self.workspace = Path(workspace)
        self.latency_batch = latency_batch
        self.resume = resume
        # Computed by the caller when it already has one (fit's default workspace key), else by the backend.
        self.model_fingerprint = model_fingerprint
        self.history_path = self.workspace / HISTORY_FILE
        tc = conf.tuning_criterion
        self.strategy_name: str = tc.strategy
        self.seed: int = tc.random_seed
        self.timeout: float = float(tc.timeout)
        self.max_trials: int = tc.max_trials
        self.objective: str = tc.objective
        self.criterion = conf.accuracy_criterion
        # performance_only (seed 001): quantize the default plan, measure it, skip every accuracy check.
        self.performance_only = bool(getattr(conf, "performance_only", False))
        if eval_func is None and not self.performance_only:
            raise ConfigError("eval_func", None, "a function model -> accuracy (or conf.performance_only=True)")

    # --- the run ---------------------------------------------------------------------------------
    def run(self) -> TuningResult:
        started = time.perf_counter()
        model = self.backend.prepare(self.model)
        self._prepared = model  # the fp32 model the subset baseline is measured on
        space = build_space(self.backend, model, self.conf)
        history, batches = self._open_history(model, space)
        latency_batch = self._latency_batch(batches)
        if latency_batch is None:
            log.warning("no calibration batch and no latency_batch: latency is not measured")
        strategy = get_strategy(self.strategy_name)(
            space, self.seed, dict(self.conf.tuning_criterion.strategy_kwargs or {})
        )
        strategy.sensitivity = SensitivityOracle(self.backend, model, batches, history)
        trials, models = self._loop(strategy, space, history, model, batches, latency_batch)
        return self._result(trials, models, history, model, batches, strategy.sensitivity, started)

    def _loop(self, strategy, space: TuningSpace, history: History, model, batches, latency_batch):
        recorded: dict[str, Trial] = {}
        for trial in history.trials:
            recorded.setdefault(trial.key, trial)
        next_index = max((t.index for t in history.trials), default=-1) + 1
        trials: list[Trial] = []
        models: dict[str, Any] = {}  # the quantized model of the current pick only
        seen: set[str] = set()
        repeats = 0
        continued = False  # the strategy ran out with the criterion unmet: ContinueSearch took over
        spent_before = 0.0
        loop_start = time.perf_counter()
        max_trials = 1 if self.performance_only else self.max_trials
        if not any(c.options(a) for c in space.ops for a in space.approaches):
            log.warning("no op may be int8 under this config (op_name_dict/op_type_dict): nothing to tune")
            max_trials = 1
        while len(trials) < max_trials:
            elapsed = time.perf_counter() - loop_start + spent_before
            if self.timeout > 0 and elapsed >= self.timeout:
                log.info("timeout of %.1f s reached after %d trials", self.timeout, len(trials))
                break
            stall = getattr(strategy, "stall_trials", None)
            if not continued and stall and _stalled(trials, stall) and self._may_continue(strategy, trials):
                strategy = self._continuation(space, strategy, f"has not improved on its best plan in {stall} trials")
                continued = True
            plan = strategy.propose(list(trials))
            if plan is None and not continued and self._may_continue(strategy, trials):
                why = f"has no more plans after {len(trials)} of {max_trials} trials"
                strategy = self._continuation(space, strategy, why)
                continued = True
                plan = strategy.propose(list(trials))
            if plan is None:
                if continued:
                    log.warning(
                        "the tuning space reachable from the best plan is exhausted after %d trials; "
                        "the criterion is unmet",
                        len(trials),
                    )
                else:
                    log.info("strategy %r has no more plans after %d trials", self.strategy_name, len(trials))
                break
            if plan.key in seen:
                repeats += 1
                if repeats >= _MAX_REPEATS:
                    log.warning("strategy %r keeps proposing evaluated plans; stopping", self.strategy_name)
                    break
                continue
            repeats = 0
            space.check(plan)
            seen.add(plan.key)
            if plan.key in recorded:
                trial, qmodel = replace(recorded[plan.key], replayed=True), None
                spent_before += trial.seconds
            else:
                trial, qmodel = self._evaluate(model, plan, batches, latency_batch, history, next_index)
                next_index += 1
                history.append_trial(trial, seed=self.seed, strategy=self.strategy_name)
            trials.append(trial)
            self._log_trial(trial)
            pick = select(trials, self.objective)
            if pick is not None and pick.key not in models:  # hold only the current pick's model
                models = {pick.key: qmodel} if pick.key == trial.key and qmodel is not None else {}
            if self.timeout == 0 and trial.met and not trial.all_fp32:
                log.info("trial %d meets the criterion; timeout=0 stops at the first passing plan", trial.index)
                break
        else:
            log.info("max_trials=%d reached", max_trials)
        return trials, models

    def _may_continue(self, strategy, trials) -> bool:
        if self.performance_only or _passed(trials):
            return False
        return bool(getattr(strategy, "continue_when_unmet", True))  # duck-typed strategies continue too

    def _continuation(self, space: TuningSpace, strategy, why: str):
        """``ContinueSearch`` in place of ``strategy``, which ``why`` (logged) with the criterion unmet."""
        from .strategies.continuation import ContinueSearch

        log.info(
            "strategy %r %s and the criterion is unmet: continuing from the best plan so far (knob variants, "
            "ranked and single-op fallbacks)",
            self.strategy_name,
            why,
        )
        follow = ContinueSearch(space, self.seed, {})
        follow.sensitivity = strategy.sensitivity
        return follow

    def _evaluate(self, model, plan: Plan, batches, latency_batch, history: History, index: int):
        start = time.perf_counter()
        try:
            qmodel = self.backend.quantize(model, plan, batches)
        except BackendError as exc:
            # One plan the backend cannot build (a calibrator failing on inf, a kernel that does not
            # exist) is a failed trial, not the end of the tuning run.
            log.warning("trial %d: the backend could not build this plan: %s", index, exc)
            failed = Trial(
                index, plan, math.nan, math.inf, False, math.nan, 0, time.perf_counter() - start, error=str(exc)
            )
            return failed, None
        baseline = history.meta.baseline_accuracy
        try:
            accuracy, fraction = self._screened_accuracy(qmodel, index, baseline)
            latency = self._latency(qmodel, latency_batch, history.meta.fp32_latency_ms)
        except BackendError as exc:
            # The model was built but cannot run (a compiler refusing its graph at the first call): as above.
            log.warning("trial %d: the quantized model could not run: %s", index, exc)
            failed = Trial(
                index, plan, math.nan, math.inf, False, math.nan, 0, time.perf_counter() - start, error=str(exc)
            )
            return failed, None
        if not math.isfinite(accuracy) and not self.performance_only:
            log.warning("trial %d: eval_func returned %s; recorded as a failed trial", index, accuracy)
        size = int(self.backend.size_bytes(qmodel))
        trial = Trial(
            index=index,
            plan=plan,
            accuracy=accuracy,
            loss=crit.accuracy_loss(baseline, accuracy, self.criterion),
            met=fraction == 1.0 and crit.meets(baseline, accuracy, self.criterion),
            latency_ms=latency,
            size_bytes=size,
            seconds=time.perf_counter() - start,
            evaluated_fraction=fraction,
        )
        return trial, qmodel

    def _screened_accuracy(self, model, index: int, baseline: float) -> tuple[float, float]:
        """(accuracy, fraction of the eval set it was measured on): the subset first when screening."""
        if self.screen is None or self.performance_only:
            return self._accuracy(model, f"trial {index}", baseline=False), 1.0
        if self._subset_baseline is None:
            self._subset_baseline = crit.as_accuracy(
                self.eval_func(self._prepared, subset=self.screen), "the fp32 baseline (subset)", finite=True
            )
        quick = crit.as_accuracy(self.eval_func(model, subset=self.screen), f"trial {index} (subset)", finite=False)
        loss = crit.accuracy_loss(self._subset_baseline, quick, self.criterion)
        if math.isfinite(quick) and loss <= SCREEN_MARGIN * self.criterion.tolerable_loss:
            return self._accuracy(model, f"trial {index}", baseline=False), 1.0
        log.info(
            "trial %d: loss %s on %.0f%% of the eval set (> %g x the tolerable loss): rejected without the full "
            "evaluation",
            index,
            crit.format_loss(loss, self.criterion),
            100 * self.screen,
            SCREEN_MARGIN,
        )
        return (baseline + (quick - self._subset_baseline) if math.isfinite(quick) else quick), self.screen

    def _accuracy(self, model, where: str, *, baseline: bool) -> float:
        if self.performance_only:
            return math.nan
        return crit.as_accuracy(self.eval_func(model), where, finite=baseline)

    def _latency(self, model, batch, fp32_ms: float = math.nan) -> float:
        """About LATENCY_BUDGET_S of timed calls (within _LATENCY_CALLS): a trial's count is sized by the fp32
        baseline (int8 is rarely slower), the baseline's by one untimed-warmup probe call (twice the budget)."""
        if batch is None:
            return math.nan
        budget_ms = LATENCY_BUDGET_S * 1e3
        if not (math.isfinite(fp32_ms) and fp32_ms > 0):
            fp32_ms = float(self.backend.latency_ms(model, batch, warmup=0, iterations=1))
            budget_ms *= 2
        fewest, most = _LATENCY_CALLS
        calls = most if fp32_ms <= 0 else int(min(most, max(fewest, budget_ms // fp32_ms)))
        return float(self.backend.latency_ms(model, batch, iterations=calls))

    def _latency_batch(self, batches):
        if self.latency_batch is not None:
            return calib.as_batch(self.latency_batch)
        return batches[0] if batches else None

    def _log_trial(self, trial: Trial) -> None:
        log.info(
            "trial %d [%s]%s: accuracy %.4f%s (loss %s) %s, latency %.3f ms, size %d B, fp32 ops: %s",
            trial.index,
            self.strategy_name,
            " (from history)" if trial.replayed else "",
            trial.accuracy,
            f" (estimated from {100 * trial.evaluated_fraction:.0f}% of the eval set)" if trial.screened else "",
            crit.format_loss(trial.loss, self.criterion),
            "meets the criterion" if trial.met else "fails the criterion",
            trial.latency_ms,
            trial.size_bytes,
            list(trial.fallback_ops) or "none",
        )

    # --- history and calibration -------------------------------------------------------------------
    def _open_history(self, model, space: TuningSpace) -> tuple[History, list]:
        config = json.loads(self.conf.to_json())
        sampling = self.conf.calibration_sampling_size[0]
        dynamic_only = "static" not in space.approaches
        # Measured on resume too: the only way to notice a changed eval_func (it cannot be hashed).
        baseline = self._accuracy(model, "the fp32 baseline", baseline=True)
        weights = self._fingerprint()
        if self.history_path.exists() and self.resume:
            history = History.open(self.history_path)
            batches = calib.load(self.workspace / history.meta.calibration_file, history.meta.calibration_sha256)
            given = ""
            if self.calibration is not None:
                given = calib.fingerprint(calib.collect(self.calibration, sampling, allow_empty=dynamic_only))
            now = replace(
                history.meta,
                config=config,
                ops=space.op_names,
                calibration_sha256=given,
                model_sha256=weights,
                baseline_accuracy=baseline,
            )
            check_same_run(history, now)
            log.info("resuming %s: %d recorded trials", self.history_path, len(history.trials))
            return history, batches
        if self.history_path.exists():
            old = _unused_name(self.history_path.with_suffix(".jsonl.old"))
            shutil.move(self.history_path, old)
            log.warning("resume=False: the previous history is kept as %s", old)
        if self.calibration is None and not dynamic_only:
            raise ConfigError("calibration", None, "an iterable of input batches (needed unless resuming)")
        batches = calib.collect(self.calibration or (), sampling, allow_empty=dynamic_only)
        self.workspace.mkdir(parents=True, exist_ok=True)
        calib.save(self.workspace / CALIBRATION_FILE, batches)
        meta = HistoryMeta(
            config=config,
            baseline_accuracy=baseline,
            fp32_latency_ms=self._latency(model, self._latency_batch(batches)),
            fp32_size_bytes=int(self.backend.size_bytes(model)),
            seed=self.seed,
            strategy=self.strategy_name,
            ops=space.op_names,
            backend=getattr(self.backend, "name", "") or type(self.backend).__name__,
            calibration_file=CALIBRATION_FILE,
            calibration_sha256=calib.fingerprint(batches),
            model_sha256=weights,
        )
        log.info("fp32 baseline: accuracy %.4f, latency %.3f ms", meta.baseline_accuracy, meta.fp32_latency_ms)
        return History.create(self.history_path, meta), batches

    def _fingerprint(self) -> str:
        if self.model_fingerprint is not None:
            return self.model_fingerprint
        fingerprint = getattr(self.backend, "fingerprint", None)  # duck-typed backends may lack it
        return fingerprint(self.model) if fingerprint is not None else ""

    # --- the result ------------------------------------------------------------------------------
    def _result(self, trials, models, history: History, model, batches, oracle, started: float) -> TuningResult:
        meta = history.meta
        chosen = select(trials, self.objective)
        if chosen is not None and chosen.error is not None:
            errors = sorted({t.error for t in trials if t.error})
            raise BackendError(f"the backend could not build any of the {len(trials)} plans tried: {errors}")
        drift = None
        if chosen and not (chosen.met or chosen.all_fp32 or self.performance_only or op_impact(trials)):
            # No trial pair isolates an op: measure each op's own output drift for the explanation.
            try:
                drift = own_contributions(oracle(chosen.plan), meta.ops)
            except ConfigError as exc:  # e.g. dynamic quantization without any input batch
                log.info("no op drift for the explanation: %s", exc)
        text = explain(
            chosen,
            trials,
            criterion=self.criterion,
            objective=self.objective,
            fp32_latency_ms=meta.fp32_latency_ms,
            drift=drift,
        )
        if self.performance_only:
            text = (
                "performance_only=True: the default plan was quantized and measured without evaluating "
                "accuracy, so the accuracy criterion was not checked."
            )
        (log.info if chosen is not None and chosen.met and not chosen.all_fp32 else log.warning)("%s", text)
        if chosen is None:
            best_model, latency, size, accuracy = (
                model,
                meta.fp32_latency_ms,
                meta.fp32_size_bytes,
                meta.baseline_accuracy,
            )
        else:
            best_model = models.get(chosen.key)
            if best_model is None:  # replayed from history: rebuild it (no evaluation)
                best_model = self.backend.quantize(model, chosen.plan, batches)
            latency, size, accuracy = chosen.latency_ms, chosen.size_bytes, chosen.accuracy
            if chosen.screened:  # the closest plan was only screened: what is reported is the full set
                accuracy = self._accuracy(best_model, f"trial {chosen.index} (full eval set)", baseline=False)
                if crit.meets(meta.baseline_accuracy, accuracy, self.criterion):
                    log.warning("trial %d, rejected on its subset, meets the criterion on the full set", chosen.index)
                    chosen = replace(chosen, accuracy=accuracy, met=True, evaluated_fraction=1.0)
        return TuningResult(
            best_plan=chosen.plan if chosen else None,
            model=best_model,
            baseline_accuracy=meta.baseline_accuracy,
            accuracy=accuracy,
            met_criterion=bool(chosen is not None and chosen.met and not chosen.all_fp32),
            trials=trials,
            fp32_latency_ms=meta.fp32_latency_ms,
            latency_ms=latency,
            speedup=_speedup(meta.fp32_latency_ms, latency),
            size_bytes=size,
            fallback_ops=chosen.fallback_ops if chosen else (),
            all_fp32=bool(chosen is not None and chosen.all_fp32),
            strategy=self.strategy_name,
            # The cost of the whole tuning: this run plus the recorded time of the trials it replayed.
            seconds=time.perf_counter() - started + sum(t.seconds for t in trials if t.replayed),
            history_path=str(self.history_path),
            objective=self.objective,
            best_trial_index=chosen.index if chosen else None,
            fp32_size_bytes=meta.fp32_size_bytes,
            higher_is_better=self.criterion.higher_is_better,
            seed=self.seed,
            explanation=text,
            resumed_trials=sum(t.replayed for t in trials),
            screened_trials=sum(t.screened for t in trials),
        )


def _unused_name(path: Path) -> Path:
    """``path``, or ``path.1``, ``path.2``...: a second ``resume=False`` never overwrites the first's .old."""
    candidate, number = path, 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.{number}")
    return candidate


def _speedup(fp32_ms: float, ms: float) -> float:
    return fp32_ms / ms if math.isfinite(fp32_ms) and math.isfinite(ms) and ms > 0 else math.nan


def _stalled(trials, window: int) -> bool:
    """The last ``window`` trials did not lower the best loss of the trials before them (failed trials count
    as no progress)."""
    if len(trials) < window:
        return False

    def best(part) -> float:
        losses = [t.loss for t in part if t.error is None and t.loss == t.loss]
        return min(losses, default=math.inf)

    return not best(trials[-window:]) < best(trials[:-window])


def _passed(trials) -> bool:
    """A quantized plan met the criterion."""
    return any(t.met and not t.all_fp32 for t in trials)


def _screen_fraction(eval_func: Any, requested: float | None) -> float | None:
    """The subset fraction to screen trials on, or None. ``requested``: None = SCREEN_FRACTION when
    ``eval_func`` takes ``subset=``; 0 or 1 = off; a fraction in (0, 1) = that (``eval_func`` must take it)."""
    takes = eval_func is not None and _takes_subset(eval_func)
    if requested is None:
        return SCREEN_FRACTION if takes else None
    if isinstance(requested, bool) or not isinstance(requested, (int, float)) or not 0 <= requested <= 1:
        raise ConfigError("eval_subset", requested, "None (automatic), 0 or 1 (off), or a fraction in (0, 1)")
    if requested in (0, 1):
        return None
    if not takes:
        raise ConfigError(
            "eval_subset",
            requested,
            "None or 0 for this eval_func",
            reason="screening needs an eval_func that accepts subset= (a fraction of its examples to evaluate)",
        )
    return float(requested)


def _takes_subset(fn: Any) -> bool:
    import inspect

    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins and some C callables have no signature
        return False
    subset = parameters.get("subset")
    return subset is not None and subset.kind in (subset.POSITIONAL_OR_KEYWORD, subset.KEYWORD_ONLY)
