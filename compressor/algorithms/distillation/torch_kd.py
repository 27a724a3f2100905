"""Knowledge distillation from a separate (frozen) teacher for PyTorch students.

The formula and its INC lineage are in ``algorithm.py``. What this component guarantees:

* the teacher runs in eval mode under ``torch.no_grad`` on every step (``eval()`` is re-applied
  before each forward, so a ``model.train()`` that reaches the teacher changes nothing), its
  parameters get ``requires_grad=False`` for the duration of training and their previous flags and
  train/eval mode are restored by ``on_train_end``;
* when the teacher *is* the student (seed 001's orchestration example passes the same model), or
  shares parameters with it, a deep copy taken at ``on_train_begin`` is the teacher: the student
  then learns from its own state before compression (e.g. the dense model while pruning). Put the
  ``DistillationConfig`` first in ``confs`` so the copy is taken before other techniques change it;
* ``teacher_outputs`` passed to the hook (the 1.x loop's precomputed logits) replace the teacher
  forward pass for that step;
* the teacher is called like the student: ``teacher(x)``, ``teacher(*inputs)`` or ``teacher(**inputs)``,
  on its own device; its logits come back on the student's device and dtype.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import torch
from torch import nn

from ..component import TrainingComponent
from .algorithm import (
    TermAverages,
    check_label_type,
    check_same_logits,
    check_teacher_given,
    check_teacher_kind,
    kd_loss,
    kd_plan,
)
from .torch_losses import KD_LOSSES, call_model, count_params, logits_of, move_to, param_device

log = logging.getLogger(__name__)


class TorchKnowledgeDistillation(TrainingComponent):
    name = "distillation"
    end_order = 0  # first: a teacher that is the student is copied before other techniques change it

    def __init__(self, config: Any, model: nn.Module) -> None:
        self.config = config
        self.plan = kd_plan(config.criterion)
        self.student = model
        self.teacher: nn.Module | None = None
        self.teacher_is_snapshot = False
        self._saved_flags: list[tuple[nn.Parameter, bool]] = []
        self._saved_training = False
        self._started = False
        self.terms = TermAverages()
        self.epochs = 0
        self.teacher_forwards = 0
        self.precomputed_steps = 0
        self._teacher_params = 0

    # --- before training ------------------------------------------------------------------------------
    def validate(self, model: Any) -> None:
        teacher = self.config.teacher_model
        check_teacher_given(teacher)
        check_teacher_kind(
            teacher, isinstance(teacher, nn.Module), "a torch.nn.Module (the student is a PyTorch model)"
        )
        check_label_type(self.plan)

    def on_train_begin(self, model: Any) -> None:
        if self._started:  # seed 001 calls on_train_begin twice (callbacks.on_train_begin + the loop's)
            return
        self.student = model if model is not None else self.student
        teacher = self.config.teacher_model
        check_teacher_given(teacher)
        if teacher is self.student or _shares_parameters(teacher, self.student):
            log.info("distillation: teacher_model is the student; distilling from a frozen copy of it")
            teacher = copy.deepcopy(teacher)
            self.teacher_is_snapshot = True
        self._saved_flags = [(p, p.requires_grad) for p in teacher.parameters()]
        self._saved_training = teacher.training
        teacher.requires_grad_(False)
        teacher.eval()
        self.teacher = teacher
        self._teacher_params = count_params(teacher)
        self._started = True

    # --- every step ------------------------------------------------------------------------------------
    def on_after_compute_loss(self, inputs: Any, outputs: Any, loss: Any, teacher_outputs: Any = None) -> Any:
        if not self._started:
            self.on_train_begin(self.student)
        plan = self.plan
        student_logits = logits_of(outputs, "student output")

        def distillation() -> torch.Tensor:
            teacher_logits = self._teacher_logits(inputs, student_logits, teacher_outputs)
            fn, tempered = KD_LOSSES[plan.teacher_type]
            t = plan.temperature if tempered else 1.0
            return fn(student_logits / t, teacher_logits / t) * (t * t)

        total, terms = kd_loss(plan, loss, distillation, _scalar)
        self.terms.add(terms)
        return total

    def _teacher_logits(self, inputs: Any, student_logits: torch.Tensor, precomputed: Any) -> torch.Tensor:
        if precomputed is not None:
            self.precomputed_steps += 1
            field = "teacher_outputs"
            logits = logits_of(precomputed, "teacher_outputs") if not _is_array(precomputed) else precomputed
            logits = torch.as_tensor(logits).detach()
        else:
            self.teacher_forwards += 1
            field = "teacher_model"
            teacher = self.teacher
            teacher.eval()
            device = param_device(teacher)
            if device is not None and device != student_logits.device:
                inputs = move_to(inputs, device)
            with torch.no_grad():
                logits = logits_of(call_model(teacher, inputs), "teacher output")
        logits = logits.to(device=student_logits.device, dtype=student_logits.dtype)
        check_same_logits(field, logits.shape, student_logits.shape)
        return logits

    def on_epoch_end(self) -> None:
        self.terms.end_epoch()
        self.epochs += 1

    # --- after training --------------------------------------------------------------------------------
    def on_train_end(self, model: Any) -> Any:
        if self._started and not self.teacher_is_snapshot:
            for param, flag in self._saved_flags:
                param.requires_grad_(flag)
            self.teacher.train(self._saved_training)
        self._saved_flags = []
        self.teacher = None  # a snapshot can be large; the summary keeps what matters
        self._started = False
        return model

    def summary(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "technique": "knowledge_distillation",
            "temperature": plan.temperature,
            "loss_types": [plan.label_type, plan.teacher_type],
            "loss_weights": [plan.label_weight, plan.teacher_weight],
            "loss_terms_last_epoch": self.terms.report(),
            "steps": self.terms.steps_total,
            "epochs": self.epochs,
            "teacher_params": self._teacher_params,
            "teacher_is_snapshot_of_student": self.teacher_is_snapshot,
            "teacher_forward_passes": self.teacher_forwards,
            "precomputed_teacher_steps": self.precomputed_steps,
        }


def _shares_parameters(a: nn.Module, b: Any) -> bool:
    if not isinstance(b, nn.Module):
        return False
    ids = {id(p) for p in b.parameters()}
    return any(id(p) in ids for p in a.parameters())


def _scalar(value: Any) -> float:
    return float(value.detach()) if torch.is_tensor(value) else float(value)


def _is_array(value: Any) -> bool:
    return hasattr(value, "__array__") and not torch.is_tensor(value)
