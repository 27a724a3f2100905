"""Calibration: feed the tuner's batches to ORT's calibrators and keep the ranges they compute.

Ranges depend on the model, the calibration batches, the method and the SmoothQuant alpha (which
changes the graph), never on the fallback set or the per-op options, so one calibration serves every
trial that shares those four; ``RangeCache`` keeps them for the life of a backend instance.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ....errors import BackendError, ConfigError
from . import deps

log = logging.getLogger(__name__)

METHODS = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}


def feeds(signature: Sequence[tuple[str, Any]], batch: Any) -> dict[str, np.ndarray]:
    """One ``InferenceSession.run`` feed from a batch: a tuple of arrays in graph-input order.

    ``signature`` is ``graph.input_signature(model)``. A bare array (single-input models) and a ready
    name->array mapping are accepted too. Arrays are cast to the declared input type, since loaders
    often yield float64 or int32 where the exported graph wants float32 or int64.
    """
    dtypes = dict(signature)
    if isinstance(batch, Mapping):
        named = dict(batch)
    else:
        arrays = (batch,) if isinstance(batch, np.ndarray) else tuple(batch)
        if len(arrays) != len(signature):
            raise BackendError(
                f"a batch has {len(arrays)} array(s) but the model takes {len(signature)} input(s) "
                f"{[name for name, _ in signature]}: pass one array per graph input, in order"
            )
        named = {name: array for (name, _), array in zip(signature, arrays, strict=True)}
    out = {}
    for name, value in named.items():
        array, want = np.asarray(value), dtypes.get(name)
        out[name] = array.astype(want) if want is not None and array.dtype != want else array
    return out


def check_batches(dims: Sequence[tuple[str, Any]], batches: Sequence[Any], field: str = "calib_dataloader") -> None:
    """``ConfigError`` naming ``field[i]`` for the first batch whose arrays do not fit the graph's declared
    input shapes (``graph.input_dims``): ORT's own error names neither the loader nor the batch."""
    for i, batch in enumerate(batches):
        if isinstance(batch, Mapping):
            continue  # named feeds come from our own probes, not from a user's loader
        arrays = (batch,) if isinstance(batch, np.ndarray) else tuple(batch)
        for (name, want), array in zip(dims, arrays, strict=False):  # a count mismatch: feeds() says so
            shape = tuple(np.shape(array))
            if want is None or (
                len(shape) == len(want) and all(w in (None, s) for w, s in zip(want, shape, strict=True))
            ):
                continue
            expected = tuple("N" if w is None else w for w in want)
            raise ConfigError(
                f"{field}[{i}]",
                f"input {name!r} of shape {shape}",
                f"shape {expected}, the model's input {name!r} ('N': any size)",
            )


