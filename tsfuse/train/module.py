"""LightningModule: the multi-task loss of the network's heads, one shared step for train/val, optimisers."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch import nn

from tsfuse.config import ModelConfig, TrainConfig
from tsfuse.nn.net import PARTS, TwoTowerNet

# Buffers that tsfuse 0.1.0 kept on the module, and where they live now (its model folders still load).
LEGACY_KEYS = {"quantiles": "net.heads.value.quantiles",
               "trend_weights": "net.heads.trend.class_weights",
               "level_weights": "net.heads.level.class_weights"}


def balanced_class_weights(labels: np.ndarray, n_classes: int, power: float = 1.0) -> torch.Tensor:
    """Per-class loss weights ``(n / (k * count)) ** power``; classes never seen get weight 1.

    Args:
        labels: class labels (-1 = no label, ignored).
        n_classes: k.
        power: 1 for scikit-learn's 'balanced', 0.5 for 'sqrt', 0 for none.
    """
    labels = labels[labels >= 0]
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    seen = counts > 0
    weights = np.ones(n_classes)
    weights[seen] = (len(labels) / (seen.sum() * counts[seen])) ** power
    return torch.tensor(weights, dtype=torch.float32)


def upgrade_state_dict(module: nn.Module, state_dict: dict[str, torch.Tensor], prefix: str, *args: Any) -> None:
    """Load-state-dict pre-hook: renames the 0.1.0 keys of :data:`LEGACY_KEYS` in place."""
    for old, new in LEGACY_KEYS.items():
        if prefix + old in state_dict:
            state_dict[prefix + new] = state_dict.pop(prefix + old)


class TsfuseModule(pl.LightningModule):
    """Holds the :class:`TwoTowerNet` and trains it on value, trend and level at once.

    Args:
        model_config: the network's architecture.
        train_config: label smoothing, loss weights and the optimiser (``optim``).
        lr_multipliers: learning-rate factor per part (:data:`~tsfuse.nn.net.PARTS`), default 1.
    """

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig,
                 lr_multipliers: dict[str, float] | None = None) -> None:
        super().__init__()
        self.net = TwoTowerNet(model_config)
        self.train_config = train_config
        self.lr_multipliers = lr_multipliers or {}
        self.register_load_state_dict_pre_hook(upgrade_state_dict)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The network's outputs (see :meth:`TwoTowerNet.forward`)."""
        return self.net(batch)

    def losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The weighted multi-task ``loss`` and its parts ``value``, ``trend``, ``level`` for one batch."""
        cfg = self.train_config
        return self.net.losses(batch, cfg.label_smoothing, cfg.loss_weights, cfg.value_loss_mase_weight)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        parts = self.losses(batch)
        self.log_dict({f"{stage}_{k}": v for k, v in parts.items()},
                      prog_bar=(stage == "val"), on_epoch=True, on_step=False, batch_size=batch["target"].shape[0])
        return parts["loss"]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(self.hide_readmes(batch), "train")

    def hide_readmes(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``batch`` with the README of a random ``text_dropout`` share of its windows hidden
        (``text_present`` = 0: the network reads its no-README vector there)."""
        share = self.train_config.text_dropout
        if share <= 0 or "text_present" not in batch:
            return batch
        shown = (torch.rand(batch["text_present"].shape, device=batch["text_present"].device) >= share)
        return {**batch, "text_present": batch["text_present"] * shown.to(batch["text_present"].dtype)}

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        return self.net(batch)

    def configure_optimizers(self):
        """One parameter group per part, at ``optim.lr`` times the part's ``lr_multipliers`` factor."""
        cfg, optim = self.train_config, self.train_config.optim
        groups = []
        for name in PARTS:
            part = self.net.part(name)
            if part is not None:
                groups.append({"params": list(part.parameters()), "name": name,
                               "lr": optim.lr * self.lr_multipliers.get(name, 1.0)})
        opt_cls = torch.optim.AdamW if optim.optimizer == "adamw" else torch.optim.Adam
        optimizer = opt_cls(groups, lr=optim.lr, weight_decay=optim.weight_decay)
        if optim.scheduler == "cosine":
            max_epochs = max(1, self.trainer.max_epochs or 1)
            return {"optimizer": optimizer,
                    "lr_scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_epochs)}
        if optim.scheduler == "plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=max(1, cfg.patience // 2))
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss"}}
        return optimizer
