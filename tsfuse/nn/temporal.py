"""Temporal towers: encode the context months into one vector."""

from __future__ import annotations

import torch
from torch import nn


class LSTMTower(nn.Module):
    """Linear input projection, a stacked LSTM, the state at the last (newest) month."""

    def __init__(self, in_channels: int, hidden_size: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.input = nn.Linear(in_channels, hidden_size)
        self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.out_size = hidden_size

    def forward(self, series: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # series [B, L, F], mask [B, L] (1 = real month; padding is on the left)
        h, _ = self.lstm(torch.relu(self.input(series)))  # [B, L, hidden]
        return h[:, -1]  # the newest month is always real


class TransformerTower(nn.Module):
    """Transformer encoder over the months with learned positions; pools the newest month and the mean."""

    def __init__(self, in_channels: int, hidden_size: int, num_layers: int, num_heads: int,
                 dropout: float, context_length: int) -> None:
        super().__init__()
        self.input = nn.Linear(in_channels, hidden_size)
        self.position = nn.Parameter(torch.zeros(1, context_length, hidden_size))
        layer = nn.TransformerEncoderLayer(hidden_size, num_heads, dim_feedforward=2 * hidden_size,
                                           dropout=dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.out = nn.Linear(2 * hidden_size, hidden_size)
        self.out_size = hidden_size

    def forward(self, series: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.input(series) + self.position[:, -series.shape[1]:]  # [B, L, hidden]
        h = self.encoder(x, src_key_padding_mask=mask < 0.5)  # [B, L, hidden]
        m = mask.unsqueeze(-1)
        mean = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
        return self.out(torch.cat([h[:, -1], mean], dim=-1))


def build_temporal_tower(kind: str, in_channels: int, hidden_size: int, num_layers: int,
                         num_heads: int, dropout: float, context_length: int) -> nn.Module:
    """The tower named by ``kind`` ('lstm' or 'transformer')."""
    if kind == "lstm":
        return LSTMTower(in_channels, hidden_size, num_layers, dropout)
    if kind == "transformer":
        return TransformerTower(in_channels, hidden_size, num_layers, num_heads, dropout, context_length)
    raise ValueError(f"unknown temporal tower {kind!r}; use 'lstm' or 'transformer'")
