"""Gluon versions of the MNIST CNN and ResNet-8 (run where MXNet 1.9.1 is installed)."""

from __future__ import annotations

import numpy as np
import pytest

import models

pytest.importorskip("mxnet")

GLUON_ENTRIES = [models.get("cnn_mnist"), models.get("resnet8_fashion")]


@pytest.mark.parametrize("entry", GLUON_ENTRIES, ids=lambda e: e.name)
def test_gluon_model_matches_the_torch_signature_and_size(entry):
    from models.frameworks import mxnet_fw

    model = entry.build("mxnet")
    assert mxnet_fw.num_params(model) == entry.params
    logits = entry.predict_fn(model, "mxnet")(entry.example_inputs(3))
    assert logits.shape == (3, entry.num_classes) and np.isfinite(logits).all()


@pytest.mark.parametrize("entry", GLUON_ENTRIES, ids=lambda e: e.name)
def test_gluon_parameters_round_trip(entry, tmp_path):
    from models.frameworks import mxnet_fw

    model = entry.build("mxnet")
    path = tmp_path / "w.params"
    mxnet_fw.save(entry, model, path)
    reloaded = mxnet_fw.load(entry, path)
    x = entry.example_inputs(4)
    np.testing.assert_allclose(mxnet_fw.predict_fn(reloaded)(x), mxnet_fw.predict_fn(model)(x), rtol=1e-6, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("entry", GLUON_ENTRIES, ids=lambda e: e.name)
def test_gluon_entry_trains_to_its_stated_accuracy(entry):
    result = entry.prepare("mxnet")
    assert result.accuracy_ok, f"{entry.name}/mxnet: {result.accuracy:.4f} vs {entry.expected_for('mxnet')}"
    assert entry.prepare("mxnet").from_cache
