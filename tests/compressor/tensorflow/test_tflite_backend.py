"""The TensorFlow backend: Keras models quantized to TensorFlow Lite int8, per-op fallback, tuning, save/load.

Runs where TensorFlow is installed (``tox -e tf``); skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed here: run `tox -e tf`")
keras = pytest.importorskip("keras")

from compressor import quantization  # noqa: E402
from compressor.algorithms.ptq.algorithm import FP32, OpQuant, Plan  # noqa: E402
from compressor.algorithms.ptq.tflite_backend import TFLitePTQBackend  # noqa: E402
from compressor.backends import detect_framework, tf_basics  # noqa: E402
from compressor.config import AccuracyCriterion, PostTrainingQuantConfig, TuningCriterion  # noqa: E402
from compressor.errors import BackendError, ConfigError  # noqa: E402


@pytest.fixture(scope="module")
def cnn(digits, make_cnn):
    model = make_cnn()
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(digits[0], digits[1], epochs=15, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def fragile(cnn, digits):
    """The same function with three of c1's output channels x300 and c2's matching inputs /300 (ReLU is
    positively homogeneous): fp32 predictions unchanged, c2's input range blown up for per-tensor int8."""
    clone = keras.models.clone_model(cnn)
    clone.set_weights(cnn.get_weights())
    (w1, b1), (w2, b2) = clone.get_layer("c1").get_weights(), clone.get_layer("c2").get_weights()
    hidden = keras.Model(cnn.inputs, cnn.get_layer("c1").output)(digits[0][:200]).numpy()
    top = np.argsort(-hidden.mean(axis=(0, 1, 2)))[:3]
    scale = np.ones(w1.shape[-1], np.float32)
    scale[top] = 300.0
    clone.get_layer("c1").set_weights([w1 * scale, b1 * scale])
    clone.get_layer("c2").set_weights([w2 / scale[None, None, :, None], b2])
    return clone


@pytest.fixture
def backend():
    return TFLitePTQBackend()


def calibration(digits, n=200):
    return [(digits[0][i : i + 50],) for i in range(0, n, 50)]


def accuracy(model, digits) -> float:
    out = tf_basics.predict(model, (digits[2],))
    return float((out.argmax(axis=1) == digits[3]).mean())


def float_weight_ops(model: tf_basics.TFLiteModel) -> set[str]:
    """Ops whose weight is still float (fp32 fallback), named like the backend names them."""
    interpreter = model.interpreter()
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    found = set()
    for op in interpreter._get_ops_details():
        if op["op_name"] in ("CONV_2D", "FULLY_CONNECTED") and tensors[op["inputs"][1]]["dtype"] == np.float32:
            found.add(tensors[op["inputs"][1]]["name"].rsplit("/", 1)[0])
    return found


def test_a_keras_model_is_a_tensorflow_model_with_four_quantizable_ops(cnn, backend):
    assert detect_framework(cnn) == "tensorflow"
    ops = backend.quantizable_ops(backend.prepare(cnn))
    assert [op.op_type for op in ops] == ["CONV_2D", "CONV_2D", "FULLY_CONNECTED", "FULLY_CONNECTED"]
    assert all(op.has_weight for op in ops) and len({op.name for op in ops}) == 4
    assert ["c1" in ops[0].name, "fc2" in ops[3].name] == [True, True]
    assert backend.op_options(ops[0], "static")[0] == OpQuant(weight_granularity="per_channel")
    assert backend.op_options(ops[2], "static")[0] == OpQuant()  # TFLite's dense default: per-tensor
    assert backend.calibration_methods() == ("minmax",)


def test_full_int8_keeps_accuracy_and_shrinks_the_model(cnn, backend, digits):
    model = backend.prepare(cnn)
    quantized = backend.quantize(model, Plan(), calibration(digits))
    assert isinstance(quantized, tf_basics.TFLiteModel) and not float_weight_ops(quantized)
    assert accuracy(cnn, digits) > 0.9
    assert accuracy(quantized, digits) >= accuracy(cnn, digits) - 0.01
    assert backend.size_bytes(quantized) < backend.size_bytes(model) / 2.5


def test_fallback_keeps_exactly_the_named_ops_float(cnn, backend, digits):
    model = backend.prepare(cnn)
    ops = [op.name for op in backend.quantizable_ops(model)]
    quantized = backend.quantize(model, Plan().with_fallback(ops[1], ops[3]), calibration(digits))
    assert float_weight_ops(quantized) == {ops[1], ops[3]}
    assert accuracy(quantized, digits) >= accuracy(cnn, digits) - 0.01
    everything = backend.quantize(model, Plan(ops={op: FP32 for op in ops}), calibration(digits))
    assert float_weight_ops(everything) == set(ops)


