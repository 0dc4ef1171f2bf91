"""Training recipes on checked panels: pretrain a global model (optionally after self-supervised
pretraining, then refit on every window), and the guarded fine-tune on one project."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from tsfuse.config import ModelConfig, RunConfig, TrainConfig
from tsfuse.data.schema import ID
from tsfuse.data.tasks import N_LEVELS, TREND_CLASSES
from tsfuse.errors import PanelError
from tsfuse.data.windows import WindowSet
from tsfuse.train.calibration import Calibration, fit_calibration, forecasts, network_outputs
from tsfuse.train.callbacks import EpochEMA, ProgressiveUnfreezing
from tsfuse.train.inputs import InputBuilder
from tsfuse.train.module import TsfuseModule, balanced_class_weights
from tsfuse.train.ssl import pretrain_temporal
from tsfuse.train.trainer import Phase, evaluate_loss, run_training

log = logging.getLogger(__name__)


@dataclass
class Trained:
    """What a recipe returns: the trained module, the settings it trained with, and what happened."""

    module: TsfuseModule
    train: TrainConfig
    info: dict
    # pretraining: the first fit's forecasts of its validation windows (see :func:`validation_forecasts`)
    validation: tuple[WindowSet, dict[str, np.ndarray]] | None = None


def set_class_weights(module: TsfuseModule, arrays: dict[str, np.ndarray], train: TrainConfig) -> None:
    """Class weights of the trend and level losses from the training windows' labels."""
    power = {"balanced": 1.0, "sqrt": 0.5, "none": 0.0}[train.class_weights]
    module.net.set_class_weights("trend", balanced_class_weights(arrays["trend"], len(TREND_CLASSES), power))
    module.net.set_class_weights("level", balanced_class_weights(arrays["level"], N_LEVELS, power))


def pretrain(builder: InputBuilder, panel: pd.DataFrame, texts: dict[str, str], model: ModelConfig,
             train: TrainConfig, run: RunConfig, before=None) -> Trained:
    """A global model trained on windows whose whole target lies before ``before``.

    Args:
        builder: windows and arrays for ``model``.
        panel: a checked panel of many projects.
        texts: README text per project.
        model: the architecture.
        train: the training settings (epochs, losses, optimiser, SSL).
        run: where it runs (devices, log folder, resume).
        before: the cut-off (default: after the last month).
    """
    torch.manual_seed(train.seed)  # the initial weights follow the seed too
    module = TsfuseModule(model, train)
    split = builder.time_split(panel, before, train.val_months, train, train.val_projects)
    if len(split.train) == 0:
        raise PanelError(f"no training windows: a project needs more than {train.min_history + train.val_months} "
                         f"months of history{' before ' + str(before) if before is not None else ''} "
                         f"(min_history {train.min_history} + val_months {train.val_months})")
    train_arr, val_arr = builder.arrays(split.train, texts), builder.arrays(split.validation, texts)
    set_class_weights(module, train_arr, train)
    ssl_info, ssl_state = None, None
    if train.ssl.epochs > 0:  # self-supervised temporal tower first, on months before `before` only
        ssl_info = pretrain_temporal(module.net.temporal, panel, model, train, run, before)
        ssl_state = copy.deepcopy(module.net.temporal.state_dict())
    record = run_training(module, train_arr, val_arr, train, run, Phase("fit", callbacks=_averaging(train)))
    raw = network_outputs(module, val_arr) if len(split.validation) else None  # one pass serves both below
    calibration = _calibrate(module, builder, split.validation, raw, val_arr["log_scale"], model) if train.calibrate else None
    validation = validation_forecasts(module, builder, split.validation, raw, val_arr["log_scale"], calibration)
    if train.refit and record["best_epoch"] is not None and len(split.validation):
        epochs = record["best_epoch"] + 1
        module = _refit(builder, split.every, texts, model, train, run, epochs, ssl_state)
        record["refit_epochs"] = epochs
    info = {"trained_on": {"projects": int(panel[ID].nunique()), "windows": len(split.every),
                           "before": None if before is None else str(pd.Timestamp(before).date())},
            "training": record, **({"ssl": ssl_info} if ssl_info else {}),
            **({"calibration": calibration.to_dict()} if calibration else {})}
    return Trained(module, train, info, validation)


