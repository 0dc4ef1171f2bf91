"""The LSTM tower: a linear input projection, a stacked LSTM, the state at the newest month."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from tsfuse.nn.towers import register_tower

if TYPE_CHECKING:
    from tsfuse.config import ModelConfig


@register_tower("lstm")
class LSTMTower(nn.Module):
    """Linear input projection, a stacked LSTM, the state at the last (newest) month.

    Args:
        config: ``hidden_size``, ``num_layers`` and ``dropout`` (between LSTM layers) are used.
        in_channels: per-month input channels.
    """

    def __init__(self, config: ModelConfig, in_channels: int) -> None:
        super().__init__()
        hidden, layers = config.hidden_size, config.num_layers
        self.input = nn.Linear(in_channels, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True,
                            dropout=config.dropout if layers > 1 else 0.0)
        self.out_size = hidden

    def forward(self, series: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """series [B, L, F], mask [B, L] (unused: padding is on the left) -> [B, hidden]."""
        h, _ = self.lstm(torch.relu(self.input(series)))  # [B, L, hidden]
        return h[:, -1]  # the newest month is always real
