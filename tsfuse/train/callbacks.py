"""Lightning callbacks of tsfuse's training: progressive unfreezing, weight averaging, the loss curve, RNG
state in checkpoints."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import BaseFinetuning, Callback, EMAWeightAveraging
from torch.optim.swa_utils import get_ema_avg_fn

from tsfuse.train.module import TsfuseModule


class ProgressiveUnfreezing(BaseFinetuning):
    """Fine-tuning: heads + fusion (+ text projection) first; the temporal tower joins after ``freeze_epochs``.

    The temporal tower stays in the optimiser (with its own, lower learning rate set by the
    module's ``lr_multipliers``); while frozen it has no gradients, so the optimiser skips it.
    """

    def __init__(self, freeze_epochs: int) -> None:
        super().__init__()
        self.freeze_epochs = freeze_epochs

    def freeze_before_training(self, pl_module: TsfuseModule) -> None:
        if self.freeze_epochs > 0:
            pl_module.net.freeze("temporal")

    def finetune_function(self, pl_module: TsfuseModule, current_epoch: int, optimizer) -> None:
        if current_epoch == self.freeze_epochs:
            pl_module.net.unfreeze("temporal")


class EpochEMA(EMAWeightAveraging):
    """Lightning's exponential moving average of the weights, its decay set from a time constant in epochs.

    The decay per optimiser step is ``1 - 1 / (epochs * steps per epoch)``, with the steps per epoch
    (gradient accumulation and data-parallel processes counted) known once training starts.
    Lightning swaps the averaged weights in for every validation, saves them as the checkpoints'
    ``state_dict`` and leaves them in the module when training ends.

    Args:
        epochs: the averaging's time constant (> 0).
    """

    def __init__(self, epochs: float) -> None:
        if epochs <= 0:
            raise ValueError(f"the weight average's time constant must be > 0 epochs, got {epochs}")
        super().__init__()
        self.epochs = epochs
        self.decay: float | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":
            steps_per_epoch = trainer.estimated_stepping_batches / max(1, trainer.max_epochs)
            self.decay = 1.0 - 1.0 / max(1.0, self.epochs * steps_per_epoch)
            self._kwargs["avg_fn"] = get_ema_avg_fn(decay=self.decay)
        super().setup(trainer, pl_module, stage)


class LossCurve(Callback):
    """Records the epoch means of ``train_loss`` and ``val_loss`` (None without validation) after every epoch."""

    def __init__(self) -> None:
        self.curve: list[dict] = []

    def state_dict(self) -> dict:  # checkpointed: a resumed run keeps the epochs before the interruption
        return {"curve": self.curve}

    def load_state_dict(self, state_dict: dict) -> None:
        self.curve = list(state_dict["curve"])

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metrics = trainer.callback_metrics
        self.curve.append({"epoch": trainer.current_epoch,
                           **{k: float(metrics[k]) if k in metrics else None for k in ("train_loss", "val_loss")}})


class RandomStateCheckpoint(Callback):
    """Puts the torch RNG and the training sampler's shuffling state in every checkpoint and restores
    them when training resumes, so a resumed run draws the same dropout masks and batch orders as an
    uninterrupted one (Lightning restores weights, optimiser, schedulers and loops, not RNGs)."""

    def __init__(self) -> None:
        self._trainer: pl.Trainer | None = None
        self._restored: dict | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._trainer = trainer

    def _sampler(self):
        loader = self._trainer.train_dataloader if self._trainer is not None else None
        sampler = getattr(loader, "sampler", None)
        return sampler if callable(getattr(sampler, "rng_state", None)) else None

    def state_dict(self) -> dict:
        sampler = self._sampler()
        return {"torch": torch.get_rng_state(), "sampler": sampler.rng_state() if sampler is not None else None}

    def load_state_dict(self, state_dict: dict) -> None:
        self._restored = state_dict

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._restored is None:
            return
        torch.set_rng_state(self._restored["torch"])
        sampler = self._sampler()
        if sampler is not None:
            sampler.set_rng_state(self._restored["sampler"])
        self._restored = None
