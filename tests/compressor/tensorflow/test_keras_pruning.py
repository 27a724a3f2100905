"""Pruning a Keras model through ``training.prepare_compression`` and seed 001's hooks (``tox -e tf``)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed here: run `tox -e tf`")
keras = pytest.importorskip("keras")

from compressor import training  # noqa: E402
from compressor.algorithms.pruning.keras_backend import from_torch_layout, to_torch_layout  # noqa: E402
from compressor.config import WeightPruningConfig  # noqa: E402
from compressor.errors import ConfigError  # noqa: E402


def accuracy(model, digits) -> float:
    return float((np.asarray(model(digits[2], training=False)).argmax(1) == digits[3]).mean())


def test_layouts_round_trip():
    for shape in ((5, 7), (3, 3, 4, 8)):
        kernel = np.arange(np.prod(shape)).reshape(shape)
        assert np.array_equal(from_torch_layout(to_torch_layout(kernel)), kernel)
    assert to_torch_layout(np.zeros((3, 3, 4, 8))).shape == (8, 4, 3, 3)


def test_4x1_magnitude_pruning_with_the_seed_loop(digits, tmp_path, seed_loop, make_cnn):
    model = make_cnn()
    config = WeightPruningConfig(
        pruning_type="magnitude",
        pattern="4x1",
        target_sparsity=0.8,
        start_step=10,
        end_step=150,
        pruning_frequency=10,
        pruning_op_types=["Conv", "Linear"],
        excluded_op_names=["fc2"],
    )
    manager = training.prepare_compression(model, config)
    seed_loop(model, manager, digits[0], digits[1], epochs=8)
    summary = manager.summary()["techniques"][0]
    zero, total = 0, 0
    for name in ("c1", "c2", "fc1"):
        kernel = to_torch_layout(np.asarray(model.get_layer(name).kernel.numpy()))
        kernel = kernel.reshape(kernel.shape[0], -1)  # the patterns' 2-D view: (out, in * kernel size)
        blocks = kernel.reshape(kernel.shape[0] // 4, 4, -1)  # 4 output rows x 1 input column
        zero_blocks = np.all(blocks == 0, axis=1)
        # every zero sits in a whole pruned block: no scattered zeros
        assert np.count_nonzero(kernel) == np.count_nonzero(np.repeat(~zero_blocks, 4, axis=0) * kernel), name
        zero, total = zero + zero_blocks.sum() * 4, total + kernel.size
    assert abs(zero / total - 0.8) < 0.02, zero / total  # the global scope's target over the selected ops
    assert np.count_nonzero(model.get_layer("fc2").kernel.numpy()) == model.get_layer("fc2").kernel.numpy().size
    assert accuracy(model, digits) > 0.8, summary
    saved = manager.save(tmp_path / "pruned.keras")
    reloaded = keras.saving.load_model(str(saved), safe_mode=True)
    assert np.array_equal(reloaded.get_layer("c2").kernel.numpy(), model.get_layer("c2").kernel.numpy())


def test_what_tensorflow_cannot_honour_is_refused_by_key(make_cnn):
    with pytest.raises(ConfigError, match="pruning_type.*not supported on tensorflow"):
        training.prepare_compression(make_cnn(), WeightPruningConfig(pruning_type="snip_momentum"))
    with pytest.raises(ConfigError, match="pattern.*not supported on tensorflow"):
        training.prepare_compression(make_cnn(), WeightPruningConfig(pruning_type="magnitude", pattern="channelx1"))
