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


@pytest.mark.parametrize("overrides, message", [
    ({"calibrate": "yes"}, r"TrainConfig.calibrate must be True or False, got 'yes' \(str\)"),
    ({"max_epochs": 2.5}, "TrainConfig.max_epochs must be an integer, got 2.5"),
    ({"max_epochs": True}, "TrainConfig.max_epochs must be an integer, got True"),
    ({"class_weights": "equal"}, "TrainConfig.class_weights must be one of 'balanced', 'sqrt', 'none'"),
    ({"loss_weights": [1.0, 0.3]}, "TrainConfig.loss_weights must be a tuple of 3 numbers"),
    ({"lr": "fast"}, "OptimConfig.lr must be a number, got 'fast'"),
    ({"ssl_epochs": "3"}, "SSLConfig.epochs must be an integer"),
    ({"logger": "wandb"}, "RunConfig.logger must be one of 'csv', 'tensorboard', 'none'"),
    ({"devices": 1.5}, "RunConfig.devices must be an integer or a string"),
])
def test_a_setting_of_the_wrong_type_is_refused_by_name(overrides, message):
    with pytest.raises(ValueError, match=message):
        resolve_settings(TrainConfig(), RunConfig(), overrides)


def test_field_types_accept_json_values_and_refuse_wrong_ones():
    from tsfuse.config import ModelConfig

    assert ModelConfig(quantiles=[0.1, 0.5, 0.9]).quantiles == (0.1, 0.5, 0.9)  # a JSON list is a tuple field
    assert ModelConfig.from_dict(ModelConfig().to_dict()) == ModelConfig()
    assert TrainConfig(ema_epochs=1).ema_epochs == 1  # an integer is a number
    with pytest.raises(ValueError, match="ModelConfig.text_model must be a string or None, got 3"):
        ModelConfig(text_model=3)
    with pytest.raises(ValueError, match="ModelConfig.covariates must be a tuple of strings"):
        ModelConfig(covariates=("authors", 1))
