"""Baselines every report carries (BENCHMARK.md v1), behind one :class:`Baseline` interface.

statsforecast and lightgbm are optional (the ``bench`` extra): they are imported only when a
baseline that needs them is made.
"""

from __future__ import annotations

from tsfuse.eval.baselines.base import (
    Baseline, MeanEnsemble, RunResult, before, blind, forecast_windows, past_values,
)
from tsfuse.eval.baselines.simple import mean3, naive, seasonal_naive
from tsfuse.data.tasks import TaskSpec

BASELINES = ("naive", "seasonal_naive", "mean3", "AutoETS", "AutoTheta", "AutoARIMA", "lightgbm", "ridge", "ens")


def make_baseline(name: str, task: TaskSpec, n_jobs: int = 2) -> Baseline:
    """A fresh baseline by its report name (one of :data:`BASELINES`) with its default settings."""
    simple = {"naive": naive, "seasonal_naive": seasonal_naive, "mean3": mean3}
    if name in simple:
        return simple[name]()
    if name in ("AutoETS", "AutoTheta", "AutoARIMA"):
        from tsfuse.eval.baselines.stats import StatsForecaster
        return StatsForecaster(name, n_jobs=n_jobs)
    if name in ("lightgbm", "ridge"):
        from tsfuse.eval.baselines import lags
        return getattr(lags, name)(task)
    if name == "ens":
        return MeanEnsemble([make_baseline(m, task, n_jobs) for m in ("AutoETS", "AutoTheta", "lightgbm")])
    raise ValueError(f"unknown baseline {name!r}; choose one of {list(BASELINES)}")


__all__ = [
    "BASELINES", "Baseline", "MeanEnsemble", "RunResult", "before", "blind", "forecast_windows",
    "make_baseline", "mean3", "naive", "past_values", "seasonal_naive",
]
