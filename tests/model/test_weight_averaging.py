"""Weight averaging in pretraining (``TrainConfig.ema_epochs``): the averaged weights are the ones
validated, checkpointed and kept, and the decay follows the time constant."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from tests.conftest import TINY_MODEL
from tsfuse.config import TrainConfig
from tsfuse.data.synthetic import generate_panel
from tsfuse.data.tasks import get_task
from tsfuse.estimator import Forecaster
from tsfuse.train.callbacks import EpochEMA
from tsfuse.train.trainer import evaluate_loss

TRAIN = {"max_epochs": 3, "progress_bar": False, "logger": "none", "batch_size": 32, "patience": 10, "refit": False}


def _pretrain(**train) -> tuple[Forecaster, dict]:
    panel = generate_panel(6, 40, covariates=("authors",), seed=5)
    model = Forecaster.pretrain(panel, {}, get_task("oss-activity"), preset="light", model=TINY_MODEL,
                                train={**TRAIN, **train})
    split = model.inputs.time_split(panel, None, model.train_config.val_months, model.train_config)
    return model, model.inputs.arrays(split.validation, {})


def test_the_kept_weights_are_the_averaged_ones_that_were_validated():
    averaged, val = _pretrain(ema_epochs=1.0)
    plain, _ = _pretrain()
    record = averaged.info["training"]
    # the best epoch's validation loss was measured on the weights the model now holds (same batches)
    assert evaluate_loss(averaged.module, val, batch_size=TRAIN["batch_size"]) == pytest.approx(record["best_val_loss"], rel=1e-5)
    # and those are not the raw weights of that epoch (the same seed without averaging)
    assert record["best_val_loss"] != pytest.approx(plain.info["training"]["best_val_loss"], rel=1e-4)
    weights = [m.module.state_dict() for m in (averaged, plain)]
    assert not all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


class _Line(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.line = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return ((self.line(x) - y) ** 2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


class _RawWeights(pl.Callback):
    """The raw (not averaged) weights after every optimiser step."""

    def __init__(self) -> None:
        self.steps: list[torch.Tensor] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps.append(pl_module.line.weight.detach().clone())


def test_the_average_is_an_ema_whose_decay_follows_the_time_constant_in_epochs():
    torch.manual_seed(0)
    x = torch.randn(40, 2)
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=10)  # 4 steps per epoch
    raw, ema = _RawWeights(), EpochEMA(2.0)
    module = _Line()
    # raw first: it records each step's weights before the average's own end-of-batch update
    trainer = pl.Trainer(max_epochs=3, callbacks=[raw, ema], logger=False, enable_progress_bar=False,
                         enable_checkpointing=False, enable_model_summary=False)
    trainer.fit(module, loader)
    assert ema.decay == pytest.approx(1 - 1 / (2.0 * 4))
    expected = raw.steps[0]
    for w in raw.steps[1:]:
        expected = ema.decay * expected + (1 - ema.decay) * w
    assert torch.allclose(module.line.weight, expected, atol=1e-6)
    assert not torch.allclose(module.line.weight, raw.steps[-1], atol=1e-4)


def test_a_negative_time_constant_is_refused():
    with pytest.raises(ValueError, match="ema_epochs must be >= 0"):
        TrainConfig(ema_epochs=-1)
    with pytest.raises(ValueError, match="> 0 epochs"):
        EpochEMA(0)
