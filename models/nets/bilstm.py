"""BiLSTM text classifier over fixed-length word ids (pad id 0), masked mean pooling over time.

Mean pooling rather than the last hidden state: with right padding the last step of the
forward direction would mostly have read padding.
"""

from __future__ import annotations

import torch
from torch import nn


class BiLSTMClassifier(nn.Module):
    def __init__(self, vocab_size: int, embed_dim: int, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(2 * hidden, num_classes)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        mask = (input_ids != 0).unsqueeze(-1).to(torch.float32)
        hidden, _ = self.lstm(self.embedding(input_ids))
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.fc(self.dropout(pooled))


def build_torch(entry) -> nn.Module:
    r = entry.recipe
    return BiLSTMClassifier(int(r["vocab_size"]), int(r["embed_dim"]), int(r["hidden"]), entry.num_classes)
