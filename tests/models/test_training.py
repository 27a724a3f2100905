"""Fast training checks on the smallest entry; full trainings of every entry live in test_zoo_slow.py."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import models

torch = pytest.importorskip("torch")


def test_digits_mlp_trains_to_its_accuracy_and_caches(isolated_cache):
    entry = models.get("mlp_digits")
    first = entry.prepare("torch")
    assert not first.from_cache and first.accuracy_ok, first
    assert first.cache_path.parent == isolated_cache and first.cache_path.is_file()
    assert first.train_seconds > 0
    meta = json.loads(first.cache_path.with_suffix(".json").read_text())
    assert meta["accuracy"] == first.accuracy and "torch" in meta["versions"]
    assert meta["identity"]["recipe"]["seed"] == entry.recipe["seed"]

    second = entry.prepare("torch")
    assert second.from_cache and second.accuracy == first.accuracy
    assert second.train_seconds == pytest.approx(first.train_seconds, abs=1e-3)
    assert entry.is_cached("torch")
    # Loaded weights are the trained ones: re-measuring gives the stored accuracy.
    assert entry.prepare("torch", verify=True).accuracy == pytest.approx(first.accuracy, abs=1e-9)


def test_training_is_reproducible_and_force_retrains(isolated_cache):
    entry = models.get("mlp_digits")
    first = entry.prepare("torch")
    again = entry.prepare("torch", force=True)
    assert not again.from_cache
    assert abs(again.accuracy - first.accuracy) <= entry.tolerance
    x = entry.example_inputs(8)
    np.testing.assert_allclose(entry.predict_fn(first.model)(x), entry.predict_fn(again.model)(x), rtol=1e-4, atol=1e-4)


def test_recipe_change_misses_the_cache(isolated_cache):
    entry = models.get("mlp_digits")
    entry.prepare("torch")
    shorter = dataclasses.replace(entry, recipe={**entry.recipe, "epochs": 2})
    assert not shorter.is_cached("torch")
    result = shorter.prepare("torch")
    assert not result.from_cache and result.cache_path != entry.prepare("torch").cache_path


def test_explicit_cache_dir_argument_wins(tmp_path):
    entry = models.get("mlp_digits")
    shorter = dataclasses.replace(entry, recipe={**entry.recipe, "epochs": 1})
    result = shorter.prepare("torch", cache_dir=tmp_path / "elsewhere")
    assert result.cache_path.parent == tmp_path / "elsewhere"


def test_onnx_prepare_exports_from_the_cached_torch_weights(isolated_cache):
    pytest.importorskip("onnxruntime")
    entry = models.get("mlp_digits")
    torch_result = entry.prepare("torch")
    onnx_result = entry.prepare("onnxrt")
    assert isinstance(onnx_result.model, str) and onnx_result.model.endswith(".onnx")
    assert onnx_result.accuracy == pytest.approx(torch_result.accuracy, abs=1e-3)
    assert entry.prepare("onnxrt").from_cache


def test_evaluate_helper_top1_and_agreement():
    entry = models.get("mlp_digits")
    x, y = entry.load_data("eval")
    label_of = {row.tobytes(): label for row, label in zip(x, y, strict=True)}

    def oracle(batch):  # always right (up to duplicate rows with different labels)
        return np.eye(10, dtype=np.float32)[[label_of[row.tobytes()] for row in batch]]

    assert entry.evaluate(oracle) == pytest.approx(1.0, abs=0.01)
    constant = lambda batch: np.tile(np.eye(10, dtype=np.float32)[3], (len(batch), 1))  # noqa: E731
    assert entry.evaluate(constant) == pytest.approx(np.mean(y == 3))
    from models.evaluation import evaluate

    assert evaluate(constant, x, y, "agreement", reference_fn=constant) == 1.0
    with pytest.raises(ValueError, match="reference_fn"):
        evaluate(constant, x, y, "agreement")
