"""Rebuild any trial's model from the history: its plan + the calibration batches saved with it.

Needs neither the dataloader nor ``eval_func``: the history stores the plan as JSON and the workspace
holds ``calibration.npz``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import calibration as calib
from .history import read_history


def recover(backend: Any, fp32_model: Any, history_path: str | os.PathLike, trial_index: int) -> Any:
    """The quantized model of trial ``trial_index`` (``backend.prepare`` then ``backend.quantize``)."""
    history = read_history(history_path)
    trial = history.trial(trial_index)
    batches = calib.load(Path(history_path).parent / history.meta.calibration_file, history.meta.calibration_sha256)
    model = backend.prepare(fp32_model)
    return backend.quantize(model, trial.plan, batches)
