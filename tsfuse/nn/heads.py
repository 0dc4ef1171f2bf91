"""Text projection, fusion MLP and the task heads; each task head owns its loss.

Shapes: B windows, H horizon months, Q quantiles, K classes. Batches are dicts of named tensors
(:func:`tsfuse.data.features.build_inputs`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SPREAD_SCALE_INIT = 0.5413  # softplus(0.5413) = 1


class TextProjection(nn.Module):
    """Projects a frozen README embedding; a learned vector stands in for an empty README.

    With ``gated``, a learned gate in (0, 1) set by the window's history length (``age``) scales how
    far the README moves the vector from the no-README one, so the model can learn to read the
    README for cold starts and to ignore it where the history says more.

    Args:
        text_dim: the text encoder's output size D.
        out_size: the projected size.
        gated: whether the history-length gate is used.
    """

    def __init__(self, text_dim: int, out_size: int, gated: bool = False) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(text_dim, out_size), nn.GELU())
        self.no_text = nn.Parameter(torch.zeros(out_size))
        self.gate = nn.Linear(1, 1) if gated else None
        if self.gate is not None:
            nn.init.zeros_(self.gate.weight)
            nn.init.constant_(self.gate.bias, 2.0)  # sigmoid(2) = 0.88: starts close to reading the README

    def forward(self, text: torch.Tensor, present: torch.Tensor, age: torch.Tensor | None = None) -> torch.Tensor:
        """text [B, D], present [B] (, age [B] for the gate) -> [B, out_size]."""
        p = present.unsqueeze(-1)
        if self.gate is not None:
            p = p * torch.sigmoid(self.gate(age.unsqueeze(-1)))
        return self.no_text + p * (self.proj(text) - self.no_text)


class FusionMLP(nn.Module):
    """Joins the temporal vector, the text vector and the static features.

    Args:
        in_size: the size of the concatenated input.
        out_size: the fused embedding's size.
        dropout: dropout after the first layer.
    """

    def __init__(self, in_size: int, out_size: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_size, out_size), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(out_size, out_size), nn.GELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, in_size] -> [B, out_size]."""
        return self.net(x)


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                 quantiles: torch.Tensor) -> torch.Tensor:
    """Mean quantile (pinball) loss over the observed target months.

    Args:
        pred: forecasts [B, H, Q].
        target: true values [B, H].
        mask: [B, H], 1 where the target is observed.
        quantiles: the quantile levels [Q].
    """
    diff = target.unsqueeze(-1) - pred
    loss = torch.maximum(quantiles * diff, (quantiles - 1) * diff)  # [B, H, Q]
    m = mask.unsqueeze(-1)
    return (loss * m).sum() / (m.sum() * len(quantiles)).clamp_min(1.0)


class QuantileHead(nn.Module):
    """H months x Q quantiles, monotone by construction (median + positive offsets); pinball loss.

    Args:
        in_size: the fused embedding's size.
        horizon: H.
        quantiles: the quantile levels (an odd number, symmetric around the median).
    """

    def __init__(self, in_size: int, horizon: int, quantiles: tuple[float, ...]) -> None:
        super().__init__()
        if len(quantiles) % 2 != 1:
            raise ValueError("the quantile head needs an odd number of quantiles around the median")
        self.horizon, self.n_quantiles = horizon, len(quantiles)
        self.linear = nn.Linear(in_size, horizon * self.n_quantiles)
        self.register_buffer("quantiles", torch.tensor(quantiles, dtype=torch.float32))

    def reset_parameters(self) -> None:
        """Re-draw the weights as at construction."""
        self.linear.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, in_size] -> quantiles [B, H, Q] (normalised log space)."""
        raw = self.linear(x).view(-1, self.horizon, self.n_quantiles)
        mid = self.n_quantiles // 2
        median = raw[..., mid:mid + 1]
        below = torch.flip(torch.cumsum(F.softplus(torch.flip(raw[..., :mid], [-1])), -1), [-1])
        above = torch.cumsum(F.softplus(raw[..., mid + 1:]), -1)
        return torch.cat([median - below, median, median + above], dim=-1)

    def loss(self, pred: torch.Tensor, batch: dict[str, torch.Tensor], mase_weight: float = 0.0) -> torch.Tensor:
        """Pinball loss of ``pred`` [B, H, Q] against ``batch["target"]`` where ``batch["target_mask"]``.

        Args:
            pred: normalised log1p quantiles [B, H, Q].
            batch: with ``target``, ``target_mask``, ``log_scale`` and ``mase_scale``.
            mase_weight: share of the loss taken on the scale MASE scores: the pinball loss of the
                counts divided by each window's ``mase_scale`` (0: all on the log scale, as before).
        """
        loss = pinball_loss(pred, batch["target"], batch["target_mask"], self.quantiles)
        if mase_weight == 0:
            return loss
        shift = batch["log_scale"][:, None]
        counts = torch.expm1((pred + shift.unsqueeze(-1)).clamp(max=20.0)).clamp_min(0.0)  # [B, H, Q]
        truth = torch.expm1((batch["target"] + shift).clamp(max=20.0)).clamp_min(0.0)  # [B, H]
        scale = batch["mase_scale"][:, None, None]
        scaled = pinball_loss(counts / scale, truth / scale[..., 0], batch["target_mask"], self.quantiles)
        return (1 - mase_weight) * loss + mase_weight * scaled


class ClassHead(nn.Linear):
    """A linear correction of class logits, zero at start; weighted, label-smoothed cross-entropy.

    Its ``class_weights`` buffer [K] (set from the training labels) weighs the loss; a head
    trained with them learns p(k|x) * w_k, which inference undoes (post-hoc logit adjustment).

    Args:
        in_size: the input size (fused embedding + value summary).
        n_classes: K.
        label: the batch key of the labels (``"trend"`` or ``"level"``; -1 = no label).
    """

    def __init__(self, in_size: int, n_classes: int, label: str) -> None:
        super().__init__(in_size, n_classes)
        self.label = label
        self.register_buffer("class_weights", torch.ones(n_classes))

    def reset_parameters(self) -> None:
        """Zero weights: the first predictions are the classes the value forecast implies.

        The default initialisation is drawn first, so a seed gives the other parts the same
        weights as before zeroing existed.
        """
        super().reset_parameters()
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor], label_smoothing: float = 0.0) -> torch.Tensor:
        """Cross-entropy of ``logits`` [B, K] against ``batch[label]`` (0 for a batch without labels)."""
        loss = F.cross_entropy(logits, batch[self.label], weight=self.class_weights, ignore_index=-1,
                               label_smoothing=label_smoothing)
        return torch.nan_to_num(loss)


class ImpliedClasses(nn.Module):
    """The trend/level classes the value forecast implies; its one parameter scales the spread.

    Args:
        tau: the trend rule's threshold on the log change.
        level_edges: the level classes' edges (counts per month).
    """

    def __init__(self, tau: float, level_edges: tuple[float, ...]) -> None:
        super().__init__()
        self.tau = tau
        self.register_buffer("log_edges", torch.log1p(torch.tensor(level_edges, dtype=torch.float32)))
        self.spread_scale = nn.Parameter(torch.tensor(SPREAD_SCALE_INIT))

    def reset_parameters(self) -> None:
        """The spread factor back to 1."""
        with torch.no_grad():
            self.spread_scale.fill_(SPREAD_SCALE_INIT)

    def forward(self, quantiles: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities (trend [B, 3], level [B, 5]); see :func:`implied_class_log_probs`."""
        return implied_class_log_probs(quantiles, batch, self.tau, self.log_edges, self.spread_scale)


