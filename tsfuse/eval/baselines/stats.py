"""Local statistical baselines from statsforecast (AutoETS, AutoTheta, AutoARIMA), one fit per window.

Each window's model is fitted on its project's whole history before the origin, all windows
in one statsforecast batch. A series the model cannot fit (an exception or a non-finite
forecast) gets the naive forecast instead, and a warning says how many did.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

from tsfuse.eval.baselines.base import band_around, past_values
from tsfuse.eval.baselines.simple import SEASON, naive_quantiles
from tsfuse.data.schema import DS, ID, Y
from tsfuse.data.windows import WindowSet

log = logging.getLogger(__name__)

MODELS = {"AutoETS": AutoETS, "AutoTheta": AutoTheta, "AutoARIMA": AutoARIMA}


class _Failed:
    """statsforecast fallback that marks a failed series with NaN, so failures can be counted."""

    def forecast(self, h: int, level=None, **_: object) -> dict[str, np.ndarray]:
        out = {"mean": np.full(h, np.nan)}
        out.update({f"{side}-{lv}": np.full(h, np.nan) for lv in (level or []) for side in ("lo", "hi")})
        return out


class StatsForecaster:
    """A statsforecast model (``name`` in :data:`MODELS`) fitted per window, seasonal period 12."""

    def __init__(self, name: str, season_length: int = SEASON, n_jobs: int = 2) -> None:
        if name not in MODELS:
            raise ValueError(f"unknown statsforecast model {name!r}; choose one of {sorted(MODELS)}")
        self.name = name
        self.season_length = season_length
        self.n_jobs = n_jobs
        self.n_fallback = 0  # windows of the last predict that got the naive forecast

    def fit(self, train_panel: pd.DataFrame, cutoff: pd.Timestamp) -> "StatsForecaster":
        """Nothing to learn across series: a local model, fitted per window in ``predict``."""
        return self

    def predict(self, panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        return self.predict_quantiles(panel, windows)[..., 1]

    def predict_quantiles(self, panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        """``[N, H, 3]``: the model's 80% prediction interval as p10 / p90 and its mean as p50
        (BENCHMARK.md v2); a failed series gets the naive forecast and its empirical band."""
        horizon = windows.target.shape[1]
        pasts = past_values(panel, windows)
        if any(len(p) == 0 for p in pasts):
            raise ValueError(f"{self.name}: every window needs history before its origin")
        keys = [f"w{i:07d}" for i in range(len(pasts))]
        frame = pd.DataFrame({
            ID: np.repeat(keys, [len(p) for p in pasts]),
            DS: np.concatenate([pd.date_range(end=pd.Timestamp(o) - pd.offsets.MonthBegin(1), periods=len(p), freq="MS")
                                for o, p in zip(windows.origin.astype("datetime64[M]"), pasts)]),
            Y: np.concatenate(pasts),
        })
        sf = StatsForecast(models=[MODELS[self.name](season_length=self.season_length)], freq="MS",
                           n_jobs=self.n_jobs, fallback_model=_Failed())
        out = sf.forecast(df=frame, h=horizon, level=[80]).sort_values([ID, DS])
        columns = [f"{self.name}-lo-80", self.name, f"{self.name}-hi-80"]
        # a batch whose every series fell back has no interval columns at all
        pred = np.stack([out[c].to_numpy(float).reshape(len(keys), horizon) if c in out.columns
                         else np.full((len(keys), horizon), np.nan) for c in columns], axis=-1)
        failed = ~np.isfinite(pred[..., 1]).all(axis=1)
        self.n_fallback = int(failed.sum())
        if self.n_fallback:
            log.warning("%s failed on %d of %d series; using the naive forecast for them",
                        self.name, self.n_fallback, len(keys))
            pred[failed] = [naive_quantiles(pasts[i], horizon) for i in np.flatnonzero(failed)]
        bad_band = ~np.isfinite(pred).all(axis=(1, 2))  # a mean without an interval
        if bad_band.any():
            log.warning("%s gave no finite 80%% interval for %d of %d series; p10 = p90 = p50 for them",
                        self.name, int(bad_band.sum()), len(keys))
            pred[bad_band] = pred[bad_band][..., 1:2]
        return band_around(pred[..., 0], pred[..., 1], pred[..., 2])
