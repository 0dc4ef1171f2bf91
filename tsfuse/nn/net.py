"""The composed two-tower network (without the frozen text encoder, which runs outside)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tsfuse.config import ModelConfig
from tsfuse.data.tasks import N_LEVELS, TREND_CLASSES
from tsfuse.data.features import series_channels, static_features
from tsfuse.nn.heads import FusionMLP, QuantileHead, TextProjection
from tsfuse.nn.temporal import build_temporal_tower

PARTS = ("temporal", "text", "fusion", "heads")
N_VALUE_SUMMARY = 2  # what the class heads read from the value head (see value_summary)


class ImpliedClasses(nn.Module):
    """The trend/level classes the value forecast implies; its one parameter scales the spread."""

    def __init__(self, tau: float, level_edges: tuple[float, ...]) -> None:
        super().__init__()
        self.tau = tau
        self.register_buffer("log_edges", torch.log1p(torch.tensor(level_edges, dtype=torch.float32)))
        self.spread_scale = nn.Parameter(torch.tensor(0.5413))  # softplus(0.5413) = 1

    def forward(self, quantiles: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return implied_class_log_probs(quantiles, batch, self.tau, self.log_edges, self.spread_scale)


def implied_class_log_probs(quantiles: torch.Tensor, batch: dict[str, torch.Tensor], tau: float,
                            log_edges: torch.Tensor, spread_scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of the trend [B, 3] and level [B, 5] classes implied by the value forecast.

    The 3-month mean after the origin is taken as log-normal around the median forecast, with a
    spread from the p10-p90 band (times a learned factor); the BENCHMARK.md rules (tau, level
    edges) then give each class's probability.
    """
    log_scale = batch["static"][:, :1]  # [B, 1]
    q = quantiles[:, :3]  # [B, 3, Q] normalised log1p
    median = q[..., q.shape[-1] // 2] + log_scale
    mu = torch.log1p(torch.expm1(median.clamp(-5, 20)).clamp_min(0).mean(-1))  # [B]
    sigma = (q[..., -1] - q[..., 0]).mean(-1) / 2.563 * F.softplus(spread_scale) + 0.05  # [B]
    normal = torch.distributions.Normal(mu.unsqueeze(-1), sigma.unsqueeze(-1))
    below = normal.cdf(log_edges.unsqueeze(0))  # [B, 4]
    ones = torch.ones_like(mu).unsqueeze(-1)
    level = torch.cat([below, ones], -1) - torch.cat([torch.zeros_like(ones), below], -1)
    recent = batch["series"][:, -3:, 0] + log_scale  # last 3 context months, log1p
    past = torch.log1p(torch.expm1(recent.clamp(-5, 20)).clamp_min(0).mean(-1)).unsqueeze(-1)
    trend_normal = torch.distributions.Normal(mu.unsqueeze(-1) - past, sigma.unsqueeze(-1))
    cdf = trend_normal.cdf(torch.tensor([-tau, tau], device=mu.device).unsqueeze(0))  # [B, 2]
    trend = torch.stack([cdf[:, 0], cdf[:, 1] - cdf[:, 0], 1 - cdf[:, 1]], -1)
    return torch.log(trend.clamp_min(1e-4)), torch.log(level.clamp_min(1e-4))


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
            "implied": ImpliedClasses(config.trend_tau, config.level_edges),
        })

        self._zero_class_heads()

    def _zero_class_heads(self) -> None:
        """Class heads start at zero: their first predictions are the classes the value forecast implies."""
        for name in ("trend", "level"):
            nn.init.zeros_(self.heads[name].weight)
            nn.init.zeros_(self.heads[name].bias)

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
        trend_prior, level_prior = self.heads["implied"](quantiles, batch)
        return {"quantiles": quantiles,
                "trend": trend_prior + self.heads["trend"](zv),  # [B, 3] logits
                "level": level_prior + self.heads["level"](zv)}  # [B, 5] logits

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
