"""Knowledge distillation for Keras students (framework ``"tensorflow"``), same formula as torch's
(``algorithm.py``): ``w0 * user_loss + w1 * T**2 * D(student / T, teacher / T)`` with D in CE, KL, MSE.

The hook is called inside the user's ``tf.GradientTape`` with the student's outputs, so the returned loss
is differentiable in the student; the teacher runs with ``training=False`` and its logits are constants
(``tf.stop_gradient``). A teacher that is the student is cloned (same weights) at ``on_train_begin``, as
torch snapshots it. Self-distillation (``SelfKnowledgeDistillationLossConfig``) is not supported on
tensorflow and is refused at ``prepare_compression``; ``build_optimizer`` gives Keras optimizers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ...config.training import KnowledgeDistillationLossConfig
from ...errors import ConfigError
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

log = logging.getLogger(__name__)


def _tf() -> Any:
    import tensorflow as tf

    return tf


def soft_cross_entropy(student: Any, teacher: Any) -> Any:
    tf = _tf()
    return tf.reduce_mean(-tf.reduce_sum(tf.nn.softmax(teacher) * tf.nn.log_softmax(student), axis=-1))


def kl_divergence(student: Any, teacher: Any) -> Any:
    tf = _tf()
    log_q = tf.nn.log_softmax(teacher)
    return tf.reduce_mean(tf.reduce_sum(tf.exp(log_q) * (log_q - tf.nn.log_softmax(student)), axis=-1))


def mse(student: Any, teacher: Any) -> Any:
    tf = _tf()
    return tf.reduce_mean(tf.square(student - teacher))


KD_LOSSES = {"CE": (soft_cross_entropy, True), "KL": (kl_divergence, True), "MSE": (mse, True)}


class KerasKnowledgeDistillation(TrainingComponent):
    name = "distillation"
    end_order = 0  # first: a teacher that is the student is cloned before other techniques change it

    def __init__(self, config: Any, model: Any) -> None:
        self.config = config
        self.plan = kd_plan(config.criterion)
        self.student = model
        self.teacher: Any = None
        self.teacher_is_snapshot = False
        self._started = False
        self.terms = TermAverages()
        self.epochs = 0
        self.teacher_forwards = 0

    def validate(self, model: Any) -> None:
        import keras

        teacher = self.config.teacher_model
        check_teacher_given(teacher)
        check_teacher_kind(teacher, isinstance(teacher, keras.Model), "a keras.Model (the student is a Keras model)")
        check_label_type(self.plan)

    def on_train_begin(self, model: Any) -> None:
        if self._started:
            return
        import keras

        self.student = model if model is not None else self.student
        teacher = self.config.teacher_model
        if teacher is self.student:
            log.info("distillation: teacher_model is the student; distilling from a frozen clone of it")
            teacher = keras.models.clone_model(self.student)
            teacher.set_weights(self.student.get_weights())
            self.teacher_is_snapshot = True
        self.teacher = teacher
        self._started = True

    def on_after_compute_loss(self, inputs: Any, outputs: Any, loss: Any, teacher_outputs: Any = None) -> Any:
        tf = _tf()
        if not self._started:
            self.on_train_begin(self.student)
        plan = self.plan
        student = tf.convert_to_tensor(outputs[0] if isinstance(outputs, (tuple, list)) else outputs)

        def distillation() -> Any:
            teacher, field = teacher_outputs, "teacher_outputs"
            if teacher is None:
                self.teacher_forwards += 1
                teacher, field = self.teacher(inputs, training=False), "teacher_model"
            teacher = tf.stop_gradient(tf.cast(tf.convert_to_tensor(teacher), student.dtype))
            check_same_logits(field, teacher.shape, student.shape)
            fn, tempered = KD_LOSSES[plan.teacher_type]
            t = plan.temperature if tempered else 1.0
            return fn(student / t, teacher / t) * (t * t)

        total, terms = kd_loss(plan, loss, distillation, float)
        self.terms.add(terms)
        return total

    def on_epoch_end(self) -> None:
        self.terms.end_epoch()
        self.epochs += 1

    def on_train_end(self, model: Any) -> Any:
        self.teacher = None
        self._started = False
        return model

    def summary(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "technique": "knowledge_distillation",
            "framework": "tensorflow",
            "temperature": plan.temperature,
            "loss_types": [plan.label_type, plan.teacher_type],
            "loss_weights": [plan.label_weight, plan.teacher_weight],
            "loss_terms_last_epoch": self.terms.report(),
            "steps": self.terms.steps_total,
            "epochs": self.epochs,
            "teacher_is_snapshot_of_student": self.teacher_is_snapshot,
            "teacher_forward_passes": self.teacher_forwards,
        }


class KerasDistillation:
    """What ``distillation.make_component`` / ``build_optimizer`` load for ``"tensorflow"``."""

    @staticmethod
    def make_component(config: Any, model: Any) -> TrainingComponent:
        criterion = config.criterion
        if not isinstance(criterion, KnowledgeDistillationLossConfig):
            raise ConfigError(
                "criterion",
                type(criterion).__name__,
                ["KnowledgeDistillationLossConfig"],
                reason="not supported on tensorflow: self-distillation reads intermediate layer outputs, torch-only",
            )
        return KerasKnowledgeDistillation(config, model)

    @staticmethod
    def build_optimizer(optimizer_conf: Mapping[str, Mapping[str, Any]], params: Any = None) -> Any:
        import keras

        ((name, settings),) = optimizer_conf.items()
        cls = {"SGD": keras.optimizers.SGD, "Adam": keras.optimizers.Adam, "AdamW": keras.optimizers.AdamW}[name]
        return cls(**dict(settings))  # Keras takes learning_rate/momentum/beta_1/... by the config's names
