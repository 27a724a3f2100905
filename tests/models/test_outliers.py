"""The hard tier (``models.outliers``): variants keep their parent's fp32 function and break naive int8.

Fast tests use untrained weights (the transforms are exact for any weights) or the small MLP; the slow test
trains cnn_mnist once and checks, on ONNX Runtime through compressor's public API, that each registered
variant keeps the parent's accuracy, that naive int8 misses the 1 % criterion and that ``basic`` meets it
with the fix its description names.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import models
from models.errors import EntryDefinitionError

torch = pytest.importorskip("torch")

HARD = [e for e in models.list_entries() if "hard-int8" in e.tags]


def _variant(parent, *culprits, seed=0, name="test_variant"):
    """An unregistered variant of ``parent`` (what ``models.catalog`` declares, with other culprits)."""
    return dataclasses.replace(
        parent,
        name=name,
        recipe={"seed": seed, "probe_examples": 128, "culprits": culprits},
        builders={"torch": "models.outliers:build_torch"},
        parent=parent,
    )


def _untrained(entry):
    from models.frameworks import torch_fw

    return torch_fw.build(entry)


def _logits(model, x):
    with torch.inference_mode():
        return model(torch.from_numpy(x)).numpy()


def test_the_hard_tier_is_registered_with_a_parent_and_both_runtimes():
    assert {e.name for e in HARD} >= {
        "cnn_mnist_outlier1",
        "cnn_mnist_outlier2",
        "cnn_mnist_weight_outlier",
        "cnn_mnist_spikes",
    }
    for entry in HARD:
        assert entry.parent is not None and entry.parent.parent is None
        assert entry.frameworks == ("torch", "onnxrt")
        assert entry.dataset == entry.parent.dataset and entry.expected_accuracy == entry.parent.expected_accuracy


@pytest.mark.parametrize("entry", HARD, ids=lambda e: e.name)
def test_a_variant_computes_its_parents_function(entry):
    from models.frameworks import torch_fw

    parent = _untrained(entry.parent)
    variant = torch_fw.derive(entry, parent)
    assert sum(p.numel() for p in variant.parameters()) == entry.params
    assert sum(p.numel() for p in parent.parameters()) == entry.parent.params  # the parent is left untouched
    x, _ = entry.load_data("eval")
    x = x[:256]
    np.testing.assert_allclose(_logits(variant, x), _logits(parent, x), rtol=1e-5, atol=1e-5)


def test_each_culprit_makes_what_int8_cannot_represent():
    """Measured on the probe (first 128 calibration examples): a constant channel ``ratio`` times the
    tensor's largest value, spikes at exactly ``spikes`` positions, a weight ``ratio`` times the largest."""
    from models.frameworks import torch_fw

    parent_entry = models.get("cnn_mnist")
    parent = _untrained(parent_entry)
    x, _ = parent_entry.load_data("calib")
    probe = torch.from_numpy(x[:128])
    with torch.inference_mode():
        bulk = float(parent[:2](probe).max())

        massive = torch_fw.derive(
            _variant(parent_entry, {"kind": "massive_channel", "layer": 0, "ratio": 50.0}), parent
        )
        out = massive[:2](probe)  # conv1, then ReLU + gain
        top = out.amax(dim=(0, 2, 3))
        assert torch.isclose(top.max(), torch.tensor(50.0 * bulk), rtol=1e-5)
        assert int((top > bulk * 1.0001).sum()) == 1
        culprit = int(top.argmax())
        assert torch.all(out[:, culprit] == out[0, culprit, 0, 0])  # the same value for every input and position

        spiky = torch_fw.derive(
            _variant(parent_entry, {"kind": "spike_channel", "layer": 0, "ratio": 50.0, "spikes": 3}), parent
        )
        out = spiky[:2](probe)
        culprit = int(out.amax(dim=(0, 2, 3)).argmax())
        assert int((out[:, culprit] > 0).sum()) == 3  # zero everywhere else
        assert torch.isclose(out.max(), torch.tensor(50.0 * bulk), rtol=1e-4)

    heavy = torch_fw.derive(_variant(parent_entry, {"kind": "weight_outlier", "layer": 3, "ratio": 30.0}), parent)
    assert torch.isclose(heavy[3].weight.abs().max(), 30.0 * parent[3].weight.abs().max())


def test_the_seed_places_the_culprit_and_is_part_of_the_cache_key():
    from models.frameworks import torch_fw

    parent_entry = models.get("cnn_mnist")
    parent = _untrained(parent_entry)
    culprit = {"kind": "massive_channel", "layer": 7, "ratio": 10.0}
    positions = set()
    keys = set()
    for seed in range(4):
        entry = _variant(parent_entry, culprit, seed=seed)
        positions.add(int(torch_fw.derive(entry, parent)[8][1].gain.argmax()))
        keys.add(entry.cache_key("onnxrt"))
    assert len(positions) > 1 and len(keys) == 4
    again = _variant(parent_entry, culprit, seed=0)
    first, second = torch_fw.derive(again, parent).state_dict(), torch_fw.derive(again, parent).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)  # deterministic


def test_a_parents_recipe_is_part_of_its_variants_cache_key():
    parent = models.get("cnn_mnist")
    retrained = dataclasses.replace(parent, recipe={**parent.recipe, "epochs": 13})
    culprit = {"kind": "massive_channel", "layer": 7, "ratio": 10.0}
    assert _variant(parent, culprit).cache_key() != _variant(retrained, culprit).cache_key()


