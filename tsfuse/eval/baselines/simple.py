"""Local rule baselines: naive (last value), seasonal naive (lag 12), mean of the last 3 months."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from tsfuse.eval.baselines.base import past_values
from tsfuse.data.windows import WindowSet

SEASON = 12


def naive_rule(history: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the last value."""
    return np.full(horizon, history[-1], float)


def seasonal_naive_rule(history: np.ndarray, horizon: int, season: int = SEASON) -> np.ndarray:
    """The value one season before each forecast month; the last value if history is shorter."""
    if len(history) < season:
        return naive_rule(history, horizon)
    return history[len(history) - season + np.arange(horizon) % season].astype(float)


def naive_quantiles(history: np.ndarray, horizon: int) -> np.ndarray:
    """``[H, 3]``: the last value as p50, and as p10 / p90 the last value plus the empirical 10% / 90%
    quantiles of the series' own past h-step changes (h = 1..H; BENCHMARK.md v2). A step with no
    past change of its length gets the band of the longest step that has one (none: p10 = p90 = p50)."""
    h = np.asarray(history, float)
    band = np.zeros((horizon, 2))
    for step in range(1, horizon + 1):
        if len(h) > step:
            band[step - 1] = np.quantile(h[step:] - h[:-step], [0.1, 0.9])
        elif step > 1:
            band[step - 1] = band[step - 2]
    last = h[-1]
    return np.clip(np.column_stack([last + band[:, 0], np.full(horizon, last), last + band[:, 1]]), 0, None)


def mean3_rule(history: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the mean of the last 3 months."""
    return np.full(horizon, history[-3:].mean(), float)


class RuleForecaster:
    """A local forecaster applying ``rule(history, horizon)`` to each window's full past."""

    def __init__(self, name: str, rule: Callable[[np.ndarray, int], np.ndarray]) -> None:
        self.name = name
        self.rule = rule

    def fit(self, train_panel: pd.DataFrame, cutoff: pd.Timestamp) -> "RuleForecaster":
        """Nothing to learn: a local rule."""
        return self

    def predict(self, panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        horizon = windows.target.shape[1]
        pasts = self._pasts(panel, windows)
        return np.stack([self.rule(p, horizon) for p in pasts]) if pasts else np.zeros((0, horizon))

    def _pasts(self, panel: pd.DataFrame, windows: WindowSet) -> list[np.ndarray]:
        pasts = past_values(panel, windows)
        empty = [str(u) for u, p in zip(windows.unique_id, pasts) if len(p) == 0]
        if empty:
            raise ValueError(f"{self.name}: no history before the origin for {empty[:3]}")
        return pasts


class NaiveForecaster(RuleForecaster):
    """``naive`` with p10 / p90 from the series' own past h-step changes (:func:`naive_quantiles`)."""

    def __init__(self) -> None:
        super().__init__("naive", naive_rule)

    def predict_quantiles(self, panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        horizon = windows.target.shape[1]
        pasts = self._pasts(panel, windows)
        return np.stack([naive_quantiles(p, horizon) for p in pasts]) if pasts else np.zeros((0, horizon, 3))


def naive() -> NaiveForecaster:
    return NaiveForecaster()


def seasonal_naive() -> RuleForecaster:
    return RuleForecaster("seasonal_naive", seasonal_naive_rule)


def mean3() -> RuleForecaster:
    return RuleForecaster("mean3", mean3_rule)
