"""Parent side of multi-instance runs: export the model to a file, start pinned workers, release them together.

Nothing is pickled: a torch module travels as a TorchScript trace, an ONNX model as its bytes, batches as
an ``.npz`` read back with ``allow_pickle=False``.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendError
from ..pinning import argv_prefix
from .worker import READY_LINE

STDERR_TAIL = 2000


def export_model(framework: str, model: Any, example: tuple[np.ndarray, ...], folder: Path) -> str:
    """A file the worker can load without the user's Python classes."""
    if framework == "onnxrt":
        if isinstance(model, (str, Path)):
            return str(Path(model).resolve())
        path = folder / "model.onnx"
        path.write_bytes(model.SerializeToString())
        return str(path)
    import torch

    path = folder / "model.pt"
    try:
        with warnings.catch_warnings():
            # TorchScript is deprecated in favour of torch.export, but loads anywhere without the user's classes.
            warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated", category=DeprecationWarning)
            if isinstance(model, torch.jit.ScriptModule):
                scripted = model
            else:
                with torch.inference_mode(False), torch.no_grad():
                    example_inputs = tuple(torch.from_numpy(a) for a in example)
                    scripted = torch.jit.trace(model.eval(), example_inputs, strict=False)
            torch.jit.save(scripted, str(path))
    except Exception as exc:  # tracing fails in many model-specific ways
        raise BackendError(
            f"cannot hand this torch model to worker processes: torch.jit.trace failed ({type(exc).__name__}: {exc}). "
            "Use num_of_instance=1 (measured in this process, no subprocess) or pass an ONNX export of the model."
        ) from exc
    return str(path)


def save_batches(batches: list[tuple[np.ndarray, ...]], path: Path) -> str:
    arrays = {f"b{i:05d}_{j}": np.ascontiguousarray(a) for i, b in enumerate(batches) for j, a in enumerate(b)}
    np.savez(path, **arrays)
    return str(path)


def _worker_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # so `-m compressor.multi_instance.worker` imports this very tree
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    return env


def _tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text[-STDERR_TAIL:].strip()


def run_workers(specs: list[dict[str, Any]], method: str, folder: Path, timeout_s: float) -> list[dict[str, Any]]:
    """Start one worker per spec, wait until all are warm, release them together, return their reports."""
    procs: list[subprocess.Popen] = []
    stderr_paths = []
    try:
        for i, spec in enumerate(specs):
            spec_path = folder / f"spec{i}.json"
            spec_path.write_text(json.dumps(spec))
            stderr_paths.append(folder / f"stderr{i}.txt")
            cmd = [*argv_prefix(method, spec["cpus"]), sys.executable, "-m", "compressor.multi_instance.worker"]
            with open(stderr_paths[i], "w") as err:
                procs.append(
                    subprocess.Popen(
                        [*cmd, "--spec", str(spec_path)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=err,
                        env=_worker_env(spec["intra"] or len(spec["cpus"])),
                    )
                )
        _wait_ready(procs, stderr_paths, time.monotonic() + timeout_s)
        for p in procs:  # the start barrier
            p.stdin.write(b"go\n")
            p.stdin.flush()
        reports = []
        for i, (p, spec) in enumerate(zip(procs, specs, strict=True)):
            try:
                rc = p.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                raise BackendError(f"benchmark instance {i} did not finish within {timeout_s:.0f} s") from None
            if rc != 0 or not Path(spec["result"]).exists():
                raise BackendError(f"benchmark instance {i} failed (exit {rc}); stderr:\n{_tail(stderr_paths[i])}")
            reports.append(json.loads(Path(spec["result"]).read_text()))
        return reports
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for stream in (p.stdin, p.stdout):
                if stream:
                    with contextlib.suppress(OSError):
                        stream.close()


def _wait_ready(procs: list[subprocess.Popen], stderr_paths: list[Path], deadline: float) -> None:
    pending = {p.stdout: i for i, p in enumerate(procs)}
    seen = {i: b"" for i in range(len(procs))}
    with selectors.DefaultSelector() as sel:
        for stream in pending:
            sel.register(stream, selectors.EVENT_READ)
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BackendError(f"benchmark instances {sorted(pending.values())} not warm before the timeout")
            for key, _ in sel.select(timeout=left):
                i = pending[key.fileobj]
                chunk = os.read(key.fileobj.fileno(), 65536)  # raw read: the model may print too
                if not chunk:  # EOF before READY: the worker died
                    rc = procs[i].wait()
                    raise BackendError(
                        f"benchmark instance {i} failed before measuring (exit {rc}); stderr:\n{_tail(stderr_paths[i])}"
                    )
                seen[i] = (seen[i] + chunk)[-4096:]
                if READY_LINE.encode() in seen[i]:
                    sel.unregister(key.fileobj)
                    del pending[key.fileobj]
