"""Shared by the TensorFlow tests (``tox -e tf``): the digits data as 8x8x1 images, split 1200/597."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], data.target[order]
    return x[:1200], y[:1200], x[1200:], y[1200:]


@pytest.fixture
def seed_loop():
    """``seed_loop(model, manager, x, y, epochs, after_step=None)``: seed 001's hook loop in a Keras
    GradientTape (Adam 3e-3, batches of 64); ``after_step(epoch, step)`` runs after each step's hooks."""
    import keras
    import tensorflow as tf

    def run(model, manager, x, y, epochs, after_step=None):
        optimizer = keras.optimizers.Adam(3e-3)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        manager.callbacks.on_train_begin()
        for epoch in range(epochs):
            manager.callbacks.on_epoch_begin(epoch)
            for step, start in enumerate(range(0, len(x), 64)):
                manager.callbacks.on_step_begin(step)
                with tf.GradientTape() as tape:
                    loss = loss_fn(y[start : start + 64], model(x[start : start + 64], training=True))
                grads = tape.gradient(loss, model.trainable_variables)
                manager.callbacks.on_before_optimizer_step()
                optimizer.apply(grads, model.trainable_variables)
                manager.callbacks.on_after_optimizer_step()
                manager.callbacks.on_step_end()
                if after_step is not None:
                    after_step(epoch, step)
            manager.callbacks.on_epoch_end()
        manager.callbacks.on_train_end()

    return run


@pytest.fixture(scope="session")
def make_cnn():
    """``make_cnn()``: the tests' untrained digits CNN (seeded): conv c1 (16), conv c2 (32), dense fc1 (64), fc2 (10)."""
    import keras

    def build():
        keras.utils.set_random_seed(0)
        return keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(16, 3, activation="relu", name="c1"),
                keras.layers.Conv2D(32, 3, activation="relu", name="c2"),
                keras.layers.Flatten(),
                keras.layers.Dense(64, activation="relu", name="fc1"),
                keras.layers.Dense(10, name="fc2"),
            ],
            name="net",
        )

    return build
