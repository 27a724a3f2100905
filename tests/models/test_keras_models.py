"""Keras versions of the MNIST CNN and ResNet-8 (run where TensorFlow is installed)."""

from __future__ import annotations

import numpy as np
import pytest

import models

pytest.importorskip("tensorflow")

KERAS_ENTRIES = [models.get("cnn_mnist"), models.get("resnet8_fashion")]


@pytest.mark.parametrize("entry", KERAS_ENTRIES, ids=lambda e: e.name)
def test_keras_model_matches_the_torch_signature_and_size(entry):
    model = entry.build("tensorflow")
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == entry.params
    logits = entry.predict_fn(model, "tensorflow")(entry.example_inputs(3))  # NCHW in, like torch
    assert logits.shape == (3, entry.num_classes) and np.isfinite(logits).all()


@pytest.mark.parametrize("entry", KERAS_ENTRIES, ids=lambda e: e.name)
def test_keras_weights_round_trip_without_pickle(entry, tmp_path):
    from models.frameworks import tensorflow_fw

    model = entry.build("tensorflow")
    path = tmp_path / "w.weights.h5"
    tensorflow_fw.save(entry, model, path)
    reloaded = tensorflow_fw.load(entry, path)
    x = entry.example_inputs(4)
    np.testing.assert_allclose(
        tensorflow_fw.predict_fn(reloaded)(x), tensorflow_fw.predict_fn(model)(x), rtol=1e-6, atol=1e-6
    )


@pytest.mark.slow
@pytest.mark.parametrize("entry", KERAS_ENTRIES, ids=lambda e: e.name)
def test_keras_entry_trains_to_its_stated_accuracy(entry):
    result = entry.prepare("tensorflow")
    assert result.accuracy_ok, f"{entry.name}/tensorflow: {result.accuracy:.4f} vs {entry.expected_for('tensorflow')}"
    assert result.cache_path.name.endswith(".weights.h5")
    assert entry.prepare("tensorflow").from_cache
