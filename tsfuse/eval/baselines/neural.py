"""Global neural baselines of BENCHMARK.md v1: pytorch-forecasting TFT and N-HiTS.

Both train on every window of the panel before a cut-off (the training windows of the other
global baselines: at least ``min_history`` months of context, all ``horizon`` targets before the
cut-off) and forecast a window from its project's months strictly before the origin.

Inputs per month: the target and the covariates (time-varying unknown reals, log1p), month of
year (sin/cos) and a padding flag (known reals). The encoder is ``encoder_length`` months; a
shorter history is left-padded with zeros, as :func:`tsfuse.data.windows.make_windows` does.
The target is log1p-transformed and standardised on each window's encoder
(``EncoderNormalizer``), so nothing about a window's future or another window enters its
scaling, and unseen projects need no fitted per-series statistics. The loss is the benchmark's
MASE, with the scale (mean absolute lag-1 difference; 0 counts as 1) taken over the training
window's encoder and target months.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from contextlib import contextmanager
from typing import Any, Iterator

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from pytorch_forecasting import NHiTS, TemporalFusionTransformer, TimeSeriesDataSet
from pytorch_forecasting.data import EncoderNormalizer
from pytorch_forecasting.metrics import MASE

from tsfuse.data.schema import DS, ID, Y, covariate_columns, validate_panel
from tsfuse.data.windows import WindowSet

GROUP, TIME = "_series", "_time_idx"
KNOWN_REALS = ("_month_sin", "_month_cos", "_padded")


class _BenchmarkMASE(MASE):
    """pytorch-forecasting's MASE with the benchmark's rule that a zero scale counts as 1."""

    @staticmethod
    def calculate_scaling(target, lengths, encoder_target, encoder_lengths) -> torch.Tensor:
        scaling = MASE.calculate_scaling(target, lengths, encoder_target, encoder_lengths)
        return torch.where(scaling < 1e-3, torch.ones_like(scaling), scaling)


def _month_index(ds: pd.Series | np.ndarray) -> np.ndarray:
    return np.asarray(ds, "datetime64[M]").astype(np.int64)


def _series_frame(key: str, months: np.ndarray, y: np.ndarray, cov: np.ndarray, n_pad: int,
                  n_future: int, log_cols: list[str]) -> pd.DataFrame:
    """Rows of one model series: ``n_pad`` zero months, the given months, ``n_future`` blank months.

    Columns: the target, then log1p of the target and of each covariate (``log_cols``), the
    known reals and the group / time keys. Blank future months carry 0 for the target and
    covariates: the models read only known inputs there, and the actual values never enter.
    """
    n = len(y)
    t = np.arange(months[0] - n_pad, months[-1] + n_future + 1)
    values = np.zeros((len(t), 2 + cov.shape[1]))
    values[n_pad:n_pad + n, 0] = y
    values[n_pad:n_pad + n, 1:] = np.log1p(np.column_stack([y, cov]))
    angle = 2 * np.pi * (t % 12) / 12
    frame = pd.DataFrame(values, columns=[Y, *log_cols])
    frame[GROUP] = key
    frame[TIME] = t
    frame[KNOWN_REALS[0]] = np.sin(angle)
    frame[KNOWN_REALS[1]] = np.cos(angle)
    frame[KNOWN_REALS[2]] = (np.arange(len(t)) < n_pad).astype(float)
    return frame


class _NeuralBaseline:
    """Shared data handling and training of a pytorch-forecasting model as a global baseline.

    Budget (defaults suit a 2-core CPU: one fit on ~25k windows takes a few minutes):
    ``max_epochs`` passes over at most ``limit_train_batches`` shuffled batches of
    ``batch_size`` windows each, Adam at ``learning_rate``, gradients clipped at ``gradient_clip``.
    ``seed`` fixes initialisation, dropout and batch order, so a fit is reproducible on CPU.
    ``num_threads`` torch threads (1: these small networks gain nothing from more, and lose
    much on a busy CPU).
    """

    name: str

    def __init__(self, *, horizon: int = 6, encoder_length: int = 24, min_history: int = 12,
                 max_epochs: int = 5, limit_train_batches: int = 200, batch_size: int = 128,
                 learning_rate: float = 3e-3, gradient_clip: float = 0.1, seed: int = 0,
                 num_threads: int = 1) -> None:
        if not 1 <= min_history <= encoder_length:
            raise ValueError(f"need 1 <= min_history <= encoder_length, got {min_history}, {encoder_length}")
        self.horizon, self.encoder_length, self.min_history = horizon, encoder_length, min_history
        self.max_epochs, self.limit_train_batches, self.batch_size = max_epochs, limit_train_batches, batch_size
        self.learning_rate, self.gradient_clip, self.seed = learning_rate, gradient_clip, seed
        self.num_threads = num_threads
        self._model: TemporalFusionTransformer | NHiTS | None = None
        self._dataset_parameters: dict[str, Any] = {}
        self._covariates: list[str] = []

    def _build(self, dataset: TimeSeriesDataSet, common: dict[str, Any]) -> TemporalFusionTransformer | NHiTS:
        """The untrained network for ``dataset``; ``common`` holds the shared model arguments."""
        raise NotImplementedError

    def fit(self, train_panel: pd.DataFrame, cutoff: pd.Timestamp | str) -> "_NeuralBaseline":
        """Train on the windows of ``train_panel`` whose context and targets lie before ``cutoff``."""
        df = validate_panel(train_panel)
        df = df[df[DS] < pd.Timestamp(cutoff)]
        self._covariates = covariate_columns(df)
        log_cols = self._log_cols()
        n_pad = self.encoder_length - self.min_history
        parts = [
            _series_frame(str(uid), _month_index(g[DS]), g[Y].to_numpy(float),
                          g[self._covariates].to_numpy(float), n_pad, 0, log_cols)
            for uid, g in df.groupby(ID, sort=True) if len(g) >= self.min_history + self.horizon
        ]
        if not parts:
            raise ValueError(f"no project has {self.min_history + self.horizon} months before the cut-off "
                             f"{pd.Timestamp(cutoff):%Y-%m}: nothing to train on")
        dataset = TimeSeriesDataSet(
            pd.concat(parts, ignore_index=True), time_idx=TIME, target=Y, group_ids=[GROUP],
            max_encoder_length=self.encoder_length, min_encoder_length=self.encoder_length,
            max_prediction_length=self.horizon, min_prediction_length=self.horizon,
            time_varying_known_reals=list(KNOWN_REALS), time_varying_unknown_reals=[Y, *log_cols],
            target_normalizer=EncoderNormalizer(method="standard", transformation="log1p"),
        )
        pl.seed_everything(self.seed, workers=True, verbose=False)
        # a list learning rate is a per-epoch schedule (here constant); it replaces the default
        # ReduceLROnPlateau, which would wait for a validation loss that is never computed
        common = dict(loss=_BenchmarkMASE(), learning_rate=[self.learning_rate], optimizer="adam",
                      log_interval=-1)
        with tempfile.TemporaryDirectory() as tmp, _torch_session(self.num_threads):
            model = self._build(dataset, common)
            trainer = pl.Trainer(
                max_epochs=self.max_epochs, limit_train_batches=self.limit_train_batches,
                gradient_clip_val=self.gradient_clip, accelerator="cpu", devices=1,
                logger=False, enable_checkpointing=False, enable_progress_bar=False,
                enable_model_summary=False, default_root_dir=tmp,
            )
            trainer.fit(model, train_dataloaders=dataset.to_dataloader(
                train=True, batch_size=self.batch_size, num_workers=0))
        self._model, self._dataset_parameters = model, dataset.get_parameters()
        return self

    def predict(self, panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        """Forecasts ``[N, H]`` (clipped at 0) of each window from its project's months before the origin."""
        if self._model is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(train_panel, cutoff) first")
        if windows.target.shape[1] != self.horizon:
            raise ValueError(f"windows have horizon {windows.target.shape[1]}; the model forecasts {self.horizon}")
        if len(windows) == 0:
            return np.zeros((0, self.horizon))
        df = validate_panel(panel)
        missing = [c for c in self._covariates if c not in df.columns]
        if missing:
            raise ValueError(f"the panel lacks covariate(s) {missing} the model was trained with")
        series = {str(uid): (_month_index(g[DS]), g[Y].to_numpy(float), g[self._covariates].to_numpy(float))
                  for uid, g in df.groupby(ID, sort=False)}
        parts = []
        for i, (uid, origin) in enumerate(zip(windows.unique_id, _month_index(windows.origin))):
            if uid not in series:
                raise ValueError(f"window project {uid!r} is not in the panel")
            months, y, cov = series[uid]
            keep = np.flatnonzero(months < origin)[-self.encoder_length:]
            if len(keep) == 0:
                raise ValueError(f"project {uid!r} has no month before the origin {np.datetime64(origin, 'M')}")
            parts.append(_series_frame(str(i), months[keep], y[keep], cov[keep],
                                       self.encoder_length - len(keep), self.horizon, self._log_cols()))
        dataset = TimeSeriesDataSet.from_parameters(
            self._dataset_parameters, pd.concat(parts, ignore_index=True), predict=True, stop_randomization=True)
        with tempfile.TemporaryDirectory() as tmp, _torch_session(self.num_threads):
            result = self._model.predict(
                dataset.to_dataloader(train=False, batch_size=max(self.batch_size, 256), num_workers=0),
                mode="prediction", return_index=True,
                trainer_kwargs=dict(accelerator="cpu", devices=1, logger=False, default_root_dir=tmp,
                                    enable_model_summary=False),
            )
        forecast = np.empty((len(windows), self.horizon))
        forecast[result.index[GROUP].astype(int).to_numpy()] = result.output.detach().cpu().numpy()
        return np.clip(forecast, 0.0, None)

    def _log_cols(self) -> list[str]:
        return [f"_log1p_{c}" for c in (Y, *self._covariates)]


