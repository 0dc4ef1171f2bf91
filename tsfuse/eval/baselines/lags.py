"""Global direct regressors on normalised log lags and covariate lags: LightGBM and ridge.

Per cut-off, training windows are every eligible (project, origin) whose whole target lies
before the cut-off. Features and target are on a log1p scale relative to the window's level
``log1p(mean target over its last 12 months)``; one regressor per horizon step.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from tsfuse.eval.baselines.base import band_around, before
from tsfuse.data.schema import covariate_columns
from tsfuse.data.tasks import TaskSpec
from tsfuse.data.windows import SCALE_MONTHS, WindowSet, make_windows

Regressor = Any  # scikit-learn style: fit(X, y) -> self, predict(X) -> [N]


def _slog(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def _masked_mean(values: np.ndarray, mask: np.ndarray, axis: int = 1) -> np.ndarray:
    """Mean over real (mask 1) months; 0 where there are none."""
    return (values * mask).sum(axis) / np.maximum(mask.sum(axis), 1.0)


def lag_features(windows: WindowSet, n_lags: int, n_cov_lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix ``[N, F]`` and level ``[N]`` (log1p of the recent mean) of windows.

    Features: the last ``n_lags`` log1p targets minus the level (NaN before the series
    starts), the level itself, log1p of the 3- and 6-month means minus the level, the share of
    zero months in the last 12, log1p(age), the calendar month of the origin; per covariate its signed-log 12-month
    level and its last ``n_cov_lags`` signed-log values minus that level.
    """
    mask = windows.mask
    if mask.shape[1] < max(n_lags, n_cov_lags, SCALE_MONTHS):
        raise ValueError(f"windows have {mask.shape[1]} context months; need {max(n_lags, n_cov_lags, SCALE_MONTHS)}")
    level = np.log1p(windows.scale)
    hist = windows.context
    lags = np.where(mask[:, -n_lags:] > 0, np.log1p(hist[:, -n_lags:]), np.nan) - level[:, None]
    recent = [np.log1p(_masked_mean(hist[:, -k:], mask[:, -k:])) - level for k in (3, 6)]
    zeros = _masked_mean((hist[:, -SCALE_MONTHS:] == 0).astype(float), mask[:, -SCALE_MONTHS:])
    month = windows.origin.astype("datetime64[M]").astype(np.int64) % 12
    cov = _slog(windows.covariates)  # [N, L, C]
    m3 = mask[:, :, None]
    cov_level = _slog(_masked_mean(windows.covariates[:, -SCALE_MONTHS:], m3[:, -SCALE_MONTHS:]))  # [N, C]
    cov_lags = np.where(m3[:, -n_cov_lags:] > 0, cov[:, -n_cov_lags:], np.nan) - cov_level[:, None, :]
    features = np.column_stack([
        lags, level, *recent, zeros, np.log1p(windows.age), month, cov_level,
        cov_lags.reshape(len(hist), -1),
    ])
    return features, level


