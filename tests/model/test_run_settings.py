"""Run settings (RunConfig) reach the Lightning Trainer and are never saved with a model."""

from __future__ import annotations

import json

import lightning.pytorch as pl
import pytest

from tests.conftest import TINY_MODEL
from tsfuse.config import RunConfig, TrainConfig, resolve_settings
from tsfuse.data.synthetic import generate_panel
from tsfuse.data.tasks import get_task
from tsfuse.estimator import Forecaster
from tsfuse.train import trainer as trainer_module

TRAIN = {"max_epochs": 1, "progress_bar": False, "logger": "none", "batch_size": 32, "refit": False}


def test_precision_and_gradient_accumulation_reach_the_trainer_on_cpu(monkeypatch, tmp_path):
    seen = []

    class Recording(pl.Trainer):
        def __init__(self, *args, **kwargs):
            seen.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(trainer_module.pl, "Trainer", Recording)
    panel = generate_panel(6, 36, seed=1)
    model = Forecaster.pretrain(panel, {}, get_task("oss-activity"), preset="light", model=TINY_MODEL, train=TRAIN,
                                run={"precision": "bf16-mixed", "accumulate_grad_batches": 2})
    assert seen and all(k["precision"] == "bf16-mixed" and k["accumulate_grad_batches"] == 2 for k in seen)
    assert model.predict(panel)[["p10", "p50", "p90"]].notna().all().all()
    saved = json.loads((model.save(tmp_path / "m") / "config.json").read_text())
    assert "precision" not in json.dumps(saved["train"]) and "run" not in saved


def test_flat_settings_go_to_their_groups_and_unknown_ones_are_refused():
    train, run = resolve_settings(TrainConfig(), RunConfig(), {"lr": 1e-3, "finetune_lr": 5e-5, "ssl_epochs": 3,
                                                               "freeze_epochs": 1, "log_dir": "runs", "max_epochs": 7})
    assert (train.optim.lr, train.finetune.lr, train.ssl.epochs, train.finetune.freeze_epochs, train.max_epochs) == (
        1e-3, 5e-5, 3, 1, 7)
    assert run.log_dir == "runs"
    with pytest.raises(ValueError, match="unknown training setting 'learning_rate'"):
        resolve_settings(TrainConfig(), RunConfig(), {"learning_rate": 1e-3})
    with pytest.raises(ValueError, match="accumulate_grad_batches must be >= 1"):
        RunConfig(accumulate_grad_batches=0)
