"""Run Lightning training on prepared input arrays: loaders, callbacks, trainer."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import BaseFinetuning, Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import DataLoader, Dataset

from tsfuse.config import TrainConfig
from tsfuse.train.module import TsfuseModule
from tsfuse.data.sharding import GlobalBatchSampler

log = logging.getLogger(__name__)
# Lightning announces devices and tips on every Trainer at INFO level; tsfuse's own progress
# bar and logs say what matters.
LIGHTNING_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda")
# Lightning 2.6 on torch >= 2.10 warns about its own use of torch's pytree API; nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
# A refit (no validation windows, by design) trains a module that defines validation_step.
warnings.filterwarnings("ignore", message=r".*defined a `validation_step` but have no `val_dataloader`.*")

DONE_FILE = "done.json"  # written when a phase finishes: resuming it reloads its weights instead of training
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
                num_workers: int = 0, shard: bool = False) -> DataLoader:
    """A loader that yields whole dict batches (one indexing call per batch, not per window).

    ``shard``: under DDP each process takes its share of every global batch of ``batch_size``
    (see :mod:`tsfuse.data.sharding`); otherwise every process sees every batch.
    """
    dataset = ArrayDataset(arrays)
    sampler = GlobalBatchSampler(len(dataset), batch_size, shuffle=shuffle, seed=seed, shard=shard)
    # The loader's own generator seeds its iterators: they never draw from the global RNG, whose stream
    # (dropout) then depends only on the training steps, so a resumed run continues it exactly.
    return DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=num_workers,
                      generator=torch.Generator().manual_seed(seed))


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


def _placement(cfg: TrainConfig, callbacks: list) -> dict:
    """The Trainer's accelerator / devices / strategy / num_nodes from ``cfg``.

    Fine-tuning (a :class:`BaseFinetuning` callback) runs in one process, with a warning when
    ``cfg`` asks for more: DDP synchronises only the parameters trainable when it starts, so a
    tower unfrozen mid-training would drift apart across processes (Lightning issue #20340).
    """
    placement = {"accelerator": cfg.accelerator, "devices": cfg.devices, "strategy": cfg.strategy,
                 "num_nodes": cfg.num_nodes}
    single = {"devices": 1, "strategy": "auto", "num_nodes": 1}
    if any(isinstance(c, BaseFinetuning) for c in callbacks) and any(placement[k] != v for k, v in single.items()):
        log.warning("fine-tuning runs in one process (devices=1, strategy='auto', num_nodes=1) instead of "
                    "devices=%r, strategy=%r, num_nodes=%r: DDP does not synchronise a tower unfrozen "
                    "mid-training", cfg.devices, cfg.strategy, cfg.num_nodes)
        placement.update(single)
    return placement


def _logger(cfg: TrainConfig, log_dir: Path):
    if cfg.logger == "csv":
        return CSVLogger(str(log_dir), name="tsfuse")
    if cfg.logger == "tensorboard":
        return TensorBoardLogger(str(log_dir), name="tsfuse")
    return False


def run_training(module: pl.LightningModule, train: dict[str, np.ndarray] | DataLoader,
                 val: dict[str, np.ndarray] | None, cfg: TrainConfig, *, max_epochs: int | None = None,
                 extra_callbacks: list | None = None, trainer_kwargs: dict | None = None,
                 warn_without_val: bool = True, phase: str = "fit") -> dict:
    """Train ``module`` in place, restoring the best validation checkpoint. Returns a small history.

    ``train`` is input arrays (batched by :func:`make_loader`) or a ready loader of dict batches
    (the self-supervised crops of :mod:`tsfuse.train.ssl`).

    Logs and checkpoints go to ``cfg.log_dir/<phase>``; without a log_dir, to a temporary folder
    that is removed afterwards. With ``cfg.resume``, a phase that finished is not trained again
    (its weights are reloaded) and an interrupted one continues from its last checkpoint.
    """
    with contextlib.ExitStack() as stack:
        log_dir = Path(cfg.log_dir) / phase if cfg.log_dir else Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="tsfuse-")))
        done = log_dir / DONE_FILE
        if cfg.log_dir and cfg.resume and done.is_file():
            history = json.loads(done.read_text())
            saved = torch.load(history.pop("weights"), map_location="cpu", weights_only=True)
            module.load_state_dict(saved["state_dict"])
            log.info("resume: %s already finished in %s; its weights are reloaded", phase, log_dir)
        else:
            if cfg.log_dir and not cfg.resume:  # a fresh run does not mix in an earlier run's checkpoints or marker
                shutil.rmtree(log_dir / "checkpoints", ignore_errors=True)
                done.unlink(missing_ok=True)
            history = _fit(module, train, val, cfg, log_dir, max_epochs, extra_callbacks, trainer_kwargs,
                           warn_without_val, persistent=bool(cfg.log_dir))
    history["log_dir"] = cfg.log_dir
    return history


def _fit(module, train, val, cfg, log_dir, max_epochs, extra_callbacks, trainer_kwargs, warn_without_val,
         persistent: bool) -> dict:
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    curve = LossCurve()
    callbacks = [*(extra_callbacks or []), curve, RandomStateCheckpoint()]
    has_val = val is not None and len(val["series"]) > 0
    checkpoint = None
    if has_val:
        # saved at the end of each training epoch (after validation): a run resumed from there starts the next epoch
        checkpoint = ModelCheckpoint(dirpath=log_dir / "checkpoints", monitor="val_loss", mode="min",
                                     save_top_k=1, save_last=True, save_on_train_epoch_end=True)
        callbacks += [EarlyStopping(monitor="val_loss", patience=cfg.patience, mode="min"), checkpoint]
    elif persistent:  # no best epoch to keep, but the last one is what an interrupted run resumes from
        checkpoint = ModelCheckpoint(dirpath=log_dir / "checkpoints", save_top_k=0, save_last=True,
                                     save_on_train_epoch_end=True)
        callbacks.append(checkpoint)
    if not has_val and warn_without_val:
        log.warning("no validation windows: training runs all %s epochs without early stopping",
                    max_epochs or cfg.max_epochs)
    for name in LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    steps = len(train) if isinstance(train, DataLoader) else -(-len(train["series"]) // cfg.batch_size)
    trainer = pl.Trainer(
        max_epochs=max_epochs or cfg.max_epochs, **_placement(cfg, callbacks), use_distributed_sampler=False,
        log_every_n_steps=max(1, min(50, steps)), limit_val_batches=1.0 if has_val else 0,
        gradient_clip_val=cfg.gradient_clip_val, callbacks=callbacks, logger=_logger(cfg, log_dir),
        enable_progress_bar=cfg.progress_bar, enable_checkpointing=checkpoint is not None, enable_model_summary=False,
        deterministic=True, default_root_dir=str(log_dir), **(trainer_kwargs or {}),
    )
    # A data-parallel trainer shares out every training batch across its processes (tsfuse.data.sharding); a
    # ready loader is used as it is. Validation is not split: every process scores all windows, so all
    # agree on val_loss (early stopping, best epoch).
    train_loader = train if isinstance(train, DataLoader) else make_loader(
        train, cfg.batch_size, shuffle=True, seed=cfg.seed, num_workers=cfg.num_workers,
        shard=trainer.world_size > 1)
    val_loader = make_loader(val, cfg.batch_size, shuffle=False) if has_val else None
    last = log_dir / "checkpoints" / "last.ckpt"
    resume_from = str(last) if cfg.resume and last.is_file() else None
    if resume_from:
        log.info("resume: continuing from %s", last)
    with warnings.catch_warnings():
        if resume_from:  # the folder holds the checkpoints being resumed, as it should
            warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
        trainer.fit(module, train_loader, val_loader, ckpt_path=resume_from)
    best, best_epoch = None, None
    # Under DDP only rank 0 wrote the checkpoint (other nodes may not see its folder): it reads it and
    # every rank gets its weights. Without a process group (one process, ddp_spawn's main) broadcast is a no-op.
    best_path = trainer.strategy.broadcast(checkpoint.best_model_path if has_val else "")
    if best_path:
        saved = torch.load(best_path, map_location="cpu", weights_only=True) if trainer.is_global_zero else None
        saved = trainer.strategy.broadcast(saved)
        module.load_state_dict(saved["state_dict"])
        best = float(saved["callbacks"][checkpoint.state_key]["best_model_score"])
        best_epoch = int(saved["epoch"])
    history = {"epochs": trainer.current_epoch, "best_epoch": best_epoch, "best_val_loss": best, "curve": curve.curve}
    if persistent and trainer.is_global_zero:  # resuming a finished phase reloads these weights
        (log_dir / DONE_FILE).write_text(json.dumps({**history, "weights": best_path or str(last)}))
    return history
