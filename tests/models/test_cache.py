from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import models
from models import cache
from models.errors import CacheError


def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPRESSOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_cache_dir() == tmp_path / "xdg" / "compressor" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.default_cache_dir() == tmp_path / "home" / ".cache" / "compressor" / "models"
    monkeypatch.setenv("COMPRESSOR_CACHE_DIR", str(tmp_path / "explicit"))
    assert cache.default_cache_dir() == tmp_path / "explicit"
    assert cache.resolve_cache_dir(tmp_path / "arg") == tmp_path / "arg"


def test_key_changes_with_recipe_arch_version_and_framework():
    entry = models.get("cnn_mnist")
    key = entry.cache_key("torch")
    assert key == entry.cache_key("torch")  # stable
    assert len(key) == 16 and int(key, 16) >= 0
    changed_lr = dataclasses.replace(entry, recipe={**entry.recipe, "lr": 1e-3})
    changed_arch = dataclasses.replace(entry, arch_version=entry.arch_version + 1)
    keys = {
        key,
        changed_lr.cache_key("torch"),
        changed_arch.cache_key("torch"),
        entry.cache_key("tensorflow"),
        entry.cache_key("onnxrt"),
    }
    assert len(keys) == 5
    assert entry.cache_identity("onnxrt")["opset"] >= 17


def test_key_is_independent_of_recipe_key_order():
    entry = models.get("mlp_digits")
    reordered = dataclasses.replace(entry, recipe=dict(reversed(list(entry.recipe.items()))))
    assert reordered.cache_key() == entry.cache_key()


def test_file_names_carry_name_framework_and_key(tmp_path):
    from models.prepare import paths_for

    entry = models.get("resnet8_fashion")
    paths = paths_for(entry, "torch", tmp_path)
    assert paths.weights.name == f"resnet8_fashion-torch-{entry.cache_key('torch')}.pt"
    assert paths.meta.suffix == ".json"
    assert paths_for(entry, "tensorflow", tmp_path).weights.name.endswith(".weights.h5")


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "w.weights.h5"
    with cache.atomic_path(target) as tmp:
        assert tmp.name.endswith(".weights.h5") and tmp.parent == target.parent
        tmp.write_text("one")
    assert target.read_text() == "one"
    with pytest.raises(RuntimeError), cache.atomic_path(target) as tmp:
        tmp.write_text("half-written")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "one"
    assert [p.name for p in target.parent.iterdir()] == ["w.weights.h5"]  # no temporary left behind


def test_meta_round_trip_and_format_check(tmp_path):
    path = tmp_path / "m.json"
    cache.write_meta(path, {"accuracy": 0.5})
    assert cache.read_meta(path)["accuracy"] == 0.5
    path.write_text(json.dumps({"cache_format": 999}))
    with pytest.raises(CacheError, match="--force"):
        cache.read_meta(path)
    path.write_text("{not json")
    with pytest.raises(CacheError, match="cannot read"):
        cache.read_meta(path)


def test_environment_versions_record_installed_packages():
    versions = cache.environment_versions("numpy", "definitely-not-installed-pkg")
    assert "python" in versions and "numpy" in versions
    assert "definitely-not-installed-pkg" not in versions


class _Evil:
    """Unpickling this would run code; weights_only loading must refuse it."""

    def __reduce__(self):
        return (Path("/nonexistent-marker").touch, ())


def test_cached_weights_load_with_weights_only(isolated_cache, monkeypatch):
    torch = pytest.importorskip("torch")
    from models.frameworks import torch_fw
    from models.prepare import paths_for

    entry = models.get("mlp_digits")
    paths = paths_for(entry, "torch", isolated_cache)
    paths.weights.parent.mkdir(parents=True)
    torch.save({"0.weight": _Evil()}, paths.weights)
    cache.write_meta(paths.meta, {"accuracy": 1.0, "train_seconds": 0.0})
    with pytest.raises(CacheError, match="cannot load cached weights"):
        entry.prepare("torch")

    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    model = entry.build()
    torch_fw.save(entry, model, paths.weights)
    result = entry.prepare("torch")
    assert result.from_cache and calls and all(k.get("weights_only") is True for k in calls)


def test_cached_weights_that_do_not_fit_the_architecture_are_rejected(isolated_cache):
    torch = pytest.importorskip("torch")
    from models.prepare import paths_for

    entry = models.get("mlp_digits")
    paths = paths_for(entry, "torch", isolated_cache)
    paths.weights.parent.mkdir(parents=True)
    torch.save({"other.weight": torch.zeros(2)}, paths.weights)
    cache.write_meta(paths.meta, {"accuracy": 1.0, "train_seconds": 0.0})
    with pytest.raises(CacheError, match="do not fit"):
        entry.prepare("torch")