class TFTBaseline(_NeuralBaseline):
    """Temporal Fusion Transformer (small: ``hidden_size`` 16, one LSTM layer, 2 attention heads)."""

    name = "tft"

    def __init__(self, *, hidden_size: int = 16, attention_head_size: int = 2, hidden_continuous_size: int = 8,
                 dropout: float = 0.1, **budget: Any) -> None:
        super().__init__(**budget)
        self.hidden_size, self.attention_head_size = hidden_size, attention_head_size
        self.hidden_continuous_size, self.dropout = hidden_continuous_size, dropout

    def _build(self, dataset: TimeSeriesDataSet, common: dict[str, Any]) -> TemporalFusionTransformer:
        return TemporalFusionTransformer.from_dataset(
            dataset, hidden_size=self.hidden_size, attention_head_size=self.attention_head_size,
            hidden_continuous_size=self.hidden_continuous_size, dropout=self.dropout, **common)


class NHiTSBaseline(_NeuralBaseline):
    """N-HiTS (3 stacks of one block, MLPs of ``n_layers`` x ``hidden_size``) with covariates."""

    name = "nhits"

    def __init__(self, *, hidden_size: int = 64, n_layers: int = 2, dropout: float = 0.1, **budget: Any) -> None:
        super().__init__(**budget)
        self.hidden_size, self.n_layers, self.dropout = hidden_size, n_layers, dropout

    def _build(self, dataset: TimeSeriesDataSet, common: dict[str, Any]) -> NHiTS:
        return NHiTS.from_dataset(dataset, hidden_size=self.hidden_size, n_layers=self.n_layers,
                                  dropout=self.dropout, **common)


@contextmanager
def _torch_session(num_threads: int) -> Iterator[None]:
    """Run with ``num_threads`` torch threads, lightning's info logs and routine warnings silenced."""
    logger = logging.getLogger("lightning.pytorch")
    level, threads = logger.level, torch.get_num_threads()
    logger.setLevel(logging.WARNING)
    torch.set_num_threads(num_threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        torch.set_num_threads(threads)
        logger.setLevel(level)
