"""Quantization-aware training of a Keras model with seed 001's hooks, converted to TFLite int8 (``tox -e tf``)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed here: run `tox -e tf`")
keras = pytest.importorskip("keras")

from compressor import training  # noqa: E402
from compressor.backends import tf_basics  # noqa: E402
from compressor.config import QuantizationAwareTrainingConfig  # noqa: E402


def accuracy(model, digits) -> float:
    out = tf_basics.predict(model, (digits[2],))
    return float((out.argmax(axis=1) == digits[3]).mean())


def test_qat_with_the_seed_loop_gives_a_tflite_int8_model(digits, tmp_path, seed_loop):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, activation="relu", name="c1"),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu", name="fc1"),
            keras.layers.Dense(10, name="fc2"),
        ]
    )
    manager = training.prepare_compression(model, QuantizationAwareTrainingConfig())
    x = digits[0]

    def fake_quantization_is_live(epoch, step):  # same weights, other (nearby) outputs
        if epoch == 0 and step == 0:
            assert "call" in vars(model.get_layer("c1"))
            plain = keras.models.clone_model(model)
            plain.set_weights(model.get_weights())
            fq, fp = np.asarray(model(x[:64], training=False)), np.asarray(plain(x[:64], training=False))
            assert not np.array_equal(fq, fp) and np.allclose(fq, fp, atol=0.5)

    seed_loop(model, manager, digits[0], digits[1], epochs=8, after_step=fake_quantization_is_live)
    int8 = manager.model
    assert isinstance(int8, tf_basics.TFLiteModel)
    interpreter = int8.interpreter()
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    kinds = [(op["op_name"], tensors[op["inputs"][1]]["dtype"]) for op in interpreter._get_ops_details()
             if op["op_name"] in ("CONV_2D", "FULLY_CONNECTED")]  # fmt: skip
    assert kinds == [("CONV_2D", np.int8), ("FULLY_CONNECTED", np.int8), ("FULLY_CONNECTED", np.int8)]
    float_accuracy = float((np.asarray(model(digits[2], training=False)).argmax(1) == digits[3]).mean())
    assert float_accuracy > 0.9  # the user's model keeps its trained float weights and its own call
    assert "call" not in vars(model.get_layer("c1"))
    assert accuracy(int8, digits) >= float_accuracy - 0.01
    report = manager.summary()["techniques"][0]
    assert report["converted"] and report["quantized_ops"] == ["c1", "fc1", "fc2"]
    from compressor import quantization

    # no tfmot: Keras 3 stays the process's Keras (tfmot would set TF_USE_LEGACY_KERAS=1 for everyone)
    assert "TF_USE_LEGACY_KERAS" not in os.environ and keras.__version__.startswith("3.")
    again = quantization.load(manager.save(tmp_path / "qat.tflite"))
    assert accuracy(again.model, digits) == accuracy(int8, digits)