def _mean_log1p(normalised: torch.Tensor) -> torch.Tensor:
    """log1p of the mean count of absolute log1p values [B, T] -> [B]."""
    return torch.log1p(torch.expm1(normalised.clamp(-5, 20)).clamp_min(0).mean(-1))


def implied_class_log_probs(quantiles: torch.Tensor, batch: dict[str, torch.Tensor], tau: float,
                            log_edges: torch.Tensor, spread_scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of the trend [B, 3] and level [B, 5] classes implied by the value forecast.

    The 3-month mean after the origin is taken as log-normal around the median forecast, with a
    spread from the p10-p90 band (times a learned factor); the BENCHMARK.md rules (tau, level
    edges) then give each class's probability.

    Args:
        quantiles: value forecasts [B, H, Q] (normalised log1p).
        batch: reads ``log_scale`` [B] and ``values`` [B, L].
        tau: the trend threshold.
        log_edges: log1p of the level edges [K - 1].
        spread_scale: the learned spread factor (before softplus).
    """
    log_scale = batch["log_scale"].unsqueeze(-1)  # [B, 1]
    q = quantiles[:, :3]  # [B, 3, Q] normalised log1p
    mu = _mean_log1p(q[..., q.shape[-1] // 2] + log_scale)  # [B]
    sigma = (q[..., -1] - q[..., 0]).mean(-1) / 2.563 * F.softplus(spread_scale) + 0.05  # [B]
    normal = torch.distributions.Normal(mu.unsqueeze(-1), sigma.unsqueeze(-1))
    below = normal.cdf(log_edges.unsqueeze(0))  # [B, K - 1]
    ones = torch.ones_like(mu).unsqueeze(-1)
    level = torch.cat([below, ones], -1) - torch.cat([torch.zeros_like(ones), below], -1)
    past = _mean_log1p(batch["values"][:, -3:] + log_scale).unsqueeze(-1)  # last 3 context months
    trend_normal = torch.distributions.Normal(mu.unsqueeze(-1) - past, sigma.unsqueeze(-1))
    cdf = trend_normal.cdf(torch.tensor([-tau, tau], device=mu.device).unsqueeze(0))  # [B, 2]
    trend = torch.stack([cdf[:, 0], cdf[:, 1] - cdf[:, 0], 1 - cdf[:, 1]], -1)
    return torch.log(trend.clamp_min(1e-4)), torch.log(level.clamp_min(1e-4))


def value_summary(quantiles: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """[B, 2]: the median forecast's first-3-month log level (absolute) and its change against the
    last 3 context months — the quantities the trend and level rules are defined on.

    Args:
        quantiles: value forecasts [B, H, Q] (normalised log1p).
        batch: reads ``log_scale`` [B] and ``values`` [B, L].
    """
    future = quantiles[:, :3, quantiles.shape[-1] // 2].mean(-1)  # normalised log1p
    recent = batch["values"][:, -3:].mean(-1)  # normalised log1p of the last 3 months
    return torch.stack([future + batch["log_scale"], future - recent], dim=-1)
