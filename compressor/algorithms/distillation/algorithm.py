"""Distillation bookkeeping that needs no framework: resolved loss plans, config checks against a
model's layer names, and per-epoch averages of each loss term.

Semantics follow Intel Neural Compressor 2.x (``PyTorchKnowledgeDistillationLoss``,
``PyTorchSelfKnowledgeDistillationLoss``); where we deliberately differ, the docstring says so.

Knowledge distillation (``KnowledgeDistillationLossConfig``)::

    loss = w0 * user_loss + w1 * T**2 * D(student_logits / T, teacher_logits / T)

* ``user_loss`` is the loss the training loop computed (student vs label). As in INC,
  ``loss_types[0]`` does not recompute it: the hook has no labels, so the first term is the user's
  loss whatever ``loss_types[0]`` says ('CE' and 'MSE' are accepted and logged; 'KL' against hard
  labels is rejected at ``validate``). A zero weight drops the term (and, for ``w1``, the teacher
  forward pass), like INC.
* ``D`` is 'CE' (cross-entropy with the teacher's soft targets), 'KL' (KL divergence, summed over
  classes and averaged over the batch: INC averages over classes too, i.e. its value is ours / C),
  or 'MSE' (mean squared error; scaling by T**2 after dividing by T makes it the plain MSE of the
  logits, which is what INC computes as well).

Self-distillation (``SelfKnowledgeDistillationLossConfig``)::

    loss = sum_g w_g * sum_{(s, t) in group g} D_g(out[s], out[t].detach()) [+ user_loss if add_origin_loss]

* ``out[name]`` is the output of ``model.get_submodule(name)`` during the forward pass that produced
  the outputs given to the hook (``""`` names the whole model). Teacher features are detached, so
  deeper layers are not pulled towards shallower ones (INC lets gradients flow into both sides).
* ``D_g``: 'L2' is ``||s - t||_2`` over the whole batch tensor (INC's ``torch.dist``); 'CE' and 'KL'
  compare ``softmax(t / T)`` with ``log_softmax(s / T)`` along the last dim. Temperature applies to
  every CE/KL group (INC applies it only to group index 1) and is not multiplied by T**2 (as INC).
* Defaults, as INC: ``loss_types`` 'CE' for every group, ``loss_weights`` 1 / number of groups.
* No ``layer_mappings`` (seed 001's bare ``SelfKnowledgeDistillationLossConfig()``): there is nothing
  to distil, so the loss is the loop's own loss, unchanged, whatever ``add_origin_loss`` says. INC
  returns 0 there (plus the loss only with ``add_origin_loss``), which silently stops training; we
  log a warning at ``prepare_compression`` naming what to set, and ``summary()`` carries the note.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError, did_you_mean

log = logging.getLogger(__name__)

STUDENT_LABEL_TYPES = ("CE", "MSE")  # what loss_types[0] may name (the user computes that term)
SELF_KD_DEFAULT_TYPE = "CE"


@dataclass(frozen=True)
class KDPlan:
    """A knowledge-distillation criterion, resolved."""

    temperature: float
    label_type: str  # informational: the user's loss is used for this term
    teacher_type: str  # 'CE' | 'KL' | 'MSE'
    label_weight: float
    teacher_weight: float

    @property
    def needs_teacher(self) -> bool:
        return self.teacher_weight > 0


@dataclass(frozen=True)
class SelfKDGroup:
    pairs: tuple[tuple[str, str], ...]
    loss_type: str  # 'L2' | 'KL' | 'CE'
    weight: float
    index: int = 0

    @property
    def term(self) -> str:
        return f"group{self.index}_{self.loss_type}"


@dataclass(frozen=True)
class SelfKDPlan:
    """A self-distillation criterion with INC's defaults filled in."""

    temperature: float
    groups: tuple[SelfKDGroup, ...]
    add_origin_loss: bool

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Every module whose output is needed, in first-use order, without repeats."""
        seen: dict[str, None] = {}
        for group in self.groups:
            for student, teacher in group.pairs:
                seen.setdefault(student)
                seen.setdefault(teacher)
        return tuple(seen)


def kd_plan(criterion: Any) -> KDPlan:
    label_type, teacher_type = criterion.loss_types
    w0, w1 = (float(w) for w in criterion.loss_weights)
    return KDPlan(float(criterion.temperature), label_type, teacher_type, w0, w1)


def self_kd_plan(criterion: Any) -> SelfKDPlan:
    n = len(criterion.layer_mappings)
    types = tuple(criterion.loss_types) or (SELF_KD_DEFAULT_TYPE,) * n
    weights = tuple(float(w) for w in criterion.loss_weights) or (1.0 / n if n else 0.0,) * n
    groups = tuple(
        SelfKDGroup(tuple(pairs), loss_type, weight, index=i)
        for i, (pairs, loss_type, weight) in enumerate(zip(criterion.layer_mappings, types, weights, strict=True))
    )
    return SelfKDPlan(float(criterion.temperature), groups, bool(criterion.add_origin_loss))


# --- checks against the model -------------------------------------------------------------------------


def kd_loss(plan: KDPlan, loss: Any, distillation: Any, scalar: Any) -> tuple[Any, dict[str, float]]:
    """One step's ``w0 * loss + w1 * distillation()`` and its terms as floats (``scalar`` turns a framework
    tensor into one). ``distillation`` is called only when its weight is not zero (no teacher pass then)."""
    from ...errors import CompressorError

    total: Any = 0.0
    terms: dict[str, float] = {}
    if plan.label_weight > 0:
        if loss is None:
            raise CompressorError(
                "distillation: on_after_compute_loss got loss=None but loss_weights[0] > 0; pass the "
                "student-vs-label loss your loop computed, or set loss_weights=[0, 1]"
            )
        total = plan.label_weight * loss
        terms["student_loss"] = scalar(loss)
    if plan.needs_teacher:
        distill = distillation()
        total = total + plan.teacher_weight * distill
        terms["distillation_loss"] = scalar(distill)
    terms["total"] = scalar(total)
    return total, terms


def check_teacher_kind(teacher: Any, is_model: bool, expected: str) -> None:
    """``ConfigError`` naming the teacher's type when it is not the student's framework's model (``expected``)."""
    if not is_model:
        raise ConfigError("teacher_model", f"{type(teacher).__module__}.{type(teacher).__qualname__}", expected)


