"""The composed two-tower network (without the frozen text encoder, which runs outside)."""

from __future__ import annotations

import torch
from torch import nn

from tsfuse.config import ModelConfig
from tsfuse.data.tasks import N_LEVELS, TREND_CLASSES
from tsfuse.features import series_channels, static_features
from tsfuse.nn.heads import FusionMLP, QuantileHead, TextProjection
from tsfuse.nn.temporal import build_temporal_tower

PARTS = ("temporal", "text", "fusion", "heads")
N_VALUE_SUMMARY = 2  # what the class heads read from the value head (see value_summary)


def value_summary(quantiles: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """[B, 2]: the median forecast's first-3-month log level (absolute) and its change against the
    last 3 context months — the quantities the trend and level rules are defined on."""
    future = quantiles[:, :3, quantiles.shape[-1] // 2].mean(-1)  # normalised log1p
    recent = batch["series"][:, -3:, 0].mean(-1)  # normalised log1p of the last 3 months
    return torch.stack([future + batch["static"][:, 0], future - recent], dim=-1)


class TwoTowerNet(nn.Module):
    """Temporal tower + projected text vector + static features -> fusion -> value/trend/level heads."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = len(config.covariates)
        self.temporal = build_temporal_tower(config.temporal, series_channels(c), config.hidden_size,
                                             config.num_layers, config.num_heads, config.dropout,
                                             config.context_length)
        self.text = TextProjection(config.text_dim, config.text_proj_size) if config.text_model else None
        text_size = config.text_proj_size if config.text_model else 0
        self.fusion = FusionMLP(self.temporal.out_size + text_size + static_features(c),
                                config.fusion_size, config.dropout)
        self.heads = nn.ModuleDict({
            "value": QuantileHead(config.fusion_size, config.horizon, len(config.quantiles)),
            "trend": nn.Linear(config.fusion_size + N_VALUE_SUMMARY, len(TREND_CLASSES)),
            "level": nn.Linear(config.fusion_size + N_VALUE_SUMMARY, N_LEVELS),
        })

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The fused project embedding [B, fusion_size]."""
        mask = batch["series"][..., -3]  # the mask channel sits before the two calendar channels
        parts = [self.temporal(batch["series"], mask)]  # [B, hidden]
        if self.text is not None:
            parts.append(self.text(batch["text"], batch["text_present"]))  # [B, text_proj]
        parts.append(batch["static"])  # [B, 2 + 2C]
        return self.fusion(torch.cat(parts, dim=-1))

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        z = self.forward_features(batch)
        quantiles = self.heads["value"](z)  # [B, H, Q], normalised log space
        zv = torch.cat([z, value_summary(quantiles, batch)], dim=-1)
        return {"quantiles": quantiles,
                "trend": self.heads["trend"](zv),  # [B, 3] logits
                "level": self.heads["level"](zv)}  # [B, 5] logits

    def part(self, name: str) -> nn.Module | None:
        """One of the named parts: temporal, text, fusion, heads."""
        if name not in PARTS:
            raise ValueError(f"unknown part {name!r}; parts are {PARTS}")
        return getattr(self, name)

    def set_trainable(self, name: str, trainable: bool) -> None:
        """Freeze or unfreeze one part."""
        part = self.part(name)
        if part is not None:
            for p in part.parameters():
                p.requires_grad = trainable

    def reset_heads(self) -> None:
        """Re-initialise the task heads (e.g. before training on a new task)."""
        for head in self.heads.values():
            head.reset_parameters() if hasattr(head, "reset_parameters") else head.linear.reset_parameters()
