"""What a zoo entry is: immutable metadata, its recipe, its data splits and its metric.

Plain data and numpy only (no framework import), so ``import models`` and ``harness models list``
work with no framework installed. Architectures and encoders are named as ``"module:function"``
strings and resolved only when used. What an entry does with a framework (build, prepare, predict)
is added by ``models.entry.ModelEntry``; the adapters and ``models.prepare`` need only this module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from compressor.vocabulary import FRAMEWORK_NAMES
from models import cache, datasets
from models.dataset_sources import DATASETS
from models.errors import EntryDefinitionError
from models.evaluation import Inputs

FRAMEWORKS = FRAMEWORK_NAMES  # the project's one spelling: the zoo stores models under compressor's names
METRICS = ("top1", "agreement")
TASKS = ("image-classification", "text-classification")
DTYPES = ("float32", "int64")
ONNX_OPSET = 17  # what prepare("onnxrt") exports with; part of the ONNX cache key


@dataclass(frozen=True)
class InputSpec:
    """One model input, without the batch dimension (which is always first and dynamic)."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise EntryDefinitionError(f"InputSpec.dtype {self.dtype!r} not in {DTYPES}")


def resolve(ref: str) -> Callable[..., Any]:
    """Import ``"package.module:attr"`` on first use (keeps frameworks out of ``import models``)."""
    module_name, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True, eq=False)
class EntryDefinition:
    """An entry as declared in ``models.catalog``; every problem is named at construction."""

    name: str
    description: str
    family: str
    dataset: str
    task: str
    num_classes: int
    metric: str
    expected_accuracy: float
    tolerance: float
    input_signature: tuple[InputSpec, ...]
    recipe: Mapping[str, Any]
    builders: Mapping[str, str]  # framework → "module:function(entry) -> untrained model"
    params: int  # declared parameter count of the torch model (a test checks it)
    arch_version: int = 1
    encoder: str | None = None  # "module:function(entry, raw_x) -> inputs" for text entries
    tags: tuple[str, ...] = ()
    # Accuracy can differ a little per framework (different init/optimizer numerics).
    expected_by_framework: Mapping[str, float] = field(default_factory=dict)
    # A variant is not trained: its torch builder turns the parent's trained model into it (models.outliers).
    parent: EntryDefinition | None = None

    def __post_init__(self) -> None:
        # Freeze the mappings: entries are shared module-level objects and must not be mutated.
        for name in ("recipe", "builders", "expected_by_framework"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        problems = []
        if self.metric not in METRICS:
            problems.append(f"metric {self.metric!r} not in {METRICS}")
        if self.task not in TASKS:
            problems.append(f"task {self.task!r} not in {TASKS}")
        if self.dataset not in DATASETS:
            problems.append(f"dataset {self.dataset!r} not in {sorted(DATASETS)}")
        unknown = set(self.builders) - set(FRAMEWORKS)
        if unknown:
            problems.append(f"builders for unknown frameworks {sorted(unknown)}; allowed {FRAMEWORKS}")
        if "torch" not in self.builders:
            problems.append("every entry needs a torch builder (ONNX is exported from torch)")
        if not 0.0 < self.expected_accuracy <= 1.0 or not 0.0 <= self.tolerance < 1.0:
            problems.append("expected_accuracy must be in (0, 1] and tolerance in [0, 1)")
        if "seed" not in self.recipe:
            problems.append("recipe needs a 'seed'")
        if self.parent is not None and self.parent.dataset != self.dataset:
            problems.append(f"a variant keeps its parent's dataset {self.parent.dataset!r}")
        if problems:
            raise EntryDefinitionError(f"model {self.name!r}: " + "; ".join(problems))

    def __hash__(self) -> int:
        return hash(self.name)

    # --- metadata ---------------------------------------------------------------------------------

    @property
    def frameworks(self) -> tuple[str, ...]:
        """Frameworks this entry can be prepared for; ONNX comes from exporting the torch model."""
        return tuple(fw for fw in FRAMEWORKS if fw in self.builders or fw == "onnxrt")

    @property
    def size_mb(self) -> float:
        return self.params * 4 / 1e6

    def expected_for(self, framework: str) -> float:
        return self.expected_by_framework.get(framework, self.expected_accuracy)

    def accuracy_ok(self, accuracy: float, framework: str = "torch") -> bool:
        """Two-sided on purpose: a much *better* accuracy also means the stated number is stale."""
        return abs(accuracy - self.expected_for(framework)) <= self.tolerance

    def cache_identity(self, framework: str) -> dict[str, Any]:
        """Everything that decides the cached file's content; its hash is the cache key."""
        identity = {
            "name": self.name,
            "framework": framework,
            "dataset": self.dataset,
            "recipe": dict(self.recipe),
            "arch_version": self.arch_version,
        }
        if framework == "onnxrt":
            identity["opset"] = ONNX_OPSET
        if self.parent is not None:  # retraining the parent must invalidate its variants
            identity["parent"] = self.parent.cache_identity("torch")
        return identity

    def cache_key(self, framework: str = "torch") -> str:
        return cache.recipe_key(self.cache_identity(framework))

    # --- data -------------------------------------------------------------------------------------

    def load_data(self, split: str) -> tuple[Inputs, np.ndarray]:
        """(inputs, labels) for ``split`` in {"train", "calib", "eval"}; deterministic.

        Inputs are an array for single-input models and a dict name → array otherwise (the
        names of ``input_signature``), which is also what ONNX Runtime's ``run`` takes.
        """
        train_size = self.recipe.get("train_size")
        x, y = datasets.load_split(self.dataset, split, train_size=train_size)
        if self.encoder is not None:
            x = resolve(self.encoder)(self, x)
        return x, y

    def batches(self, split: str, batch_size: int = 256):
        """Yield (inputs, labels) batches of a split in order (calibration readers use this)."""
        from models.evaluation import iterate_batches

        x, y = self.load_data(split)
        yield from iterate_batches(x, y, batch_size)

    def example_inputs(self, batch_size: int = 1) -> Inputs:
        """Real calibration examples with the benchmarking signature (random ids would be unrealistic)."""
        from models.evaluation import take

        x, labels = self.load_data("calib")
        return take(x, np.arange(batch_size) % len(labels))

    def evaluate(
        self,
        predict_fn: Callable[[Inputs], np.ndarray],
        split: str = "eval",
        batch_size: int = 256,
        reference_fn: Callable[[Inputs], np.ndarray] | None = None,
    ) -> float:
        """The entry's metric on ``split``: top-1 vs labels, or agreement with ``reference_fn``."""
        from models.evaluation import evaluate

        x, y = self.load_data(split)
        return evaluate(predict_fn, x, y, self.metric, batch_size=batch_size, reference_fn=reference_fn)
