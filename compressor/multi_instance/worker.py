"""One benchmark instance in its own process: ``python -m compressor.multi_instance.worker --spec SPEC.json``.

Protocol with the parent: after warmup the worker prints READY_LINE and blocks reading stdin; the parent
writes a line to every worker once all are warm, so the instances measure together. The report (JSON)
goes to the spec's ``result`` path; a crash leaves its traceback on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

READY_LINE = "__compressor_bench_ready__"


def load_batches(path: str) -> list[tuple]:
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        keys = sorted(data.files)  # "b00000_0", "b00000_1", ...: batch index, then input index
        batches: dict[str, list] = {}
        for key in keys:
            batches.setdefault(key.split("_")[0], []).append(data[key])
    return [tuple(batches[k]) for k in sorted(batches)]


def load_model(framework: str, path: str):
    if framework == "torch":
        import torch

        return torch.jit.load(path, map_location="cpu")
    return path  # onnxruntime opens the file itself


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compressor.multi_instance.worker")
    parser.add_argument("--spec", required=True)
    with open(parser.parse_args(argv).spec) as fh:
        spec = json.load(fh)
    # The protocol keeps stdout to itself; anything the model prints goes to stderr (a file the parent reads).
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    if spec.get("affinity"):  # fallback pinning: before any framework starts its threads
        os.sched_setaffinity(0, spec["affinity"])

    from ..pinning import cpus_allowed
    from .runners import PREPARERS, timed_loop

    model = load_model(spec["framework"], spec["model"])
    prepared = PREPARERS[spec["framework"]](model, load_batches(spec["batches"]), spec["intra"], spec["inter"])

    def barrier() -> None:
        print(READY_LINE, file=protocol, flush=True)
        if not sys.stdin.readline():
            raise SystemExit("parent closed the start barrier without releasing it")

    report = timed_loop(prepared, spec["warmup"], spec["iterations"], barrier)
    report["cpus"] = cpus_allowed()
    report["warnings"] = prepared.warnings
    with open(spec["result"] + ".tmp", "w") as fh:
        json.dump(report, fh)
    os.replace(spec["result"] + ".tmp", spec["result"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
