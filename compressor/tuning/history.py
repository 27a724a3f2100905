"""The trial history: one JSON object per line, crash-safe, no pickle.

Layout of ``<workspace>/history.jsonl``::

    {"kind": "meta", "schema": 1, "config": {...}, "baseline_accuracy": ..., ...}   # first line
    {"kind": "trial", "index": 0, "key": "...", "plan": {...}, "accuracy": ..., ...}
    {"kind": "sensitivity", "plan_key": "...", "errors": {op: value}}

The header is written with write-to-temp + fsync + ``os.replace``; every later record is one
``O_APPEND`` write of a whole line followed by fsync, so a crash can only tear the last line. Readers
ignore a torn last line; ``History.open`` also cuts it off before appending again. A file from a newer
schema, or a damaged line that is not the last one, is refused with an explanation.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HistoryError, StaleWorkspaceError
from .trial import Trial

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
HISTORY_FILE = "history.jsonl"
# Two measurements of the same deterministic eval_func agree exactly; this only absorbs float noise.
BASELINE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class HistoryMeta:
    """The header line: what identifies the run (config, op names, weights, calibration data) and the
    fp32 reference. ``model_sha256`` is the backend's fingerprint of the fp32 weights ("" when the backend
    cannot fingerprint its models; histories written before it existed lack it too)."""

    config: Mapping[str, Any]
    baseline_accuracy: float
    fp32_latency_ms: float
    fp32_size_bytes: int
    seed: int
    strategy: str
    ops: tuple[str, ...]
    backend: str = ""
    calibration_file: str = "calibration.npz"
    calibration_sha256: str = ""
    model_sha256: str = ""
    schema: int = SCHEMA_VERSION

    def to_record(self) -> dict[str, Any]:
        return {
            "kind": "meta",
            "schema": self.schema,
            "config": dict(self.config),
            "baseline_accuracy": self.baseline_accuracy,
            "fp32_latency_ms": self.fp32_latency_ms,
            "fp32_size_bytes": self.fp32_size_bytes,
            "seed": self.seed,
            "strategy": self.strategy,
            "ops": list(self.ops),
            "backend": self.backend,
            "calibration_file": self.calibration_file,
            "calibration_sha256": self.calibration_sha256,
            "model_sha256": self.model_sha256,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], path: Path) -> HistoryMeta:
        schema = record.get("schema")
        if schema != SCHEMA_VERSION:
            raise HistoryError(
                f"{path}: history schema {schema!r} is not the supported {SCHEMA_VERSION}; "
                "it was written by another version of compressor. Use a new workspace."
            )
        try:
            return cls(
                config=record["config"],
                baseline_accuracy=float(record["baseline_accuracy"]),
                fp32_latency_ms=float(record["fp32_latency_ms"]),
                fp32_size_bytes=int(record["fp32_size_bytes"]),
                seed=int(record["seed"]),
                strategy=str(record["strategy"]),
                ops=tuple(record["ops"]),
                backend=str(record.get("backend", "")),
                calibration_file=str(record.get("calibration_file", "calibration.npz")),
                calibration_sha256=str(record.get("calibration_sha256", "")),
                model_sha256=str(record.get("model_sha256", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HistoryError(f"{path}: the header line is incomplete ({exc!r})") from None


@dataclass
class History:
    """An open history file: the header, the trials and sensitivity records read so far."""

    path: Path
    meta: HistoryMeta
    trials: list[Trial] = field(default_factory=list)
    sensitivity: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def create(cls, path: str | os.PathLike, meta: HistoryMeta) -> History:
        """Start a new history (replacing any file at ``path`` atomically)."""
        path = Path(path)
        write_atomic(path, _line(meta.to_record()))
        return cls(path, meta)

    @classmethod
    def open(cls, path: str | os.PathLike) -> History:
        """Read an existing history for appending; a torn last line is then cut off (a damaged file is
        refused untouched)."""
        path = Path(path)
        history = read_history(path)
        raw = path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            cut = raw.rfind(b"\n") + 1
            log.info("%s: cutting the torn last line (%d bytes) before appending", path, len(raw) - cut)
            write_atomic(path, raw[:cut])
        return history

    def append_trial(self, trial: Trial, *, seed: int, strategy: str) -> None:
        append_line(self.path, trial.to_record(seed=seed, strategy=strategy))
        self.trials.append(trial)

    def append_sensitivity(self, plan_key: str, errors: Mapping[str, float]) -> None:
        record = {"kind": "sensitivity", "plan_key": plan_key, "errors": dict(errors)}
        append_line(self.path, record)
        self.sensitivity[plan_key] = dict(errors)

    def trial(self, index: int) -> Trial:
        for trial in self.trials:
            if trial.index == index:
                return trial
        known = [t.index for t in self.trials]
        raise HistoryError(f"{self.path}: no trial with index {index}; the history holds indices {known}")


def read_history(path: str | os.PathLike) -> History:
    """Parse a history file without modifying it; a torn last line is ignored (with a warning).

    Any other damage (a line that is not JSON or not UTF-8, a record missing its fields) is refused
    with the file and line number: only the last line can be torn by a crash, so damage before it means
    the file was edited or corrupted, and the trials after it cannot be trusted to be complete.
    """
    path = Path(path)
    if not path.exists():
        raise HistoryError(f"{path}: no such history file")
    raw = path.read_bytes()
    cut = raw.rfind(b"\n") + 1
    if cut < len(raw):
        log.warning("%s: ignoring a torn last line (%d bytes)", path, len(raw) - cut)
    records = []
    for number, line in enumerate(raw[:cut].split(b"\n")[:-1], start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line.decode())))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
            raise HistoryError(f"{path}:{number}: {_DAMAGED.format(reason=reason)}") from None
    if not records or not isinstance(records[0][1], dict) or records[0][1].get("kind") != "meta":
        raise HistoryError(f"{path}: the first line is not a history header; is this a compressor history?")
    history = History(path, HistoryMeta.from_record(records[0][1], path))
    for number, record in records[1:]:
        kind = record.get("kind") if isinstance(record, dict) else None
        try:
            if not isinstance(record, dict):
                raise TypeError(f"a JSON {type(record).__name__}, not an object")
            if kind == "trial":
                history.trials.append(Trial.from_record(record))
            elif kind == "sensitivity":
                history.sensitivity[record["plan_key"]] = {k: float(v) for k, v in record["errors"].items()}
            else:
                log.warning("%s:%d: skipping a record of unknown kind %r", path, number, kind)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"incomplete {kind} record ({exc})" if kind else str(exc)
            raise HistoryError(f"{path}:{number}: {_DAMAGED.format(reason=reason)}") from None
    return history


_DAMAGED = (
    "damaged record ({reason}); not a torn last line, so the file was edited or corrupted. "
    "Pass resume=False to start over (the damaged history is kept as .old), or use another workspace"
)


def check_same_run(history: History, now: HistoryMeta) -> None:
    """Refuse to resume ``history`` for a run that differs from ``now`` in config, op names, weights,
    calibration data or fp32 baseline accuracy (``now`` holds this run's values; an empty
    ``calibration_sha256`` means the saved batches are used, an empty ``model_sha256`` that the backend
    cannot fingerprint the model). Raises ``StaleWorkspaceError`` naming every difference."""
    old = history.meta
    differences = _diff(old.config, now.config, "conf")
    if old.ops != now.ops:
        differences.append(f"model ops: {len(old.ops)} recorded vs {len(now.ops)} now")
    if now.model_sha256 and old.model_sha256 != now.model_sha256:
        recorded = old.model_sha256 or "none (written by an older compressor)"
        differences.append(f"weights: model fingerprint {recorded} recorded vs {now.model_sha256} now")
    if old.calibration_sha256 and now.calibration_sha256 and old.calibration_sha256 != now.calibration_sha256:
        differences.append("calibration data differs from the saved calibration batches")
    if not _same_accuracy(old.baseline_accuracy, now.baseline_accuracy):
        differences.append(
            f"fp32 baseline accuracy: {old.baseline_accuracy!r} recorded vs {now.baseline_accuracy!r} measured now, "
            "so the model or eval_func changed, or eval_func is not deterministic"
        )
    if differences:
        shown = "; ".join(differences[:6]) + ("; ..." if len(differences) > 6 else "")
        raise StaleWorkspaceError(
            f"{history.path} was written by a different tuning run ({shown}). Its trials do not describe "
            "this run, so they are not reused. Pass resume=False to start over in this workspace (the old "
            "history is kept as .old), or pass another workspace=."
        )


def _same_accuracy(recorded: float, measured: float) -> bool:
    if math.isnan(recorded) or math.isnan(measured):  # performance_only runs record no accuracy
        return math.isnan(recorded) and math.isnan(measured)
    return math.isclose(recorded, measured, rel_tol=BASELINE_TOLERANCE, abs_tol=BASELINE_TOLERANCE)


def _diff(old: Any, new: Any, where: str) -> list[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _diff(old.get(key, "<unset>"), new.get(key, "<unset>"), f"{where}.{key}")
        return out
    return [] if old == new else [f"{where}: {old!r} recorded vs {new!r} now"]


def _line(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True) + "\n"


def append_line(path: Path, record: Mapping[str, Any]) -> None:
    """One ``O_APPEND`` write of a whole line, then fsync: a crash tears at most this line."""
    data = _line(record).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        written = os.write(fd, data)
        if written != len(data):  # a short write on a regular file means the disk is full
            raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write ``path`` so that readers see the old content or the new, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename durable; some platforms cannot open directories, which is fine."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
