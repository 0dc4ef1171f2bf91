"""LightningModule: the multi-task loss, one shared step for train/val, optimisers."""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F

from tsfuse.config import ModelConfig, TrainConfig
from tsfuse.nn.net import TwoTowerNet


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                 quantiles: torch.Tensor) -> torch.Tensor:
    """Mean quantile loss; pred [B, H, Q], target/mask [B, H], quantiles [Q]."""
    diff = target.unsqueeze(-1) - pred
    loss = torch.maximum(quantiles * diff, (quantiles - 1) * diff)  # [B, H, Q]
    m = mask.unsqueeze(-1)
    return (loss * m).sum() / (m.sum() * len(quantiles)).clamp_min(1.0)


def balanced_class_weights(labels: np.ndarray, n_classes: int, power: float = 1.0) -> torch.Tensor:
    """(n / (k * count)) ** power per class (power 1: scikit-learn's 'balanced', 0.5: 'sqrt');
    classes never seen get weight 1."""
    labels = labels[labels >= 0]
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    seen = counts > 0
    weights = np.ones(n_classes)
    weights[seen] = (len(labels) / (seen.sum() * counts[seen])) ** power
    return torch.tensor(weights, dtype=torch.float32)


class TsfuseModule(pl.LightningModule):
    """Holds the :class:`TwoTowerNet` and trains it on value, trend and level at once."""

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig,
                 trend_weights: torch.Tensor | None = None, level_weights: torch.Tensor | None = None,
                 lr_multipliers: dict[str, float] | None = None) -> None:
        super().__init__()
        self.net = TwoTowerNet(model_config)
        self.train_config = train_config
        self.lr_multipliers = lr_multipliers or {}
        self.register_buffer("quantiles", torch.tensor(model_config.quantiles, dtype=torch.float32))
        self.register_buffer("trend_weights", trend_weights if trend_weights is not None else torch.ones(3))
        self.register_buffer("level_weights", level_weights if level_weights is not None else torch.ones(5))

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.net(batch)

    def losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The weighted multi-task ``loss`` and its parts ``value``, ``trend``, ``level`` for one batch."""
        out = self.net(batch)
        smoothing = self.train_config.label_smoothing
        value = pinball_loss(out["quantiles"], batch["target"], batch["target_mask"], self.quantiles)
        trend = F.cross_entropy(out["trend"], batch["trend"], weight=self.trend_weights,
                                ignore_index=-1, label_smoothing=smoothing)
        level = F.cross_entropy(out["level"], batch["level"], weight=self.level_weights,
                                ignore_index=-1, label_smoothing=smoothing)
        trend, level = torch.nan_to_num(trend), torch.nan_to_num(level)  # a batch with no labels
        wv, wt, wl = self.train_config.loss_weights
        return {"loss": wv * value + wt * trend + wl * level, "value": value, "trend": trend, "level": level}

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        parts = self.losses(batch)
        self.log_dict({f"{stage}_{k}": v for k, v in parts.items()},
                      prog_bar=(stage == "val"), on_epoch=True, on_step=False, batch_size=batch["target"].shape[0])
        return parts["loss"]

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        return self._step(batch, "val")

    def predict_step(self, batch, batch_idx):
        return self.net(batch)

    def configure_optimizers(self):
        cfg = self.train_config
        groups = []
        for name in ("temporal", "text", "fusion", "heads"):
            part = self.net.part(name)
            if part is not None:
                groups.append({"params": list(part.parameters()), "lr": cfg.lr * self.lr_multipliers.get(name, 1.0),
                               "name": name})
        opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
        optimizer = opt_cls(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.scheduler == "cosine":
            max_epochs = max(1, self.trainer.max_epochs or 1)
            return {"optimizer": optimizer,
                    "lr_scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_epochs)}
        if cfg.scheduler == "plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=max(1, cfg.patience // 2))
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss"}}
        return optimizer
