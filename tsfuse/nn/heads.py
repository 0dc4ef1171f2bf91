"""Text projection, fusion MLP and the three task heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TextProjection(nn.Module):
    """Projects a frozen README embedding; a learned vector stands in for an empty README."""

    def __init__(self, text_dim: int, out_size: int) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(text_dim, out_size), nn.GELU())
        self.no_text = nn.Parameter(torch.zeros(out_size))

    def forward(self, text: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        p = present.unsqueeze(-1)
        return p * self.proj(text) + (1 - p) * self.no_text


class FusionMLP(nn.Module):
    """Joins the temporal vector, the text vector and static features."""

    def __init__(self, in_size: int, out_size: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_size, out_size), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(out_size, out_size), nn.GELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class QuantileHead(nn.Module):
    """H months x Q quantiles, monotone by construction (median + positive offsets)."""

    def __init__(self, in_size: int, horizon: int, n_quantiles: int) -> None:
        super().__init__()
        if n_quantiles % 2 != 1:
            raise ValueError("the quantile head needs an odd number of quantiles around the median")
        self.horizon, self.n_quantiles = horizon, n_quantiles
        self.linear = nn.Linear(in_size, horizon * n_quantiles)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = self.linear(x).view(-1, self.horizon, self.n_quantiles)
        mid = self.n_quantiles // 2
        median = raw[..., mid:mid + 1]
        below = torch.flip(torch.cumsum(F.softplus(torch.flip(raw[..., :mid], [-1])), -1), [-1])
        above = torch.cumsum(F.softplus(raw[..., mid + 1:]), -1)
        return torch.cat([median - below, median, median + above], dim=-1)  # [B, H, Q]