class LagForecaster:
    """A global direct forecaster: one regressor per horizon step on :func:`lag_features`."""

    def __init__(self, name: str, task: TaskSpec, make_regressor: Callable[[], Regressor],
                 n_lags: int = 24, n_cov_lags: int = 6, stride: int = 1) -> None:
        self.name = name
        self.task = task
        self.make_regressor = make_regressor  # called with no argument: the value model
        self.n_lags, self.n_cov_lags, self.stride = n_lags, n_cov_lags, stride
        self.context_length = max(n_lags, n_cov_lags, SCALE_MONTHS)
        self.covariates: tuple[str, ...] = ()
        self.models: list[Regressor] = []

    def _windows(self, panel: pd.DataFrame, **kwargs: Any) -> WindowSet:
        return make_windows(panel, self.task, context_length=self.context_length,
                            covariates=self.covariates, **kwargs)

    def fit(self, train_panel: pd.DataFrame, cutoff: pd.Timestamp) -> "LagForecaster":
        """Fit on every training window whose target ends before ``cutoff``."""
        train = before(train_panel, cutoff)
        self.covariates = tuple(covariate_columns(train))
        windows = self._windows(train, before=cutoff, stride=self.stride)
        if len(windows) == 0:
            raise ValueError(f"{self.name}: no training window ends before {pd.Timestamp(cutoff):%Y-%m}; "
                             f"projects need {self.task.min_history + self.task.horizon} months of history")
        X, level = lag_features(windows, self.n_lags, self.n_cov_lags)
        Y = np.log1p(windows.target) - level[:, None]
        self.models = [self.make_regressor().fit(X, Y[:, h]) for h in range(Y.shape[1])]
        self._fit_extra(X, Y)
        return self

    def _fit_extra(self, X: np.ndarray, Y: np.ndarray) -> None:
        """Hook for subclasses that fit more models on the same training windows."""

    def predict(self, panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        return self._predict_with(self.models, panel, windows)

    def _predict_with(self, models: list[Regressor], panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        """``[N, H]`` counts from one regressor per step (``models``) on each window's own lags."""
        if not models:
            raise RuntimeError(f"{self.name}: call fit before predict")
        if windows.target.shape[1] > len(models):
            raise ValueError(f"{self.name} was fitted for {len(models)} steps, windows need {windows.target.shape[1]}")
        out = np.full(windows.target.shape, np.nan)
        origins = windows.origin.astype("datetime64[M]")
        for origin in np.unique(origins):
            idx = np.flatnonzero(origins == origin)
            own = self._windows(before(panel, pd.Timestamp(origin)), origins=[pd.Timestamp(origin)], require_target=False)
            position = {uid: i for i, uid in enumerate(own.unique_id)}
            missing = [u for u in windows.unique_id[idx] if u not in position]
            if missing:
                raise ValueError(f"{self.name}: no eligible history before {pd.Timestamp(origin):%Y-%m} for {missing[:3]}")
            own = own.subset(np.array([position[u] for u in windows.unique_id[idx]], dtype=np.int64))
            X, level = lag_features(own, self.n_lags, self.n_cov_lags)
            z = np.column_stack([m.predict(X) for m in models[:out.shape[1]]])
            out[idx] = np.expm1(z + level[:, None])
        return np.clip(out, 0, None)


class QuantileLagForecaster(LagForecaster):
    """A :class:`LagForecaster` (its value model estimates the median) with models for p10 and p90
    too (``make_quantile(q)``), so it gives p10 / p50 / p90 (BENCHMARK.md v2)."""

    def __init__(self, name: str, task: TaskSpec, make_regressor: Callable[[], Regressor],
                 make_quantile: Callable[[float], Regressor], **lag_kwargs: Any) -> None:
        super().__init__(name, task, make_regressor, **lag_kwargs)
        self.make_quantile = make_quantile
        self.band: dict[float, list[Regressor]] = {}

    def _fit_extra(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.band = {q: [self.make_quantile(q).fit(X, Y[:, h]) for h in range(Y.shape[1])] for q in (0.1, 0.9)}

    def predict_quantiles(self, panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        """``[N, H, 3]``: p10, p50 (the value forecast), p90; the band always contains p50."""
        return band_around(self._predict_with(self.band[0.1], panel, windows), self.predict(panel, windows),
                           self._predict_with(self.band[0.9], panel, windows))


def lightgbm(task: TaskSpec, n_estimators: int = 400, learning_rate: float = 0.03, num_leaves: int = 31,
             seed: int = 0, num_threads: int = 1, **lag_kwargs: Any) -> QuantileLagForecaster:
    """Global LightGBM on normalised log lags (fixed seed): the value forecast (= p50) from the l1
    objective (the median), p10 / p90 from the quantile objective at 0.1 / 0.9.

    One thread by default: on a shared 2-core machine, 2 OpenMP threads made fitting ~30x slower.
    """
    from lightgbm import LGBMRegressor

    def make(objective: str = "l1", alpha: float = 0.9) -> Regressor:
        return LGBMRegressor(objective=objective, alpha=alpha, n_estimators=n_estimators, learning_rate=learning_rate,
                             num_leaves=num_leaves, min_child_samples=50, subsample=0.8, subsample_freq=1,
                             colsample_bytree=0.8, random_state=seed, deterministic=True,
                             num_threads=num_threads, verbose=-1)
    return QuantileLagForecaster("lightgbm", task, make, lambda q: make("quantile", q), **lag_kwargs)


def ridge(task: TaskSpec, alpha: float = 1.0, **lag_kwargs: Any) -> LagForecaster:
    """Global ridge regression on the same features (missing lags as 0, standardised)."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def make() -> Regressor:
        return make_pipeline(SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True),
                             StandardScaler(), Ridge(alpha=alpha))
    return LagForecaster("ridge", task, make, **lag_kwargs)