def test_culprits_are_checked_where_they_go():
    parent = _untrained(models.get("cnn_mnist"))
    from models.frameworks import torch_fw

    cases = [
        ({"kind": "massive_channel", "layer": 1, "ratio": 10.0}, "not a Conv2d/Linear followed by a ReLU"),
        ({"kind": "massive_channel", "layer": 9, "ratio": 10.0}, "not a Conv2d/Linear followed by a ReLU"),
        ({"kind": "massive", "layer": 0, "ratio": 10.0}, "unknown culprit 'massive'"),
    ]
    for culprit, message in cases:
        with pytest.raises(EntryDefinitionError, match=message):
            torch_fw.derive(_variant(models.get("cnn_mnist"), culprit), parent)
    twice = ({"kind": "massive_channel", "layer": 0, "ratio": 10.0},) * 2
    with pytest.raises(EntryDefinitionError, match="already has a culprit"):
        torch_fw.derive(_variant(models.get("cnn_mnist"), *twice), parent)


def test_a_variant_is_derived_from_the_cached_parent_not_trained(isolated_cache):
    """Preparing an MLP variant trains the parent once (seconds); the variant and its ONNX reuse it."""
    pytest.importorskip("onnxruntime")
    parent = models.get("mlp_digits")
    entry = _variant(parent, {"kind": "massive_channel", "layer": 2, "ratio": 100.0}, name="mlp_digits_test_outlier")
    first = entry.prepare("onnxrt")
    assert parent.is_cached("torch") and entry.is_cached("torch") and entry.is_cached("onnxrt")
    parent_result = parent.prepare("torch")
    assert parent_result.from_cache
    assert first.accuracy == pytest.approx(parent_result.accuracy, abs=1e-9)
    assert first.train_seconds == pytest.approx(parent_result.train_seconds, abs=0.01)  # the parent's, not its own
    again = entry.prepare("torch", verify=True)  # loaded: built from the recipe, then the cached weights
    assert again.from_cache and again.accuracy == pytest.approx(parent_result.accuracy, abs=1e-9)


# --- the tier's promise, measured on ONNX Runtime ----------------------------------------------------------------

# What `basic` must end with on each variant: the fix its description names.
EXPECTED_FIX = {
    "cnn_mnist_outlier1": {"fallback": {"/9/Gemm"}},
    "cnn_mnist_outlier2": {"fallback_any_of": [{"/9/Gemm"}, {"/3/Conv", "/9/Gemm"}]},
    "cnn_mnist_weight_outlier": {"fallback": set(), "granularity": "per_channel"},
    "cnn_mnist_spikes": {"fallback": set(), "calibration": "percentile"},
}


@pytest.mark.slow
def test_naive_int8_misses_and_basic_meets_on_every_hard_variant(isolated_cache, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnx

    from compressor import quantization
    from compressor.config import AccuracyCriterion, PostTrainingQuantConfig, TuningCriterion
    from models.evaluation import evaluate

    def accuracy(entry, model):
        return entry.evaluate(entry.predict_fn(model, "onnxrt"))

    def eval_func(entry):
        x, y = entry.load_data("eval")
        return lambda m: evaluate(entry.predict_fn(_session(m), "onnxrt"), x, y, entry.metric)

    def calibration(entry):
        x, y = entry.load_data("calib")
        return [(x[s : s + 32], y[s : s + 32]) for s in range(0, 128, 32)]

    assert set(EXPECTED_FIX) == {e.name for e in HARD}
    for entry in HARD:
        parent_accuracy = accuracy(entry.parent, entry.parent.prepare("onnxrt").model)
        fp32 = onnx.load(entry.prepare("onnxrt").model)
        fp32_accuracy = accuracy(entry, entry.prepare("onnxrt").model)
        assert abs(fp32_accuracy - parent_accuracy) <= 0.001, entry.name

        naive = quantization.fit(
            fp32,
            PostTrainingQuantConfig(calibration_sampling_size=(128,), performance_only=True),
            calib_dataloader=calibration(entry),
            workspace=tmp_path / entry.name / "naive",
        )
        naive_accuracy = eval_func(entry)(naive.model)
        assert naive_accuracy < 0.99 * fp32_accuracy, (entry.name, naive_accuracy)

        conf = PostTrainingQuantConfig(
            calibration_sampling_size=(128,),
            tuning_criterion=TuningCriterion(strategy="basic", max_trials=30),
            accuracy_criterion=AccuracyCriterion(tolerable_loss=0.01),
        )
        tuned = quantization.fit(
            fp32, conf, calib_dataloader=calibration(entry), eval_func=eval_func(entry), workspace=tmp_path / entry.name
        ).tuning
        assert tuned.met_criterion and tuned.is_quantized, (entry.name, tuned.explanation)
        ops = tuned.best_plan.ops
        assert len(tuned.fallback_ops) < len(ops) - 1, entry.name  # most ops stay int8
        fix = EXPECTED_FIX[entry.name]
        if "fallback" in fix:
            assert set(tuned.fallback_ops) == fix["fallback"], entry.name
        else:
            assert set(tuned.fallback_ops) in fix["fallback_any_of"], entry.name
        if "granularity" in fix:
            assert {o.weight_granularity for o in ops.values() if o.quantized} == {fix["granularity"]}
        if "calibration" in fix:
            assert tuned.best_plan.calibration == fix["calibration"]


def _session(model):
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