def _equal_batches(feeds_list: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """Re-cut batches to one size (the gcd of the sizes), keeping every sample.

    ORT's histogram calibrators (entropy, percentile) stack per-batch outputs with ``np.asarray`` and
    fail on a shorter last batch ("inhomogeneous shape"); equal batches avoid that.
    """
    sizes = {len(next(iter(f.values()))) for f in feeds_list if f}
    if len(sizes) <= 1:
        return feeds_list
    names = list(feeds_list[0])
    try:
        joined = {n: np.concatenate([f[n] for f in feeds_list]) for n in names}
    except ValueError:  # other dimensions differ too: nothing to re-cut
        return feeds_list
    step = math.gcd(*sizes)
    total = len(joined[names[0]])
    return [{n: joined[n][i : i + step] for n in names} for i in range(0, total, step)]


class BatchReader:
    """ORT's ``CalibrationDataReader`` protocol over in-memory batches.

    ORT recognises readers by their ``get_next`` method (``__subclasshook__``), so this class needs no
    onnxruntime import; ``rewind`` lets one reader serve several passes.
    """

    def __init__(self, signature: Sequence[tuple[str, Any]], batches: Sequence[Any]) -> None:
        self._feeds = _equal_batches([feeds(signature, batch) for batch in batches])
        self._start, self._end = 0, len(self._feeds)
        self._next = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._next >= self._end:
            return None
        self._next += 1
        return self._feeds[self._next - 1]

    def rewind(self) -> None:
        self._next = self._start

    def set_range(self, start_index: int, end_index: int) -> None:
        self._start, self._end = start_index, min(end_index, len(self._feeds))
        self._next = start_index

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        item = self.get_next()
        if item is None:
            raise StopIteration
        return item

    def __len__(self) -> int:
        return len(self._feeds)

    def digest(self) -> str:
        """A key for the batches' content: cached ranges must not outlive a change of calibration set."""
        sha = hashlib.sha256()
        for feed in self._feeds:
            for name in sorted(feed):
                array = np.ascontiguousarray(feed[name])
                sha.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
                sha.update(array.tobytes())
        return sha.hexdigest()[:20]

    def non_finite_inputs(self) -> list[str]:
        """Inputs holding inf/nan in some batch: the usual reason histogram calibrators fail."""
        bad = {
            name for feed in self._feeds for name, a in feed.items() if a.dtype.kind == "f" and not np.isfinite(a).all()
        }
        return sorted(bad)


def calibrate(
    model_path: Path,
    method: str,
    op_types: Sequence[str],
    reader: BatchReader,
    workdir: Path,
    *,
    entropy_bins: int = 512,
) -> Any:
    """ORT ``TensorsData`` (per-tensor ranges) for ``model_path``; failures become a ``BackendError``.

    ``entropy_bins``: ORT's default histogram (128 bins for 128 quantized bins) leaves the entropy search
    a single candidate, the full range, so "entropy" would equal "minmax". More bins give it thresholds
    to choose from; ORT's pure-Python search costs ~0.05 s per tensor at 512 bins, ~0.35 s at 2048.
    """
    q = deps.quantization()
    options = {"num_bins": entropy_bins} if method == "entropy" else {}
    reader.rewind()
    captured = io.StringIO()
    try:
        # ORT's histogram calibrators print progress with print(); keep it out of the user's stdout.
        with contextlib.redirect_stdout(captured):
            calibrator = q.create_calibrator(
                model_path,
                list(op_types),
                augmented_model_path=str(workdir / "augmented.onnx"),
                calibrate_method=getattr(q.CalibrationMethod, METHODS[method]),
                providers=["CPUExecutionProvider"],
                extra_options=options,
            )
            calibrator.collect_data(reader)
            ranges = calibrator.compute_data()
    except Exception as exc:
        raise calibration_error(method, reader, f"{type(exc).__name__}: {exc}") from exc
    finally:
        if captured.getvalue():
            log.debug("ORT calibrator output:\n%s", captured.getvalue())
    bad = [name for name, data in ranges.items() if not _finite_range(data)]
    if bad:
        raise calibration_error(method, reader, f"non-finite ranges for tensor(s) {bad[:5]}")
    return ranges


def calibration_error(method: str, reader: BatchReader, cause: str) -> BackendError:
    text = f"ONNX Runtime calibration with method {method!r} failed ({cause})"
    inputs = reader.non_finite_inputs()
    if inputs:
        text += f"; the calibration batches hold inf/nan in input(s) {inputs}"
    else:
        text += "; the model may produce inf/nan (e.g. -inf attention masks: pad to a fixed length)"
    if method != "minmax":
        text += "; calibration='minmax' does not histogram values and may still work"
    return BackendError(text)


def _finite_range(data: Any) -> bool:
    try:
        low, high = data.range_value
    except AttributeError:
        return True  # the Distribution method stores avg/std only
    return bool(np.all(np.isfinite(low)) and np.all(np.isfinite(high)))


def supports_range_cache() -> bool:
    """``quantize_static(calibration_cache_path=...)`` exists (recent ORT); older releases recalibrate."""
    q = deps.quantization()
    return "calibration_cache_path" in inspect.signature(q.quantize_static).parameters


class RangeCache:
    """Calibrated ranges keyed by (model, batches, method, smooth alpha) digests, per backend instance."""

    def __init__(self) -> None:
        self._ranges: dict[tuple, Any] = {}

    def get(self, key: tuple) -> Any | None:
        return self._ranges.get(key)

    def put(self, key: tuple, ranges: Any) -> None:
        self._ranges[key] = ranges

    def __len__(self) -> int:
        return len(self._ranges)

    @staticmethod
    def write(ranges: Any, path: Path) -> Path:
        """The JSON cache file ``quantize_static`` reads instead of calibrating again."""
        deps.quantization().save_tensors_data(ranges, path)
        return path