def validation_forecasts(module: TsfuseModule, builder: InputBuilder, windows: WindowSet, raw: dict[str, np.ndarray] | None,
                         log_scale: np.ndarray, calibration: Calibration | None) -> tuple[WindowSet, dict[str, np.ndarray]] | None:
    """The first fit's forecasts (calibrated like the model's) of its validation windows, taken before
    any refit trains on them: ``(windows, outputs)`` as :func:`tsfuse.inference.predict_windows` gives
    them, or None without validation windows. Early stopping chose the epoch on these windows, so
    they flatter the model a little.

    Args:
        module: the module after its first fit.
        builder: its input builder (the task's class rules).
        windows: the validation windows.
        raw: the module's outputs for them (:func:`~tsfuse.train.calibration.network_outputs`).
        log_scale: their ``log_scale`` input [N].
        calibration: the calibration fitted on them, if any.
    """
    if len(windows) == 0:
        return None
    return windows, forecasts(raw, log_scale, windows, module, builder.task, calibration)


def _calibrate(module: TsfuseModule, builder: InputBuilder, windows, raw: dict[str, np.ndarray] | None,
               log_scale: np.ndarray, model: ModelConfig) -> Calibration | None:
    """The calibration of the first fit's forecasts on its validation windows (none without any)."""
    if len(windows) == 0:
        log.warning("calibrate=True but there are no validation windows (val_months=0?): the forecasts are "
                    "not calibrated")
        return None
    return fit_calibration(module, raw, log_scale, windows, builder.task, model.quantiles)


def _averaging(train: TrainConfig) -> tuple:
    """The pretraining phases' weight-averaging callback (none when ``train.ema_epochs`` is 0)."""
    return (EpochEMA(train.ema_epochs),) if train.ema_epochs > 0 else ()


def _refit(builder: InputBuilder, windows, texts: dict[str, str], model: ModelConfig, train: TrainConfig,
           run: RunConfig, epochs: int, temporal_state: dict[str, torch.Tensor] | None) -> TsfuseModule:
    """Retrain from the same initial weights on every window, the latest (validation) ones included,
    for the epoch count early stopping chose: the model then knows the newest months.
    ``temporal_state``: the self-supervised temporal tower the first training started from."""
    torch.manual_seed(train.seed)
    module = TsfuseModule(model, train)
    if temporal_state is not None:
        module.net.temporal.load_state_dict(temporal_state)
    arrays = builder.arrays(windows, texts)
    set_class_weights(module, arrays, train)
    run_training(module, arrays, None, train, run,
                 Phase("refit", max_epochs=epochs, callbacks=_averaging(train), warn_without_val=False))
    return module