def check_same_logits(field: str, teacher_shape: tuple, student_shape: tuple) -> None:
    """``ConfigError`` when the teacher's logits (from ``field``) are not shaped like the student's."""
    if tuple(teacher_shape) != tuple(student_shape):
        raise ConfigError(
            field,
            f"logits of shape {tuple(teacher_shape)}",
            f"logits shaped like the student's {tuple(student_shape)}",
            reason="student and teacher must predict the same classes for the same batch",
        )


def check_teacher_given(teacher: Any) -> None:
    if teacher is None:
        raise ConfigError(
            "teacher_model",
            None,
            "a trained model of the same framework as the student",
            reason="KnowledgeDistillationLossConfig needs a teacher; "
            "use SelfKnowledgeDistillationLossConfig to distil a model into itself",
        )


def check_label_type(plan: KDPlan) -> None:
    if plan.label_type not in STUDENT_LABEL_TYPES:
        raise ConfigError(
            "criterion.loss_types[0]",
            plan.label_type,
            STUDENT_LABEL_TYPES,
            reason="the first term compares the student with hard labels (your loss); KL needs a distribution",
        )
    if plan.label_type != "CE":
        log.info(
            "distillation: loss_types[0]=%r is not recomputed; the loss your loop passes to "
            "on_after_compute_loss is used as the student-vs-label term (as in INC)",
            plan.label_type,
        )


def empty_mapping_note(module_names: Sequence[str]) -> str:
    """What an empty ``layer_mappings`` means, and what to set instead."""
    return (
        "SelfKnowledgeDistillationLossConfig has no layer_mappings: nothing is distilled and the loss "
        "is your loop's loss, unchanged; to distil, set groups of [student_layer, teacher_layer] "
        f"model.named_modules() names ('' is the whole model's output), e.g. "
        f"layer_mappings={_example_mapping(list(module_names))}"
    )


def check_self_kd_layers(plan: SelfKDPlan, module_names: Sequence[str]) -> None:
    """Every mapped name must be a module of the model (an empty mapping is allowed: see the docstring)."""
    names = list(module_names)
    for group in plan.groups:
        for p, pair in enumerate(group.pairs):
            for side, name in enumerate(pair):
                if name in names:
                    continue
                raise ConfigError(
                    f"criterion.layer_mappings[{group.index}][{p}][{side}]",
                    name,
                    _name_listing(names),
                    reason=f"no module named {name!r} in the model",
                    suggestion=did_you_mean(name, names),
                )


def _example_mapping(names: Sequence[str]) -> str:
    candidates = [n for n in names if n]
    if len(candidates) >= 2:
        return f"[[[{candidates[len(candidates) // 2]!r}, {candidates[-1]!r}]]]"
    return "[[['layer1', 'fc']]]"


def _name_listing(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    more = f" … ({len(names) - limit} more)" if len(names) > limit else ""
    return f"module names of the model: {shown}{more}"


def shape_error(field: str, pair: Iterable[str], student_shape: Any, teacher_shape: Any, loss_type: str) -> ConfigError:
    return ConfigError(
        field,
        list(pair),
        "a pair whose outputs have the same shape",
        reason=f"{loss_type} cannot compare student output of shape {tuple(student_shape)} "
        f"with teacher output of shape {tuple(teacher_shape)}",
    )


# --- loss-term averages ---------------------------------------------------------------------------------


class TermAverages:
    """Running means of named loss terms within an epoch; the last finished epoch is kept."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._count = 0
        self.last_epoch: dict[str, float] = {}
        self.steps_total = 0

    def add(self, terms: dict[str, float]) -> None:
        for name, value in terms.items():
            self._sums[name] = self._sums.get(name, 0.0) + float(value)
        self._count += 1
        self.steps_total += 1

    def current(self) -> dict[str, float]:
        return {k: v / self._count for k, v in self._sums.items()} if self._count else {}

    def end_epoch(self) -> None:
        if self._count:
            self.last_epoch = self.current()
        self._sums, self._count = {}, 0

    def report(self) -> dict[str, float]:
        """The last finished epoch's means, or the running epoch's when none finished yet."""
        return dict(self.last_epoch) if self.last_epoch else self.current()
