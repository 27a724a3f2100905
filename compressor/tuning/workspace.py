"""Default workspaces: one folder per (weights, calibration data, config, evaluated or not).

``quantization.fit`` and ``mix_precision.fit`` keep their history in ``nc_workspace/<kind>-<digest>``
unless given ``workspace=``, so re-running the same script after a crash resumes, while two runs that
differ in the model's weights, the calibration data or the config never share a folder by default
(the tuner's header check would refuse the second one). A changed ``eval_func`` cannot be hashed; the
re-measured fp32 baseline catches it at resume (``history.check_same_run``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from . import calibration as calib

DEFAULT_ROOT = Path("nc_workspace")


def default_workspace(
    kind: str, model_fingerprint: str, config_json: str, batches: Sequence[calib.Batch], *, evaluated: bool
) -> Path:
    """``nc_workspace/<kind>-<12 hex digits>`` for this model, config and input batches."""
    digest = hashlib.sha256()
    for part in (
        model_fingerprint,
        config_json,
        calib.fingerprint(batches),
        "evaluated" if evaluated else "unevaluated",
    ):
        digest.update(part.encode() + b"\0")
    return DEFAULT_ROOT / f"{kind}-{digest.hexdigest()[:12]}"
