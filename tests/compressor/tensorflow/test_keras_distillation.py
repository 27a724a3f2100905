"""Knowledge distillation of a Keras student through ``prepare_compression`` and the seed hooks (``tox -e tf``)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed here: run `tox -e tf`")
keras = pytest.importorskip("keras")

from compressor import training  # noqa: E402
from compressor.algorithms.distillation import build_optimizer  # noqa: E402
from compressor.config import (  # noqa: E402
    DistillationConfig,
    KnowledgeDistillationLossConfig,
    SelfKnowledgeDistillationLossConfig,
)
from compressor.errors import ConfigError  # noqa: E402


def net(width: int, seed: int):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(width, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )


def accuracy(model, digits) -> float:
    return float((np.asarray(model(digits[2], training=False)).argmax(1) == digits[3]).mean())


@pytest.fixture(scope="module")
def teacher(digits):
    model = net(32, 0)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(digits[0], digits[1], epochs=10, batch_size=64, verbose=0)
    return model


def test_a_keras_student_learns_from_its_teacher_with_the_seed_loop(teacher, digits):
    student = net(4, 1)
    conf = DistillationConfig(
        teacher_model=teacher,
        criterion=KnowledgeDistillationLossConfig(temperature=2.0, loss_types=["CE", "KL"], loss_weights=[0.5, 0.5]),
        optimizer={"Adam": {"learning_rate": 0.003}},
    )
    optimizer = build_optimizer(conf, None, framework="tensorflow")  # Keras optimizers take no params
    assert isinstance(optimizer, keras.optimizers.Adam)
    manager = training.prepare_compression(student, conf)
    manager.callbacks.on_train_begin()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    x, y = digits[0], digits[1]
    first = None
    for epoch in range(6):
        manager.callbacks.on_epoch_begin(epoch)
        for step, start in enumerate(range(0, len(x), 64)):
            xb, yb = x[start : start + 64], y[start : start + 64]
            manager.callbacks.on_step_begin(step)
            with tf.GradientTape() as tape:
                outputs = student(xb, training=True)
                loss = loss_fn(yb, outputs)
                total = manager.callbacks.on_after_compute_loss(xb, outputs, loss)
            if first is None:  # the formula: 0.5 * loss + 0.5 * T^2 * KL(teacher/T || student/T)
                t = 2.0
                log_q = tf.nn.log_softmax(teacher(xb, training=False) / t)
                kl = tf.reduce_mean(tf.reduce_sum(tf.exp(log_q) * (log_q - tf.nn.log_softmax(outputs / t)), -1))
                assert float(total) == pytest.approx(0.5 * float(loss) + 0.5 * t * t * float(kl), rel=1e-5)
                first = float(total)
            grads = tape.gradient(total, student.trainable_variables)
            assert all(g is not None for g in grads)  # the distillation term reaches the student's weights
            optimizer.apply(grads, student.trainable_variables)
            manager.callbacks.on_step_end()
        manager.callbacks.on_epoch_end()
    manager.callbacks.on_train_end()
    report = manager.summary()["techniques"][0]
    assert report["teacher_forward_passes"] == report["steps"] == 6 * 19
    assert report["loss_terms_last_epoch"]["total"] < first  # it learned
    assert accuracy(student, digits) > 0.85


def test_self_distillation_is_refused_on_tensorflow():
    with pytest.raises(ConfigError, match="not supported on tensorflow"):
        training.prepare_compression(net(4, 0), DistillationConfig(criterion=SelfKnowledgeDistillationLossConfig()))
