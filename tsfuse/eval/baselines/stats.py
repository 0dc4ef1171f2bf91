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

from tsfuse.eval.baselines.base import past_values
from tsfuse.eval.baselines.simple import SEASON, naive_rule
from tsfuse.data.schema import DS, ID, Y
from tsfuse.data.windows import WindowSet

log = logging.getLogger(__name__)

MODELS = {"AutoETS": AutoETS, "AutoTheta": AutoTheta, "AutoARIMA": AutoARIMA}


class _Failed:
    """statsforecast fallback that marks a failed series with NaN, so failures can be counted."""

    def forecast(self, h: int, **_: object) -> dict[str, np.ndarray]:
        return {"mean": np.full(h, np.nan)}


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
        out = sf.forecast(df=frame, h=horizon).sort_values([ID, DS])
        pred = out[self.name].to_numpy(float).reshape(len(keys), horizon)
        failed = ~np.isfinite(pred).all(axis=1)
        self.n_fallback = int(failed.sum())
        if self.n_fallback:
            log.warning("%s failed on %d of %d series; using the naive forecast for them",
                        self.name, self.n_fallback, len(keys))
            pred[failed] = [naive_rule(pasts[i], horizon) for i in np.flatnonzero(failed)]
        return pred
