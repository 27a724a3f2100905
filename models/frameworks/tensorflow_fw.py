"""TensorFlow/Keras adapter: same data and recipe as torch, Keras ``fit`` as the training loop."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from models.definition import EntryDefinition, resolve
from models.errors import CacheError
from models.evaluation import Inputs, num_examples
from models.frameworks import train_threads

NAME = "tensorflow"
SUFFIX = ".weights.h5"  # Keras 3 refuses any other name for a weights-only file


def versions() -> tuple[str, ...]:
    return ("tensorflow", "tensorflow-cpu", "keras")


def _configure_threads() -> None:
    # Only possible before TensorFlow starts its runtime; later calls raise and are ignored.
    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(train_threads())
        tf.config.threading.set_inter_op_parallelism_threads(1)


def build(entry: EntryDefinition) -> Any:
    _configure_threads()
    keras.utils.set_random_seed(int(entry.recipe["seed"]))
    return resolve(entry.builders[NAME])(entry)


def train(entry: EntryDefinition, model: Any) -> Any:
    recipe = entry.recipe
    x, y = entry.load_data("train")
    epochs, batch_size, lr = int(recipe["epochs"]), int(recipe["batch_size"]), float(recipe["lr"])
    steps = epochs * ((num_examples(x) + batch_size - 1) // batch_size)
    # Warmup then cosine decay: the Keras counterpart of torch's OneCycleLR in the torch recipe.
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / 25,
        decay_steps=steps - steps * 3 // 10,
        warmup_target=lr,
        warmup_steps=steps * 3 // 10,
        alpha=1e-4,
    )
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=float(recipe.get("wd", 1e-4)))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    keras.utils.set_random_seed(int(recipe["seed"]))
    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
    return model


def save(entry: EntryDefinition, model: Any, path: Path) -> None:
    model.save_weights(str(path))


def load(entry: EntryDefinition, path: Path) -> Any:
    model = build(entry)
    try:
        model.load_weights(str(path))  # HDF5 arrays: no code runs on load
    except Exception as exc:  # noqa: BLE001 - h5py/keras raise many types for bad files
        raise CacheError(f"cannot load cached Keras weights {path}: {exc}; rerun with --force") from exc
    return model


def predict_fn(model: Any) -> Callable[[Inputs], np.ndarray]:
    # A fixed signature with a free batch dim: one trace serves every batch size (a last, smaller
    # batch would otherwise retrace, and TensorFlow warns about it).
    spec = tf.TensorSpec(shape=model.inputs[0].shape, dtype=model.inputs[0].dtype)

    @tf.function(input_signature=[spec])
    def forward(x):
        return model(x, training=False)

    def predict(x: Inputs) -> np.ndarray:
        return forward(tf.convert_to_tensor(x)).numpy()

    return predict


def num_params(model: Any) -> int:
    return int(model.count_params())
