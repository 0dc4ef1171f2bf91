"""Run one Lightning training phase on prepared input arrays: trainer, checkpoints, resume, placement."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path

from dataclasses import dataclass

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import BaseFinetuning, EarlyStopping, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import DataLoader

from tsfuse.config import RunConfig, TrainConfig
from tsfuse.data.loaders import make_loader
from tsfuse.train.callbacks import LossCurve, RandomStateCheckpoint
from tsfuse.train.module import TsfuseModule

log = logging.getLogger(__name__)
# Lightning announces devices and tips on every Trainer at INFO level; tsfuse's own progress
# bar and logs say what matters.
LIGHTNING_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda")
# Lightning 2.6 on torch >= 2.10 warns about its own use of torch's pytree API; nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
# A refit (no validation windows, by design) trains a module that defines validation_step.
warnings.filterwarnings("ignore", message=r".*defined a `validation_step` but have no `val_dataloader`.*")

DONE_FILE = "done.json"  # written when a phase finishes: resuming it reloads its weights instead of training


@dataclass(frozen=True)
class Phase:
    """One training phase.

    Args:
        name: its sub-folder of the run's log folder (``fit``, ``refit``, ``finetune``, ``ssl``).
        max_epochs: default ``TrainConfig.max_epochs``.
        callbacks: extra Lightning callbacks (e.g. progressive unfreezing).
        warn_without_val: warn when there are no validation windows (a refit has none by design).
    """

    name: str = "fit"
    max_epochs: int | None = None
    callbacks: tuple = ()
    warn_without_val: bool = True


def _placement(run: RunConfig, callbacks: list) -> dict:
    """The Trainer's accelerator / devices / strategy / num_nodes from ``run``.

    Fine-tuning (a :class:`BaseFinetuning` callback) runs in one process, with a warning when
    ``run`` asks for more: DDP synchronises only the parameters trainable when it starts, so a
    tower unfrozen mid-training would drift apart across processes (Lightning issue #20340).
    """
    placement = {"accelerator": run.accelerator, "devices": run.devices, "strategy": run.strategy,
                 "num_nodes": run.num_nodes}
    single = {"devices": 1, "strategy": "auto", "num_nodes": 1}
    if any(isinstance(c, BaseFinetuning) for c in callbacks) and any(placement[k] != v for k, v in single.items()):
        log.warning("fine-tuning runs in one process (devices=1, strategy='auto', num_nodes=1) instead of "
                    "devices=%r, strategy=%r, num_nodes=%r: DDP does not synchronise a tower unfrozen "
                    "mid-training", run.devices, run.strategy, run.num_nodes)
        placement.update(single)
    return placement


def _logger(run: RunConfig, log_dir: Path):
    if run.logger == "csv":
        return CSVLogger(str(log_dir), name="tsfuse")
    if run.logger == "tensorboard":
        return TensorBoardLogger(str(log_dir), name="tsfuse")
    return False


def run_training(module: pl.LightningModule, train: dict[str, np.ndarray] | DataLoader,
                 val: dict[str, np.ndarray] | None, train_config: TrainConfig, run: RunConfig,
                 phase: Phase = Phase()) -> dict:
    """Train ``module`` in place, restoring the best validation checkpoint. Returns the phase's record.

    Args:
        module: the LightningModule to train.
        train: input arrays (batched by :func:`make_loader`) or a ready loader of dict batches
            (the self-supervised crops of :mod:`tsfuse.train.ssl`).
        val: validation arrays (early stopping and the best epoch), or None.
        train_config: batch size, epochs, patience, seed, gradient clipping.
        run: placement, precision, gradient accumulation, logger, log folder, resume.
        phase: which phase this is (its log sub-folder, epochs, callbacks).

    Returns:
        ``{"epochs", "best_epoch", "best_val_loss", "curve", "log_dir"}``.

    Logs and checkpoints go to ``run.log_dir/<phase>``; without a log_dir, to a temporary folder
    that is removed afterwards. With ``run.resume``, a phase that finished is not trained again
    (its weights are reloaded) and an interrupted one continues from its last checkpoint.
    """
    with contextlib.ExitStack() as stack:
        log_dir = Path(run.log_dir) / phase.name if run.log_dir else Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="tsfuse-")))
        done = log_dir / DONE_FILE
        if run.log_dir and run.resume and done.is_file():
            record = json.loads(done.read_text())
            saved = torch.load(record.pop("weights"), map_location="cpu", weights_only=True)
            module.load_state_dict(saved["state_dict"])
            log.info("resume: %s already finished in %s; its weights are reloaded", phase.name, log_dir)
        else:
            if run.log_dir and not run.resume:  # a fresh run does not mix in an earlier run's checkpoints or marker
                shutil.rmtree(log_dir / "checkpoints", ignore_errors=True)
                done.unlink(missing_ok=True)
            record = _fit(module, train, val, train_config, run, phase, log_dir)
    record["log_dir"] = run.log_dir
    return record


def _fit(module: pl.LightningModule, train, val, cfg: TrainConfig, run: RunConfig, phase: Phase,
         log_dir: Path) -> dict:
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    persistent = bool(run.log_dir)
    curve = LossCurve()
    callbacks = [*phase.callbacks, curve, RandomStateCheckpoint()]
    if run.progress_bar:  # on stderr: stdout is for data (`tsfuse fit --format csv > out.csv`)
        callbacks.append(RichProgressBar(console_kwargs={"stderr": True}))
    has_val = val is not None and len(val["target"]) > 0
    max_epochs = phase.max_epochs or cfg.max_epochs
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
    if not has_val and phase.warn_without_val:
        log.warning("no validation windows: training runs all %s epochs without early stopping", max_epochs)
    for name in LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    steps = len(train) if isinstance(train, DataLoader) else -(-len(train["target"]) // cfg.batch_size)
    trainer = pl.Trainer(
        max_epochs=max_epochs, **_placement(run, callbacks), use_distributed_sampler=False,
        log_every_n_steps=max(1, min(50, steps)), limit_val_batches=1.0 if has_val else 0,
        gradient_clip_val=cfg.optim.gradient_clip_val, precision=run.precision,
        accumulate_grad_batches=run.accumulate_grad_batches, callbacks=callbacks, logger=_logger(run, log_dir),
        enable_progress_bar=run.progress_bar, enable_checkpointing=checkpoint is not None, enable_model_summary=False,
        deterministic=True, default_root_dir=str(log_dir),
    )
    # A data-parallel trainer shares out every training batch across its processes (tsfuse.data.loaders); a
    # ready loader is used as it is. Validation is not split: every process scores all windows, so all
    # agree on val_loss (early stopping, best epoch).
    train_loader = train if isinstance(train, DataLoader) else make_loader(
        train, cfg.batch_size, shuffle=True, seed=cfg.seed, num_workers=run.num_workers,
        shard=trainer.world_size > 1)
    val_loader = make_loader(val, cfg.batch_size, shuffle=False) if has_val else None
    last = log_dir / "checkpoints" / "last.ckpt"
    resume_from = str(last) if run.resume and last.is_file() else None
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
    record = {"epochs": trainer.current_epoch, "best_epoch": best_epoch, "best_val_loss": best, "curve": curve.curve}
    if persistent and trainer.is_global_zero:  # resuming a finished phase reloads these weights
        (log_dir / DONE_FILE).write_text(json.dumps({**record, "weights": best_path or str(last)}))
    return record


def evaluate_loss(module: TsfuseModule, arrays: dict[str, np.ndarray], batch_size: int = 1024) -> float:
    """The module's multi-task loss on ``arrays`` (eval mode, batch-size weighted like Lightning's epoch mean)."""
    was_training = module.training
    module.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in make_loader(arrays, batch_size, shuffle=False):
            size = len(batch["target"])
            total += float(module.losses(batch)["loss"]) * size
            count += size
    module.train(was_training)
    return total / max(count, 1)
