"""What file a compressed model's ``save(path)`` writes, decided by the path's suffix.

A file's name says how to open it, so the suffix picks the form and an unknown suffix is refused:

==============  ============================================  =====================================
result          suffix → form                                 reload with
==============  ============================================  =====================================
int8, torch     ``.pt``/``.pth``/``.pt2``: torch archive        ``quantization.load(path[, fp32_model])``
                (static: ``torch.export``; dynamic: tensors,  (dynamic models need their fp32 model)
                ``weights_only``); ``.onnx``: ONNX export (QDQ)  ``quantization.load(path)``, ``onnx.load``
int8, ONNX      ``.onnx``                                      ``quantization.load(path)``, ``onnx.load``
int8, Keras     ``.tflite``: the TensorFlow Lite flatbuffer      ``quantization.load(path)``, LiteRT
bf16/fp16,      ``.pt``/``.pth``: state dict + precisions;     ``mix_precision.load(path, fp32_model)``
torch           ``.onnx``: ONNX export                         ``mix_precision.load(path)``, ``onnx.load``
bf16/fp16, ONNX ``.onnx``                                      ``mix_precision.load(path)``, ``onnx.load``
bf16/fp16,      ``.keras`` (per-layer dtype policies)           ``mix_precision.load(path)``
Keras
==============  ============================================  =====================================

A framework missing from a table (a custom backend) saves in its native form under any name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import CompressorError, ConfigError, did_you_mean

NATIVE, ONNX = "native", "onnx"

QUANTIZED_FORMS = {
    "torch": {".pt": NATIVE, ".pth": NATIVE, ".pt2": NATIVE, ".onnx": ONNX},
    "onnxrt": {".onnx": NATIVE},
    "tensorflow": {".tflite": NATIVE},
}
MIXED_PRECISION_FORMS = {
    "torch": {".pt": NATIVE, ".pth": NATIVE, ".onnx": ONNX},
    "onnxrt": {".onnx": NATIVE},
    "tensorflow": {".keras": NATIVE},
}


def saved_form(forms: dict[str, dict[str, str]], framework: str, path: Path, kind: str) -> str:
    """``NATIVE`` or ``ONNX`` for saving a ``framework`` model (``kind``: "int8", "mixed-precision") as
    ``path``; ``ConfigError`` naming the suffix and the allowed ones when the suffix says neither."""
    allowed = forms.get(framework)
    if allowed is None:
        return NATIVE
    suffix = path.suffix.lower()
    if suffix in allowed:
        return allowed[suffix]
    what = f"{'an ONNX' if framework == 'onnxrt' else f'a {framework}'} {kind} model"
    native = "/".join(s for s, form in allowed.items() if form == NATIVE)
    meaning = f"{native}: the {'ONNX' if framework == 'onnxrt' else framework} form" + (
        "; .onnx: an ONNX export" if ONNX in allowed.values() else ""
    )
    raise ConfigError(
        "path suffix",
        suffix or path.name,
        sorted(allowed),
        reason=f"{what} is saved in the form its file name says ({meaning})",
        suggestion=did_you_mean(suffix, allowed, cutoff=0.5),
    )


def calibration_example(tuning: Any) -> tuple | None:
    """The first batch the tuner calibrated (or measured) with, kept in its workspace; None when unknown."""
    history_path = getattr(tuning, "history_path", None)
    if history_path is None:
        return None
    from .tuning.calibration import load
    from .tuning.history import read_history

    try:
        name = read_history(history_path).meta.calibration_file
        batches = load(Path(history_path).parent / name)
    except (CompressorError, OSError, KeyError, ValueError):  # a moved or cleaned workspace
        return None
    return batches[0] if batches else None