def test_granularity_switches_per_op_kind(cnn, backend, digits):
    model = backend.prepare(cnn)
    c1, c2, fc1, fc2 = (op.name for op in backend.quantizable_ops(model))

    def weight_scales(quantized):
        interpreter = quantized.interpreter()
        tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
        sizes = {}
        for op in interpreter._get_ops_details():
            if op["op_name"] in ("CONV_2D", "FULLY_CONNECTED"):
                weight = tensors[op["inputs"][1]]
                sizes[weight["name"].rsplit("/", 1)[0]] = len(weight["quantization_parameters"]["scales"])
        return sizes

    default = weight_scales(backend.quantize(model, Plan(), calibration(digits)))
    assert (default[c1], default[c2], default[fc1]) == (16, 32, 1)
    per_tensor = OpQuant()
    per_channel = OpQuant(weight_granularity="per_channel")
    flipped = Plan(ops={c1: per_tensor, c2: per_tensor, fc1: per_channel, fc2: per_channel})
    # dense per-channel needs per-channel convs (one switch for all): everything falls back to per-tensor
    assert set(weight_scales(backend.quantize(model, flipped, calibration(digits))).values()) == {1}
    both = Plan(ops={c1: per_channel, c2: per_channel, fc1: per_channel, fc2: per_channel})
    assert weight_scales(backend.quantize(model, both, calibration(digits)))[fc1] == 64


def test_dynamic_range_quantizes_weights_only_and_refuses_single_fallbacks(cnn, backend, digits):
    model = backend.prepare(cnn)
    ops = [op.name for op in backend.quantizable_ops(model)]
    dynamic = backend.quantize(model, Plan(approach="dynamic", quant_format="default"), [])
    interpreter = dynamic.interpreter()
    dtypes = {t["name"]: t["dtype"] for t in interpreter.get_tensor_details()}
    assert any(d == np.int8 for d in dtypes.values())
    assert accuracy(dynamic, digits) >= accuracy(cnn, digits) - 0.01
    with pytest.raises(BackendError, match="cannot keep single ops in float"):
        backend.quantize(model, Plan(approach="dynamic").with_fallback(ops[0]), [])


def test_op_outputs_agree_between_float_and_int8(cnn, backend, digits):
    model = backend.prepare(cnn)
    names = [op.name for op in backend.quantizable_ops(model)]
    batches = calibration(digits, n=100)
    quantized = backend.quantize(model, Plan(), batches)
    ref, got = backend.op_outputs(model, batches, names), backend.op_outputs(quantized, batches, names)
    for op in names:
        assert ref[op].shape == got[op].shape and ref[op].shape[0] == 100, op
        error = float(np.mean((ref[op] - got[op]) ** 2))
        assert error < 0.05 * float(np.mean(ref[op] ** 2)) + 1e-6, (op, error)
    assert backend.latency_ms(quantized, batches[0], warmup=1, iterations=3) > 0
    assert backend.latency_ms(model, batches[0], warmup=1, iterations=3) > 0


def test_bad_plans_are_clear_errors(cnn, backend, digits):
    model = backend.prepare(cnn)
    name = backend.quantizable_ops(model)[0].name
    with pytest.raises(BackendError, match="did you mean"):
        backend.quantize(model, Plan(ops={name + "x": OpQuant()}), calibration(digits))
    with pytest.raises(BackendError, match="calibration batches"):
        backend.quantize(model, Plan(), [])
    with pytest.raises(ConfigError, match="calibrates with none"):
        conf = PostTrainingQuantConfig(op_type_dict={"CONV_2D": {"activation": {"algorithm": ["kl"]}}})
        quantization.fit(model, conf, calib_dataloader=calibration(digits), eval_func=lambda m: 1.0)


