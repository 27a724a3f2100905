from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import models
from models.entry import FRAMEWORKS, InputSpec, ModelEntry
from models.errors import EntryDefinitionError, FrameworkUnavailableError, UnknownModelError

EXPECTED_ZOO = {"mlp_digits", "cnn_mnist", "resnet8_fashion", "mobilenet_fashion", "bilstm_wordnet", "minilm_wordnet"}


def test_zoo_has_the_issue_entries():
    assert set(models.names()) >= EXPECTED_ZOO
    assert [e.name for e in models.list_entries()] == sorted(models.names())


def test_keras_and_gluon_variants_exist_for_mnist_cnn_and_resnet():
    for name in ("cnn_mnist", "resnet8_fashion"):
        assert {"torch", "onnxrt", "tensorflow", "mxnet"} <= set(models.get(name).frameworks)


def test_framework_names_are_the_project_vocabulary():
    from compressor.vocabulary import FRAMEWORK_NAMES
    from models import frameworks

    assert FRAMEWORKS == FRAMEWORK_NAMES
    assert set(frameworks._ADAPTERS) == set(frameworks.SUFFIXES) == set(FRAMEWORK_NAMES)
    assert all(frameworks._ADAPTERS[fw][0] == f"models.frameworks.{fw}_fw" for fw in FRAMEWORK_NAMES)


@pytest.mark.parametrize("entry", models.list_entries(), ids=lambda e: e.name)
def test_entry_metadata_is_complete(entry):
    assert set(entry.frameworks) <= set(FRAMEWORKS) and "torch" in entry.frameworks and "onnxrt" in entry.frameworks
    assert entry.metric in ("top1", "agreement")
    assert 0.5 < entry.expected_accuracy <= 1.0 and 0.0 < entry.tolerance <= 0.05
    assert entry.input_signature and all(isinstance(s, InputSpec) for s in entry.input_signature)
    assert entry.num_classes == 10 and entry.params > 0
    assert isinstance(entry.recipe["seed"], int)
    with pytest.raises(TypeError):
        entry.recipe["seed"] = 1  # recipes are read-only: they define the cache key


def test_unknown_name_suggests_the_closest_one():
    with pytest.raises(UnknownModelError) as info:
        models.get("resnet8_fahsion")
    message = str(info.value)
    assert "did you mean 'resnet8_fashion'?" in message
    assert "mlp_digits" in message  # lists the known names
    assert isinstance(info.value, KeyError)


def test_unknown_name_without_a_close_match_still_lists_names():
    with pytest.raises(UnknownModelError, match="known models: .*cnn_mnist") as info:
        models.get("zzzz")
    assert "did you mean" not in str(info.value)


def test_register_and_unregister_and_duplicate():
    entry = dataclasses.replace(models.get("mlp_digits"), name="test_tmp_mlp")
    try:
        models.register_model(entry)
        assert models.get("test_tmp_mlp") is entry
        with pytest.raises(EntryDefinitionError, match="already registered"):
            models.register_model(dataclasses.replace(entry))
    finally:
        models.unregister_model("test_tmp_mlp")
    with pytest.raises(UnknownModelError):
        models.get("test_tmp_mlp")


def test_register_model_works_as_decorator_on_a_factory():
    @models.register_model
    def factory():
        return dataclasses.replace(models.get("mlp_digits"), name="test_tmp_factory")

    try:
        assert models.get("test_tmp_factory").name == "test_tmp_factory"
    finally:
        models.unregister_model("test_tmp_factory")


def test_invalid_entry_is_rejected_with_every_problem_named():
    base = models.get("mlp_digits")
    with pytest.raises(EntryDefinitionError) as info:
        dataclasses.replace(base, metric="top5", dataset="imagenet", recipe={"epochs": 1})
    message = str(info.value)
    assert "metric 'top5'" in message and "dataset 'imagenet'" in message and "'seed'" in message


def test_input_spec_rejects_unknown_dtype():
    with pytest.raises(EntryDefinitionError, match="dtype"):
        InputSpec("x", (3,), "float64")


def test_unsupported_framework_is_a_clear_error():
    with pytest.raises(FrameworkUnavailableError, match="supports frameworks"):
        models.get("mlp_digits").build("tensorflow")
    with pytest.raises(FrameworkUnavailableError):
        models.get("mlp_digits").build("onnxrt")  # ONNX is exported, never built natively


def test_import_needs_no_framework():
    code = (
        "import sys, models\n"
        "models.list_entries()\n"
        "heavy = {'torch', 'onnx', 'onnxruntime', 'tensorflow', 'mxnet', 'transformers', 'sklearn'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    root = Path(models.__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"


def test_entry_is_a_frozen_dataclass():
    entry = models.get("cnn_mnist")
    assert isinstance(entry, ModelEntry) and dataclasses.is_dataclass(entry)
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.name = "x"


def test_missing_framework_names_the_install_command(monkeypatch):
    from models import frameworks

    module, _needs, install = frameworks._ADAPTERS["tensorflow"]
    monkeypatch.setitem(frameworks._ADAPTERS, "tensorflow", (module, ("no_such_tf_module",), install))
    with pytest.raises(FrameworkUnavailableError, match=r"no_such_tf_module.*`pip install tensorflow-cpu==2\.21\.0`"):
        models.get("cnn_mnist").build("tensorflow")
    with pytest.raises(FrameworkUnavailableError, match="unknown framework 'jax'"):
        frameworks.adapter("jax")
