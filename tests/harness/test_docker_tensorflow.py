"""TensorFlow jobs in the tensorflow image (``tox -e docker``): the host never needs TensorFlow.

The zoo cache starts empty, so ``harness run`` must prepare the Keras model in the image (the only
container that may write the cache), then run the fp32 and int8 jobs in containers of that image.
"""

from __future__ import annotations

import importlib.util
import os

import pandas as pd
import pytest

from harness.images import get_image
from harness.run_cli import run_suite

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def tf_image(docker_image):
    return docker_image(get_image("tensorflow").tag, "harness containers build tensorflow")


def test_a_keras_model_is_prepared_and_quantized_in_the_tensorflow_image(tf_image, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)
    monkeypatch.setenv("COMPRESSOR_CACHE_DIR", str(cache))
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: tf-docker\ntimeout_s: 600\nmodels: [cnn_mnist]\nframeworks: [tensorflow]\ntechniques:\n"
        "  - {name: fp32, kind: fp32}\n  - {name: int8, kind: int8_minmax}\n"
        "settings: {warmup: 1, iterations: 5, rounds: 1, throughput_batch: 8, eval_samples: 500, calib_samples: 64}\n"
        "executor: {kind: docker, jobs: 1}\n"
    )
    summary = run_suite(suite, results_dir=tmp_path / "res", progress=False)
    assert summary.statuses == {"cnn_mnist/tensorflow/fp32": "ok", "cnn_mnist/tensorflow/int8": "ok"}
    assert list(cache.glob("cnn_mnist-tensorflow-*.weights.h5")), "the model was not prepared into the cache"
    if importlib.util.find_spec("tensorflow") is None:
        assert list((tmp_path / "res").rglob("prepare-cnn_mnist-tensorflow.log")), "not prepared in the image"
    rows = pd.concat(pd.read_parquet(p) for p in (tmp_path / "res").glob("*.parquet")).set_index("technique")
    assert rows.loc["fp32", "accuracy"] > 0.95
    assert rows.loc["int8", "accuracy"] >= rows.loc["fp32", "accuracy"] - 0.01
    assert rows.loc["int8", "image_id"] == tf_image.id and rows.loc["int8", "model_size_bytes"] > 0
    assert rows.loc["int8", "speedup_vs_fp32_optimized"] > 0  # timed against the float TFLite model too