def test_tuning_rescues_a_fragile_model_keeps_int8_ops_and_round_trips(fragile, backend, digits, tmp_path):
    fp32 = accuracy(fragile, digits)
    naive = backend.quantize(backend.prepare(fragile), Plan(), calibration(digits))
    assert accuracy(naive, digits) < fp32 - 0.02  # per-tensor int8 activations cannot hold the outliers
    conf = PostTrainingQuantConfig(
        tuning_criterion=TuningCriterion(strategy="mse", max_trials=20),
        accuracy_criterion=AccuracyCriterion(tolerable_loss=0.01),
    )
    q = quantization.fit(
        fragile, conf, calib_dataloader=calibration(digits), eval_func=lambda m: accuracy(m, digits), workspace=tmp_path
    )
    result = q.tuning
    assert result.met_criterion and not result.all_fp32, result.summary()
    assert result.fallback_ops and len(result.fallback_ops) < 4
    saved = q.save(tmp_path / "model.tflite")
    again = quantization.load(saved)
    assert accuracy(again.model, digits) == accuracy(q.model, digits)
    assert again.q_config["fallback_ops"] == list(result.fallback_ops)
    with pytest.raises(ConfigError, match=".tflite"):
        q.save(tmp_path / "model.onnx")


ONE_X_YAML = """
version: 1.0
model:
  name: digits_cnn
  framework: tensorflow
  inputs: input
  outputs: logits
device: cpu
quantization:
  approach: post_training_static_quant
  calibration:
    sampling_size: 100
tuning:
  strategy:
    name: basic
  accuracy_criterion:
    relative: 0.01
  exit_policy:
    timeout: 0
    max_trials: 10
  random_seed: 9527
"""


def test_a_one_x_tensorflow_yaml_runs_with_a_keras_model(cnn, digits, tmp_path):
    from compressor.compat import load_yaml

    loaded = load_yaml(ONE_X_YAML)
    assert loaded.model.framework.engine == "tensorflow"
    q = quantization.fit(
        cnn,
        loaded.quantization,
        calib_dataloader=calibration(digits),
        eval_func=lambda m: accuracy(m, digits),
        workspace=tmp_path,
    )
    assert q.tuning.met_criterion and not q.tuning.all_fp32
    assert q.tuning.trials[0].plan.calibration == "minmax"
    assert isinstance(q.model, tf_basics.TFLiteModel) and accuracy(q.model, digits) >= accuracy(cnn, digits) - 0.01


def test_bf16_mixed_precision_of_a_keras_model_with_the_hardware_verdict(cnn, digits, tmp_path):
    from compressor import mix_precision
    from compressor.config import MixedPrecisionConfig

    config = MixedPrecisionConfig(precisions="bf16", example_inputs=digits[0][:32])
    result = mix_precision.fit(cnn, config, eval_func=lambda m: accuracy(m, digits), workspace=tmp_path / "ws")
    layers = {layer.name: layer.dtype_policy.name for layer in result.model.layers}
    assert {name for name, policy in layers.items() if policy == "mixed_bfloat16"} <= {"c1", "c2", "fc1", "fc2"}
    assert result.tuning.met_criterion, result.tuning.summary()
    assert accuracy(result.model, digits) >= accuracy(cnn, digits) - 0.01
    verdict = result.hardware["bf16"]
    flags = Path("/proc/cpuinfo").read_text()
    assert verdict.native == any(f in flags for f in (" avx512_bf16", " amx_bf16"))
    assert "TensorFlow" in verdict.runtime
    saved = result.save(tmp_path / "bf16.keras")
    again = mix_precision.load(saved)
    assert np.allclose(tf_basics.predict(again.model, (digits[2],)), tf_basics.predict(result.model, (digits[2],)))
    assert cnn.layers[0].dtype_policy.name == "float32"  # the user's model is not touched


def test_a_saved_model_directory_and_a_tf_function_quantize_like_the_keras_model(cnn, digits, tmp_path):
    cnn.export(str(tmp_path / "saved"))  # a TensorFlow SavedModel (serving_default)
    function = tf.function(lambda x: cnn(x, training=False), input_signature=[tf.TensorSpec([None, 8, 8, 1])])
    assert detect_framework(str(tmp_path / "saved")) == detect_framework(function) == "tensorflow"
    reference = quantization.fit(
        cnn, PostTrainingQuantConfig(), calib_dataloader=calibration(digits), eval_func=lambda m: accuracy(m, digits)
    )
    for name, source in (("saved", str(tmp_path / "saved")), ("function", function)):
        q = quantization.fit(
            source,
            PostTrainingQuantConfig(),
            calib_dataloader=calibration(digits),
            eval_func=lambda m: accuracy(m, digits),
            workspace=tmp_path / f"ws-{name}",
        )
        assert q.tuning.met_criterion and len(q.tuning.best_plan.ops) == 4, name
        assert isinstance(q.model, tf_basics.TFLiteModel)
        assert abs(accuracy(q.model, digits) - accuracy(reference.model, digits)) <= 0.005, name
