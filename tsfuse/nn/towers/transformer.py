"""The Transformer tower: an encoder over the months with learned positions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from tsfuse.nn.towers import register_tower

if TYPE_CHECKING:
    from tsfuse.config import ModelConfig


@register_tower("transformer")
class TransformerTower(nn.Module):
    """Transformer encoder over the months with learned positions; pools the newest month and the mean.

    Args:
        config: ``hidden_size``, ``num_layers``, ``num_heads``, ``dropout`` and
            ``context_length`` (the number of learned positions) are used.
        in_channels: per-month input channels.
    """

    def __init__(self, config: ModelConfig, in_channels: int) -> None:
        super().__init__()
        hidden = config.hidden_size
        self.input = nn.Linear(in_channels, hidden)
        self.position = nn.Parameter(torch.zeros(1, config.context_length, hidden))
        layer = nn.TransformerEncoderLayer(hidden, config.num_heads, dim_feedforward=2 * hidden,
                                           dropout=config.dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.out = nn.Linear(2 * hidden, hidden)
        self.out_size = hidden

    def forward(self, series: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """series [B, L, F], mask [B, L] (padded months are not attended to) -> [B, hidden]."""
        x = self.input(series) + self.position[:, -series.shape[1]:]  # [B, L, hidden]
        h = self.encoder(x, src_key_padding_mask=mask < 0.5)  # [B, L, hidden]
        m = mask.unsqueeze(-1)
        mean = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
        return self.out(torch.cat([h[:, -1], mean], dim=-1))
