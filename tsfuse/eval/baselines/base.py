"""The interface every baseline follows, and the one runner that keeps it honest.

A :class:`Baseline` is fitted for a cut-off (a global method learns from months strictly
before it; a local method learns nothing there) and predicts ``[N, H]`` values for windows,
using only each window's months before its origin. :func:`forecast_windows` enforces that
from outside: per origin it hands the method the panel cut at that origin and windows whose
targets and labels are blanked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Protocol, Sequence

import numpy as np
import pandas as pd

from tsfuse.data.schema import DS, ID, Y
from tsfuse.data.windows import WindowSet


class Baseline(Protocol):
    """A value forecaster: ``fit`` for a cut-off, then ``predict`` windows at or after it."""

    name: str

    def fit(self, train_panel: pd.DataFrame, cutoff: pd.Timestamp) -> "Baseline":
        """Learn from the months of ``train_panel`` strictly before ``cutoff``."""
        ...

    def predict(self, panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        """``[N, H]`` forecasts from each window's months of ``panel`` strictly before its origin."""
        ...


class IntervalBaseline(Baseline, Protocol):
    """A baseline that also gives p10 / p50 / p90 (BENCHMARK.md v2's probabilistic metrics)."""

    def predict_quantiles(self, panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        """``[N, H, 3]``: p10, p50, p90 (p50 is the value forecast), from the same months as ``predict``."""
        ...


def band_around(low: np.ndarray, mid: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``[..., 3]`` p10 / p50 / p90 with p50 = ``mid`` (the value forecast, never moved) and the band
    widened to contain it where two separately fitted bounds cross or miss it."""
    lo, hi = np.minimum(low, high), np.maximum(low, high)
    return np.stack([np.minimum(lo, mid), mid, np.maximum(hi, mid)], axis=-1)


def before(panel: pd.DataFrame, cutoff: pd.Timestamp | str | np.datetime64) -> pd.DataFrame:
    """The rows of ``panel`` strictly before ``cutoff`` (a month start)."""
    return panel[panel[DS] < pd.Timestamp(cutoff)]


def past_values(panel: pd.DataFrame, windows: WindowSet, column: str = Y) -> list[np.ndarray]:
    """Per window, ``column`` of its project over every month strictly before its origin."""
    series = {str(uid): (g[DS].to_numpy().astype("datetime64[M]"), g[column].to_numpy(float))
              for uid, g in panel.sort_values([ID, DS]).groupby(ID, sort=False)}
    out = []
    for uid, origin in zip(windows.unique_id, windows.origin.astype("datetime64[M]")):
        if uid not in series:
            raise ValueError(f"window project {uid!r} is not in the panel")
        months, values = series[uid]
        out.append(values[months < origin])
    return out


def blind(windows: WindowSet) -> WindowSet:
    """``windows`` with targets set to NaN and labels to -1: what a forecaster may see."""
    return replace(windows, target=np.full_like(windows.target, np.nan),
                   trend=np.full_like(windows.trend, -1), level=np.full_like(windows.level, -1))


@dataclass
class RunResult:
    """Forecasts ``[N, H]`` of one method for a WindowSet (and ``[N, H, 3]`` p10 / p50 / p90 from a
    method that gives intervals) and the time it took."""

    forecasts: np.ndarray
    fit_seconds: float
    predict_seconds: float
    quantiles: np.ndarray | None = None


def forecast_windows(
    method: Baseline, panel: pd.DataFrame, windows: WindowSet, train_panel: pd.DataFrame | None = None,
) -> RunResult:
    """Fit ``method`` once per origin of ``windows`` and forecast the windows of that origin.

    For origin O the method is fitted on ``train_panel`` (default: ``panel``, the in-corpus
    mode) cut before O and predicts from ``panel`` cut before O, with blanked windows.
    """
    train_panel = panel if train_panel is None else train_panel
    intervals = callable(getattr(method, "predict_quantiles", None))
    out = np.full((*windows.target.shape, 3) if intervals else windows.target.shape, np.nan)
    fit_s = predict_s = 0.0
    origins = windows.origin.astype("datetime64[M]")
    for origin in np.unique(origins):
        idx = np.flatnonzero(origins == origin)
        cutoff = pd.Timestamp(origin)
        t0 = time.perf_counter()
        method.fit(before(train_panel, cutoff), cutoff)
        t1 = time.perf_counter()
        predict = method.predict_quantiles if intervals else method.predict
        pred = np.asarray(predict(before(panel, cutoff), blind(windows.subset(idx))), float)
        predict_s += time.perf_counter() - t1
        fit_s += t1 - t0
        if pred.shape != out[idx].shape:
            raise ValueError(f"{method.name} returned shape {pred.shape}, expected {out[idx].shape}")
        out[idx] = pred
    if intervals:
        return RunResult(out[..., 1], fit_s, predict_s, quantiles=out)
    return RunResult(out, fit_s, predict_s)


class MeanEnsemble:
    """The mean of several forecasters' forecasts (``ens`` = AutoETS, AutoTheta, LightGBM)."""

    def __init__(self, members: Sequence[Baseline], name: str = "ens") -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = list(members)
        self.name = name

    def fit(self, train_panel: pd.DataFrame, cutoff: pd.Timestamp) -> "MeanEnsemble":
        for m in self.members:
            m.fit(train_panel, cutoff)
        return self

    def predict(self, panel: pd.DataFrame, windows: WindowSet) -> np.ndarray:
        return np.mean([m.predict(panel, windows) for m in self.members], axis=0)
