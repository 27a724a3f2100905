"""A 10-class text task built from WordNet 3.0 noun definitions (Debian ``wordnet-base``).

Each noun synset sits in one lexicographer file (its "supersense": noun.animal, noun.food, ...).
The task is to predict that supersense from the definition alone. It needs no download, is
balanced by construction and is hard enough (definitions are short and abstract) that
quantization damage shows up in the accuracy.
"""

from __future__ import annotations

import functools
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.dataset_sources import SPLIT_SEED, check_split, unavailable

WORDNET_DEFAULT_DIR = "/usr/share/wordnet"
# Lexicographer file numbers from lexnames(5WN); all ten hold > 2 000 synsets.
CLASSES: tuple[tuple[int, str], ...] = (
    (4, "noun.act"),
    (5, "noun.animal"),
    (6, "noun.artifact"),
    (8, "noun.body"),
    (10, "noun.communication"),
    (13, "noun.food"),
    (15, "noun.location"),
    (18, "noun.person"),
    (20, "noun.plant"),
    (27, "noun.substance"),
)
CLASS_NAMES = tuple(name for _, name in CLASSES)
PER_CLASS = {"eval": 300, "calib": 100, "train": 1600}
SEQ_LEN = 32
PAD_ID, UNK_ID = 0, 1
_TOKEN = re.compile(r"[a-z0-9]+")


def wordnet_dir() -> Path:
    return Path(os.environ.get("COMPRESSOR_WORDNET_DIR", WORDNET_DEFAULT_DIR))


def _definition(gloss: str) -> str:
    # A gloss is "definition; \"example\"; \"example\"": the examples often contain the headword
    # itself, which would turn the task into a lookup, so only the definition is kept.
    return gloss.split('"', 1)[0].strip().rstrip(";").strip()


def _parse_synsets(path: Path) -> dict[int, list[str]]:
    """Definitions of a ``data.<pos>`` file by lexicographer file number."""
    by_lexfile: dict[int, list[str]] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("  "):  # the license header
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            by_lexfile.setdefault(int(fields[1]), []).append(_definition(gloss))
    return by_lexfile


@dataclass(frozen=True)
class Task:
    """A supersense task: predict the lexicographer file of a ``pos`` definition among ``classes``."""

    name: str
    pos: str  # "noun" | "verb"
    classes: tuple[tuple[int, str], ...]
    per_class: tuple[tuple[str, int], ...]  # split -> examples per class
    seed: int


NOUNS10 = Task("wordnet-nouns10", "noun", CLASSES, tuple(PER_CLASS.items()), SPLIT_SEED)
# Held-out tasks (benchmarks/minilm_generalization.py): other supersenses, other splits, never in the zoo.
HELD_OUT = (
    Task(
        "wordnet-nouns10b",
        "noun",
        (
            (7, "noun.attribute"),
            (9, "noun.cognition"),
            (11, "noun.event"),
            (14, "noun.group"),
            (17, "noun.object"),
            (21, "noun.possession"),
            (22, "noun.process"),
            (23, "noun.quantity"),
            (26, "noun.state"),
            (28, "noun.time"),
        ),
        (("eval", 150), ("calib", 40), ("train", 300)),
        SPLIT_SEED + 1,
    ),
    Task(
        "wordnet-verbs10",
        "verb",
        (
            (29, "verb.body"),
            (30, "verb.change"),
            (31, "verb.cognition"),
            (32, "verb.communication"),
            (35, "verb.contact"),
            (36, "verb.creation"),
            (38, "verb.motion"),
            (40, "verb.possession"),
            (41, "verb.social"),
            (42, "verb.stative"),
        ),
        (("eval", 150), ("calib", 40), ("train", 300)),
        SPLIT_SEED + 2,
    ),
)
TASKS = {task.name: task for task in (NOUNS10, *HELD_OUT)}


@functools.lru_cache(maxsize=4)
def _build_splits(directory: Path, task: Task = NOUNS10) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    path = directory / f"data.{task.pos}"
    if not path.is_file():
        raise unavailable(task.name, f"{path} not found")
    by_lexfile = _parse_synsets(path)
    # A definition shared by synsets of different classes has no single right answer: drop it.
    counts = Counter(text for texts in by_lexfile.values() for text in set(texts))
    rng = np.random.default_rng(task.seed)
    per_class = dict(task.per_class)
    per_split: dict[str, list[list[str]]] = {split: [] for split in per_class}
    for lexfile, _name in task.classes:
        texts = sorted({t for t in by_lexfile.get(lexfile, []) if t and counts[t] == 1})
        needed = sum(per_class.values())
        if len(texts) < needed:
            raise ValueError(f"{task.name}: lexicographer file {lexfile} has {len(texts)} definitions, {needed} needed")
        chosen = [texts[i] for i in rng.permutation(len(texts))[:needed]]
        start = 0
        for split, n in per_class.items():
            per_split[split].append(chosen[start : start + n])
            start += n
    out = {}
    for split, class_lists in per_split.items():
        # Interleave classes (round-robin) so any prefix of the train split is balanced.
        texts, labels = [], []
        for rank in range(max(len(c) for c in class_lists)):
            for label, class_texts in enumerate(class_lists):
                if rank < len(class_texts):
                    texts.append(class_texts[rank])
                    labels.append(label)
        out[split] = (np.asarray(texts, dtype=np.str_), np.asarray(labels, dtype=np.int64))
    return out


def load_text_split(split: str, task: str = NOUNS10.name) -> tuple[np.ndarray, np.ndarray]:
    check_split(split)
    texts, labels = _build_splits(wordnet_dir(), TASKS[task])[split]
    return texts.copy(), labels.copy()


# --- word-level vocabulary for the BiLSTM ---------------------------------------------------------


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@functools.lru_cache(maxsize=4)
def vocabulary(max_size: int, min_freq: int = 2) -> dict[str, int]:
    """Word → id from the train split only (eval words must be able to be unknown), ties by spelling."""
    texts, _ = load_text_split("train")
    freq = Counter(tok for text in texts for tok in tokenize(str(text)))
    kept = sorted((w for w, c in freq.items() if c >= min_freq), key=lambda w: (-freq[w], w))
    return {word: i + 2 for i, word in enumerate(kept[: max_size - 2])}


def encode_words(texts: np.ndarray, max_size: int, seq_len: int = SEQ_LEN) -> np.ndarray:
    """Fixed-length int64 ids (pad 0, unknown 1): a fixed shape keeps export and calibration simple."""
    vocab = vocabulary(max_size)
    ids = np.full((len(texts), seq_len), PAD_ID, dtype=np.int64)
    for row, text in enumerate(texts):
        toks = [vocab.get(tok, UNK_ID) for tok in tokenize(str(text))][:seq_len]
        ids[row, : len(toks)] = toks
    return ids


def encode_for_entry(entry, texts: np.ndarray) -> np.ndarray:
    """Encoder hook of word-level entries: vocabulary size and length come from the entry."""
    return encode_words(texts, max_size=int(entry.recipe["vocab_size"]), seq_len=entry.input_signature[0].shape[0])
