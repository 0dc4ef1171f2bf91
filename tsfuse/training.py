"""Run Lightning training on prepared input arrays: loaders, callbacks, trainer."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import BaseFinetuning, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from tsfuse.config import TrainConfig
from tsfuse.module import TsfuseModule

log = logging.getLogger(__name__)
# Lightning announces devices and tips on every Trainer at INFO level; tsfuse's own progress
# bar and logs say what matters.
LIGHTNING_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda")
# Lightning 2.6 on torch >= 2.10 warns about its own use of torch's pytree API; nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")

MODEL_INPUTS = ("series", "static", "text", "text_present", "target", "target_mask", "trend", "level")


class ArrayDataset(Dataset):
    """Indexable by a list of positions; returns a dict batch of tensors."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.tensors = {k: torch.from_numpy(np.ascontiguousarray(arrays[k])) for k in MODEL_INPUTS}
        self.n = len(self.tensors["series"])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index):
        return {k: v[index] for k, v in self.tensors.items()}


def make_loader(arrays: dict[str, np.ndarray], batch_size: int, shuffle: bool, seed: int = 0,
                num_workers: int = 0) -> DataLoader:
    """A loader that yields whole dict batches (one indexing call per batch, not per window)."""
    dataset = ArrayDataset(arrays)
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(sampler, batch_size, drop_last=False),
                      batch_size=None, num_workers=num_workers)


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
            self.freeze(pl_module.net.temporal, train_bn=False)

    def finetune_function(self, pl_module: TsfuseModule, current_epoch: int, optimizer) -> None:
        if current_epoch == self.freeze_epochs:
            self.make_trainable(pl_module.net.temporal)


def _logger(cfg: TrainConfig, log_dir: Path):
    if cfg.logger == "csv":
        return CSVLogger(str(log_dir), name="tsfuse")
    if cfg.logger == "tensorboard":
        return TensorBoardLogger(str(log_dir), name="tsfuse")
    return False


def run_training(module: TsfuseModule, train: dict[str, np.ndarray], val: dict[str, np.ndarray] | None,
                 cfg: TrainConfig, *, max_epochs: int | None = None, extra_callbacks: list | None = None,
                 trainer_kwargs: dict | None = None, warn_without_val: bool = True) -> dict:
    """Train ``module`` in place, restoring the best validation checkpoint. Returns a small history.

    Logs and checkpoints go to ``cfg.log_dir``; without one, to a temporary folder that is
    removed afterwards.
    """
    with contextlib.ExitStack() as stack:
        log_dir = Path(cfg.log_dir) if cfg.log_dir else Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="tsfuse-")))
        history = _fit(module, train, val, cfg, log_dir, max_epochs, extra_callbacks, trainer_kwargs,
                       warn_without_val)
    history["log_dir"] = cfg.log_dir
    return history


def _fit(module, train, val, cfg, log_dir, max_epochs, extra_callbacks, trainer_kwargs, warn_without_val) -> dict:
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    callbacks = list(extra_callbacks or [])
    has_val = val is not None and len(val["series"]) > 0
    checkpoint = None
    if has_val:
        checkpoint = ModelCheckpoint(dirpath=log_dir / "checkpoints", monitor="val_loss", mode="min",
                                     save_top_k=1, save_last=True)
        callbacks += [EarlyStopping(monitor="val_loss", patience=cfg.patience, mode="min"), checkpoint]
    elif warn_without_val:
        log.warning("no validation windows: training runs all %s epochs without early stopping",
                    max_epochs or cfg.max_epochs)
    for name in LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    train_loader = make_loader(train, cfg.batch_size, shuffle=True, seed=cfg.seed, num_workers=cfg.num_workers)
    val_loader = make_loader(val, cfg.batch_size, shuffle=False) if has_val else None
    trainer = pl.Trainer(
        max_epochs=max_epochs or cfg.max_epochs, accelerator="cpu", devices=1,
        log_every_n_steps=max(1, min(50, len(train_loader))), limit_val_batches=1.0 if has_val else 0,
        gradient_clip_val=cfg.gradient_clip_val, callbacks=callbacks, logger=_logger(cfg, log_dir),
        enable_progress_bar=cfg.progress_bar, enable_checkpointing=has_val, enable_model_summary=False,
        deterministic=True, default_root_dir=str(log_dir), **(trainer_kwargs or {}),
    )
    trainer.fit(module, train_loader, val_loader)
    best, best_epoch = None, None
    if checkpoint is not None and checkpoint.best_model_path:
        saved = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)
        module.load_state_dict(saved["state_dict"])
        best, best_epoch = float(checkpoint.best_model_score), int(saved["epoch"])
    return {"epochs": trainer.current_epoch, "best_epoch": best_epoch, "best_val_loss": best}
