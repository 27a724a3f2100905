"""Train-or-load with a cache: the one place that decides whether weights are reused."""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models import cache
from models.definition import ONNX_OPSET, EntryDefinition
from models.frameworks import SUFFIXES, adapter, train_threads

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrepareResult:
    name: str
    framework: str
    model: Any  # native model; for "onnxrt" the path of the .onnx file
    accuracy: float  # the entry's metric on the eval split, fp32
    expected_accuracy: float
    tolerance: float
    cache_path: Path
    from_cache: bool
    train_seconds: float  # how long training took when these weights were made (0.0 if unknown)
    elapsed_seconds: float  # wall time of this prepare call (small when loaded from cache)

    @property
    def accuracy_ok(self) -> bool:
        return abs(self.accuracy - self.expected_accuracy) <= self.tolerance


def paths_for(entry: EntryDefinition, framework: str, cache_dir: Path) -> cache.CachePaths:
    return cache.cache_paths(cache_dir, entry.name, framework, entry.cache_key(framework), SUFFIXES[framework])


def _score(entry: EntryDefinition, predict_fn) -> float:
    # An fp32 model trivially agrees with itself; "agreement" entries still report 1.0 here.
    return entry.evaluate(predict_fn, reference_fn=predict_fn if entry.metric == "agreement" else None)


def prepare(
    entry: EntryDefinition, framework: str, cache_dir: str | Path | None, force: bool = False, verify: bool = False
) -> PrepareResult:
    started = time.perf_counter()
    directory = cache.resolve_cache_dir(cache_dir)
    paths = paths_for(entry, framework, directory)
    parent = None
    # ONNX is derived from the torch weights; a forced rebuild retrains those too. A cached export of cached
    # torch weights is loaded without loading them (a MiniLM's torch load alone took 6 s).
    stale = force or not paths.exists() or not paths_for(entry, "torch", directory).exists()
    if framework == "onnxrt" and stale:
        parent = prepare(entry, "torch", directory, force=force)
    fw = adapter(framework)

    if not force and paths.exists() and (parent is None or parent.from_cache):
        meta = cache.read_meta(paths.meta)
        model = str(paths.weights) if framework == "onnxrt" else fw.load(entry, paths.weights)
        accuracy = _score(entry, fw.predict_fn(model)) if verify else float(meta["accuracy"])
        log.info("%s/%s loaded from %s", entry.name, framework, paths.weights)
        return _result(entry, framework, model, accuracy, paths, True, float(meta["train_seconds"]), started)

    t0 = time.perf_counter()
    if parent is not None:
        fw.export(entry, parent.model, paths.weights, opset=ONNX_OPSET)
        model, train_seconds = str(paths.weights), parent.train_seconds
    elif entry.parent is not None:
        # A variant is derived, not trained: its builder transforms the parent's trained weights.
        base = prepare(entry.parent, framework, directory, force=force)
        model, train_seconds = fw.derive(entry, base.model), base.train_seconds
        with cache.atomic_path(paths.weights) as tmp:
            fw.save(entry, model, tmp)
    else:
        model = fw.train(entry, fw.build(entry))
        train_seconds = time.perf_counter() - t0
        with cache.atomic_path(paths.weights) as tmp:
            fw.save(entry, model, tmp)
    accuracy = _score(entry, fw.predict_fn(model))
    cache.write_meta(
        paths.meta,
        {
            "name": entry.name,
            "framework": framework,
            "identity": entry.cache_identity(framework),
            "key": entry.cache_key(framework),
            "accuracy": accuracy,
            "expected_accuracy": entry.expected_for(framework),
            "tolerance": entry.tolerance,
            "train_seconds": round(train_seconds, 3),
            "train_threads": train_threads(),  # timings only compare at equal thread counts
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "versions": cache.environment_versions(*fw.versions()),
        },
    )
    log.info("%s/%s trained in %.1fs, accuracy %.4f", entry.name, framework, train_seconds, accuracy)
    return _result(entry, framework, model, accuracy, paths, False, train_seconds, started)


def _result(entry, framework, model, accuracy, paths, from_cache, train_seconds, started) -> PrepareResult:
    return PrepareResult(
        name=entry.name,
        framework=framework,
        model=model,
        accuracy=accuracy,
        expected_accuracy=entry.expected_for(framework),
        tolerance=entry.tolerance,
        cache_path=paths.weights,
        from_cache=from_cache,
        train_seconds=train_seconds,
        elapsed_seconds=time.perf_counter() - started,
    )