def finetune(module: TsfuseModule, builder: InputBuilder, panel: pd.DataFrame, texts: dict[str, str],
             train: TrainConfig, run: RunConfig, *, freeze_epochs: int | None = None,
             max_epochs: int | None = None, lr: float | None = None, guard: bool = True) -> Trained:
    """A fine-tuned copy of ``module`` on ``panel`` (usually one project), see :meth:`tsfuse.Forecaster.finetune`.

    Args:
        module: the pretrained module (left unchanged).
        builder: windows and arrays for the module's architecture.
        panel: a checked panel.
        texts: README text per project.
        train: the pretrained model's training settings (their ``finetune`` group applies).
        run: where it runs; fine-tuning never uses the pretraining's log folder.
        freeze_epochs: epochs with the temporal tower frozen (default ``train.finetune.freeze_epochs``).
        max_epochs: default ``train.finetune.max_epochs``.
        lr: default ``train.finetune.lr``.
        guard: keep the pretrained weights when no epoch beats them on the held-out months.
    """
    ft = train.finetune
    cfg = replace(train, batch_size=ft.batch_size, optim=replace(train.optim, lr=lr or ft.lr))
    run = replace(run, log_dir=None, resume=False)
    tuned = TsfuseModule(module.net.config, cfg)
    tuned.load_state_dict(module.state_dict())
    months = int(panel.groupby(ID).size().max())
    split = builder.time_split(panel, None, min(cfg.val_months, max(months // 4, 1)), cfg)
    horizon = builder.task.horizon
    complete = int((~np.isnan(split.validation.target)).all(axis=1).sum())
    if len(split.train) == 0 or complete == 0:
        # Without a validation window whose whole horizon is observed, nothing checks that fine-tuning
        # helps; on 12-month histories it hurt as often as it helped (benchmarks/results/finetune-sweep.md).
        log.warning("fine-tuning skipped: %d month(s) of history give %d training window(s) and %d validation "
                    "window(s) with all %d target months observed (needs both: at least %d months with "
                    "val_months >= %d); the pretrained model is used as is", months, len(split.train), complete,
                    horizon, 4 * horizon, horizon)
        return Trained(tuned, cfg, {"skipped": True, "windows": len(split.train), "val_windows": len(split.validation)})
    train_arr, val_arr = builder.arrays(split.train, texts), builder.arrays(split.validation, texts)
    pretrained_loss = evaluate_loss(tuned, val_arr)
    pretrained_state = copy.deepcopy(tuned.state_dict())
    tuned.lr_multipliers = {"temporal": ft.temporal_lr_scale}
    frozen = ft.freeze_epochs if freeze_epochs is None else freeze_epochs
    record = run_training(tuned, train_arr, val_arr, cfg, run,
                          Phase("finetune", max_epochs=max_epochs or ft.max_epochs,
                                callbacks=(ProgressiveUnfreezing(frozen),)))
    tuned.lr_multipliers = {}
    tuned.net.unfreeze()
    kept = guard and (record["best_val_loss"] is None or record["best_val_loss"] >= pretrained_loss)
    if kept:
        tuned.load_state_dict(pretrained_state)
        log.info("fine-tuning did not beat the pretrained model on the project's last %d window(s) "
                 "(val loss %.4f vs %.4f): the pretrained model is kept", len(split.validation),
                 record["best_val_loss"] or float("nan"), pretrained_loss)
    return Trained(tuned, cfg, {"windows": len(split.train), "val_windows": len(split.validation),
                                "freeze_epochs": frozen, "pretrained_val_loss": pretrained_loss,
                                "kept_pretrained": kept, **record})


def load_temporal_tower(module: TsfuseModule, state: dict[str, torch.Tensor], source: str,
                        strict: bool = False) -> dict[str, list[str]]:
    """Copy the temporal tower's tensors of another model's ``state`` into ``module``'s tower.

    Args:
        module: the module whose temporal tower receives the weights.
        state: the other model's full state dict (keys ``net.temporal.*``).
        source: where ``state`` came from, for messages.
        strict: raise unless every key matches.

    Returns:
        ``{"matched", "missing", "unexpected", "mismatched"}``: missing = this tower's keys the
        state lacks, unexpected = the state's tower keys this tower lacks, mismatched = same name,
        other shape. Keys match by name and shape.
    """
    prefix = "net.temporal."
    given = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    target = module.net.temporal.state_dict()
    matched = sorted(k for k in target if k in given and given[k].shape == target[k].shape)
    report = {"matched": matched,
              "missing": sorted(k for k in target if k not in given),
              "unexpected": sorted(k for k in given if k not in target),
              "mismatched": sorted(k for k in target if k in given and given[k].shape != target[k].shape)}
    problems = report["missing"] + report["unexpected"] + report["mismatched"]
    if strict and problems:
        raise ValueError(f"temporal tower of {source} does not match this model: {problems[:8]}")
    module.net.temporal.load_state_dict({**target, **{k: given[k] for k in matched}})
    log.info("loaded %d temporal-tower tensors from %s (%d missing, %d unexpected, %d mismatched)",
             len(matched), source, len(report["missing"]), len(report["unexpected"]), len(report["mismatched"]))
    return report
