"""Evaluation metrics of BENCHMARK.md (v1, and v2's probabilistic ones): per-window value errors,
interval scores, class scores, summaries.

Value metrics score one window at a time; forecasts are clipped to 0 first. ``score`` turns a
panel, its windows and a method's forecasts into one row per window; ``summarize`` reduces
those rows to the numbers a report carries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from tsfuse.eval.baselines.base import past_values
from tsfuse.data.labels import labels_from_forecast
from tsfuse.data.schema import ID
from tsfuse.data.tasks import TaskSpec
from tsfuse.data.windows import WindowSet


def _pair(actual: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, float)
    f = np.clip(np.asarray(forecast, float), 0, None)
    if a.shape != f.shape:
        raise ValueError(f"actual {a.shape} and forecast {f.shape} must have the same shape")
    if np.isnan(a).any() or np.isnan(f).any():
        raise ValueError("actual and forecast must not contain NaN (score only fully observed windows)")
    return a, f


def mase_scale(history: np.ndarray) -> float:
    """Mean absolute lag-1 difference of ``history``; 1 where it is 0 or undefined."""
    h = np.asarray(history, float)
    scale = float(np.abs(np.diff(h)).mean()) if len(h) > 1 else 0.0
    return scale if scale > 0 else 1.0


def mase(history: np.ndarray, actual: np.ndarray, forecast: np.ndarray) -> float:
    """MAE over the horizon divided by :func:`mase_scale` of the window's history."""
    a, f = _pair(actual, forecast)
    return float(np.abs(f - a).mean() / mase_scale(history))


def scaled_quantile_loss(history: np.ndarray, actual: np.ndarray, quantiles: np.ndarray,
                         levels: tuple[float, ...] = (0.1, 0.5, 0.9)) -> float:
    """BENCHMARK.md v2 ``SQL`` of one window: the mean over the quantile levels and the horizon of
    ``2 * pinball_q(y, yhat_q)``, divided by :func:`mase_scale` of the window's history.

    Args:
        history: the project's values before the origin.
        actual: the true values [H].
        quantiles: the forecast quantiles [H, Q] (clipped to 0 like every forecast).
        levels: the Q quantile levels.
    """
    a = np.asarray(actual, float)[:, None]
    q = np.clip(np.asarray(quantiles, float), 0, None)
    if q.shape != (len(a), len(levels)):
        raise ValueError(f"quantiles have shape {q.shape}; expected {(len(a), len(levels))} (H, Q)")
    tau = np.asarray(levels, float)[None, :]
    diff = a - q
    pinball = np.maximum(tau * diff, (tau - 1) * diff)
    return float(2 * pinball.mean() / mase_scale(history))


def interval_hits(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """1.0 where the true value lies in [low, high], per horizon step (forecasts clipped to 0)."""
    a = np.asarray(actual, float)
    return ((a >= np.clip(low, 0, None)) & (a <= np.clip(high, 0, None))).astype(float)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in 0..200; a month where actual and forecast are both 0 scores 0."""
    a, f = _pair(actual, forecast)
    denom = np.abs(a) + np.abs(f)
    terms = np.divide(2 * np.abs(f - a), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * terms.mean())


def rmsle(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Root mean squared error of log1p values over the horizon of one window."""
    a, f = _pair(actual, forecast)
    return float(np.sqrt(np.mean((np.log1p(f) - np.log1p(a)) ** 2)))


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """scikit-learn macro-F1 over the classes present in the truth or the predictions."""
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of correct class predictions."""
    return float(accuracy_score(y_true, y_pred))


def paired_bootstrap_ci(
    a: np.ndarray, b: np.ndarray, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05,
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired items and its percentile bootstrap ``1 - alpha`` interval."""
    diff = np.asarray(a, float) - np.asarray(b, float)
    if diff.ndim != 1 or len(diff) == 0:
        raise ValueError("a and b must be non-empty 1-d arrays of the same length")
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(diff.mean()), float(lo), float(hi)


def score(
    panel: pd.DataFrame,
    windows: WindowSet,
    forecasts: np.ndarray,
    task: TaskSpec,
    trend_pred: np.ndarray | None = None,
    level_pred: np.ndarray | None = None,
    quantiles: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per window: value errors, true classes and predicted classes.

    The MASE scale comes from the project's whole history in ``panel`` before the origin.
    Classes a method does not predict itself are derived from its forecast with
    :func:`labels_from_forecast`. With ``quantiles`` [N, H, 3] (p10, p50, p90), the rows also carry
    ``sql`` (:func:`scaled_quantile_loss`) and ``cover_1..cover_H`` (p10 <= y <= p90 per step).
    """
    fc = np.asarray(forecasts, float)
    if fc.shape != windows.target.shape:
        raise ValueError(f"forecasts have shape {fc.shape}; the windows need {windows.target.shape} (N, H)")
    implied_trend, implied_level = labels_from_forecast(windows.context, fc, task)
    histories = past_values(panel, windows)
    rows = pd.DataFrame({
        ID: windows.unique_id,
        "origin": windows.origin.astype("datetime64[ns]"),
        "mase": [mase(h, a, f) for h, a, f in zip(histories, windows.target, fc)],
        "smape": [smape(a, f) for a, f in zip(windows.target, fc)],
        "rmsle": [rmsle(a, f) for a, f in zip(windows.target, fc)],
        "trend_true": windows.trend,
        "trend_pred": implied_trend if trend_pred is None else np.asarray(trend_pred, np.int64),
        "level_true": windows.level,
        "level_pred": implied_level if level_pred is None else np.asarray(level_pred, np.int64),
    })
    if quantiles is not None:
        q = np.asarray(quantiles, float)
        if q.shape != (*fc.shape, 3):
            raise ValueError(f"quantiles have shape {q.shape}; the windows need {(*fc.shape, 3)} (N, H, p10/p50/p90)")
        rows["sql"] = [scaled_quantile_loss(h, a, qi) for h, a, qi in zip(histories, windows.target, q)]
        hits = interval_hits(windows.target, q[..., 0], q[..., 2])
        for step in range(fc.shape[1]):
            rows[f"cover_{step + 1}"] = hits[:, step]
    return rows


def summarize(per_window: pd.DataFrame) -> dict[str, float | int]:
    """The report numbers of one method from :func:`score`'s rows."""
    w = per_window
    return {
        "mase_mean": float(w["mase"].mean()),
        "mase_median": float(w["mase"].median()),
        "smape": float(w["smape"].mean()),
        "rmsle": float(w["rmsle"].mean()),
        "trend_f1": macro_f1(w["trend_true"], w["trend_pred"]),
        "trend_acc": accuracy(w["trend_true"], w["trend_pred"]),
        "level_f1": macro_f1(w["level_true"], w["level_pred"]),
        "level_acc": accuracy(w["level_true"], w["level_pred"]),
        "windows": int(len(w)),
        "projects": int(w[ID].nunique()),
        **_interval_summary(w),
    }


def _interval_summary(w: pd.DataFrame) -> dict[str, float | list[float]]:
    """``sql_mean``, ``sql_median``, ``coverage`` and ``coverage_per_step`` when the rows have them."""
    steps = sorted((c for c in w.columns if c.startswith("cover_")), key=lambda c: int(c.split("_")[1]))
    if "sql" not in w.columns or w["sql"].isna().all():
        return {}
    per_step = [float(w[c].mean()) for c in steps]
    return {"sql_mean": float(w["sql"].mean()), "sql_median": float(w["sql"].median()),
            "coverage": float(np.mean(per_step)), "coverage_per_step": per_step}
