"""Trend-direction and activity-level labels (BENCHMARK.md v1), from values or forecasts."""

from __future__ import annotations

import numpy as np

from tsfuse.data.tasks import TaskSpec

DOWN, FLAT, UP = 0, 1, 2


def trend_label(past_last3: np.ndarray, future_first3: np.ndarray, tau: float) -> np.ndarray:
    """Trend class per row: d = log1p(mean of 3 months after) - log1p(mean of 3 months before).

    ``up`` (2) if d > tau, ``down`` (0) if d < -tau, else ``flat`` (1). Inputs are ``[N, 3]``.
    """
    d = np.log1p(np.asarray(future_first3, float).mean(-1)) - np.log1p(np.asarray(past_last3, float).mean(-1))
    return np.where(d > tau, UP, np.where(d < -tau, DOWN, FLAT)).astype(np.int64)


def level_label(future_first3: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Activity level 0..4 of the mean of the first 3 future months (left-closed bins)."""
    mean = np.asarray(future_first3, float).mean(-1)
    return np.searchsorted(np.asarray(edges, float), mean, side="right").astype(np.int64)


def labels_from_forecast(history: np.ndarray, forecast: np.ndarray, task: TaskSpec) -> tuple[np.ndarray, np.ndarray]:
    """Trend and level classes a value forecaster implies (its forecast clipped at 0).

    ``history`` is ``[N, >=3]`` (the months before the origin), ``forecast`` ``[N, >=3]``.
    """
    fc = np.clip(np.asarray(forecast, float)[:, :3], 0, None)
    past = np.asarray(history, float)[:, -3:]
    return trend_label(past, fc, task.tau), level_label(fc, task.level_edges)
