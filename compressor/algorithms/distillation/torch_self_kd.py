"""Self-distillation for PyTorch: deeper layers of the model teach shallower ones in the same pass.

Forward hooks on the modules named in ``layer_mappings`` record each module's latest output (its
logits when it returns a tuple/dict/output object). ``on_after_compute_loss`` combines the recorded
outputs of the forward pass that produced ``outputs`` (formula in ``algorithm.py``), then forgets
them, so a stale pass is never reused: a missing output is an error that names the layer.

``teacher_model`` is not run: self-distillation's teacher is the student itself (seed 001 passes
``teacher_model=model``). Any other teacher is ignored with a warning. Without ``layer_mappings`` no
hook is installed and the loop's loss passes through unchanged (``algorithm.py`` says why).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from ...errors import CompressorError
from ..component import TrainingComponent
from .algorithm import TermAverages, check_self_kd_layers, empty_mapping_note, self_kd_plan, shape_error
from .torch_losses import SELF_KD_LOSSES, first_tensor

log = logging.getLogger(__name__)


class TorchSelfDistillation(TrainingComponent):
    name = "distillation"
    end_order = 0  # first: a teacher that is the student is copied before other techniques change it

    def __init__(self, config: Any, model: nn.Module) -> None:
        self.config = config
        self.plan = self_kd_plan(config.criterion)
        self.student = model
        self._handles: list[Any] = []
        self._started = False
        self.note: str | None = None  # set when there is nothing to distil
        self._features: dict[str, torch.Tensor | None] = {}
        self.terms = TermAverages()
        self.epochs = 0

    def validate(self, model: Any) -> None:
        names = [name for name, _ in model.named_modules()]
        check_self_kd_layers(self.plan, names)
        if not self.plan.groups:
            self.note = empty_mapping_note(names)
            log.warning("distillation: %s", self.note)
        teacher = self.config.teacher_model
        if teacher is not None and teacher is not model:
            log.warning(
                "distillation: SelfKnowledgeDistillationLossConfig distils the model into itself; "
                "teacher_model (%s) is not used",
                type(teacher).__name__,
            )

    def on_train_begin(self, model: Any) -> None:
        if self._started:  # seed 001 calls on_train_begin twice
            return
        self._started = True
        self.student = model if model is not None else self.student
        for name in self.plan.layer_names:
            module = self.student.get_submodule(name)
            self._handles.append(module.register_forward_hook(self._recorder(name)))

    def _recorder(self, name: str):
        def record(_module: nn.Module, _inputs: Any, output: Any) -> None:
            self._features[name] = first_tensor(output)

        return record

    def on_after_compute_loss(self, inputs: Any, outputs: Any, loss: Any, teacher_outputs: Any = None) -> Any:
        if not self._started:
            raise CompressorError(
                "self-distillation: no layer outputs are recorded before on_train_begin; call "
                "compression_manager.on_train_begin() before the first forward pass"
            )
        plan = self.plan
        if not plan.groups:  # nothing to distil: the loop's loss, unchanged
            if loss is not None:
                self.terms.add({"origin_loss": _value(loss), "total": _value(loss)})
            return loss
        total: Any = 0.0
        terms: dict[str, float] = {}
        for group in plan.groups:
            fn, tempered = SELF_KD_LOSSES[group.loss_type]
            t = plan.temperature if tempered else 1.0
            group_loss: Any = 0.0
            for p, (student_name, teacher_name) in enumerate(group.pairs):
                student = self._feature(student_name)
                teacher = self._feature(teacher_name).detach()
                if student.shape != teacher.shape:
                    raise shape_error(
                        f"criterion.layer_mappings[{group.index}][{p}]",
                        (student_name, teacher_name),
                        student.shape,
                        teacher.shape,
                        group.loss_type,
                    )
                group_loss = group_loss + fn(student / t, teacher / t)
            total = total + group.weight * group_loss
            terms[group.term] = float(group_loss.detach())
        if plan.add_origin_loss:
            total = total + loss
            terms["origin_loss"] = _value(loss)
        terms["total"] = float(total.detach())
        self.terms.add(terms)
        self._features.clear()
        return total

    def _feature(self, name: str) -> torch.Tensor:
        feature = self._features.get(name)
        if feature is None:
            why = "it did not run in this forward pass" if name not in self._features else "it returned no tensor"
            raise CompressorError(
                f"self-distillation: no output recorded for layer {name!r} ({why}); map layers that run in "
                "the student's forward pass and return a tensor, a tuple starting with one, or logits"
            )
        return feature

    def on_epoch_end(self) -> None:
        self.terms.end_epoch()
        self.epochs += 1

    def on_train_end(self, model: Any) -> Any:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._started = False
        self._features.clear()
        return model

    def summary(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "technique": "self_distillation",
            "temperature": plan.temperature,
            "layer_mappings": [[list(pair) for pair in g.pairs] for g in plan.groups],
            "loss_types": [g.loss_type for g in plan.groups],
            "loss_weights": [g.weight for g in plan.groups],
            "add_origin_loss": plan.add_origin_loss,
            "distilling": bool(plan.groups),
            "note": self.note,
            "loss_terms_last_epoch": self.terms.report(),
            "steps": self.terms.steps_total,
            "epochs": self.epochs,
            "teacher_params": sum(p.numel() for p in self.student.parameters()),
        }


def _value(loss: Any) -> float:
    return float(loss.detach()) if torch.is_tensor(loss) else float(loss)
