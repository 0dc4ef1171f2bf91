"""Forecasts from a trained module: per window (through :mod:`tsfuse.train.calibration`), the
forecast table, the forecast origins of a panel and the fused project embedding."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch

from tsfuse.config import ModelConfig
from tsfuse.data.schema import DS, ID
from tsfuse.data.tasks import N_LEVELS, TREND_CLASSES, TaskSpec
from tsfuse.data.windows import WindowSet, forecast_origin
from tsfuse.errors import PanelError
from tsfuse.train.calibration import Calibration, forecasts, network_outputs
from tsfuse.train.inputs import InputBuilder
from tsfuse.train.module import TsfuseModule

log = logging.getLogger(__name__)
COLD_START_MONTHS = 3  # the fewest months of history a forecast is made from (README + corpus prior)


def predict_windows(module: TsfuseModule, builder: InputBuilder, windows: WindowSet,
                    texts: dict[str, str], calibration: Calibration | None = None) -> dict[str, np.ndarray]:
    """``quantiles`` [N, H, Q] (counts), ``trend_proba`` [N, 3] and ``level_proba`` [N, 5] of ``windows``
    (calibrated when ``calibration`` is given, see :mod:`tsfuse.train.calibration`)."""
    if len(windows) == 0:
        h, q = builder.task.horizon, len(builder.model_config.quantiles)
        return {"quantiles": np.zeros((0, h, q)), "trend_proba": np.zeros((0, 3)), "level_proba": np.zeros((0, 5))}
    arrays = builder.arrays(windows, texts)
    raw = network_outputs(module, arrays)
    return forecasts(raw, arrays["log_scale"], windows, module, builder.task, calibration)


@torch.inference_mode()
def embed_windows(module: TsfuseModule, builder: InputBuilder, windows: WindowSet,
                  texts: dict[str, str]) -> np.ndarray:
    """The fused project embedding [N, fusion_size] of ``windows``."""
    module.eval()
    arrays = builder.arrays(windows, texts)
    return module.net.forward_features({k: torch.from_numpy(v) for k, v in arrays.items()}).numpy()


def origin_windows(builder: InputBuilder, panel: pd.DataFrame, origin=None) -> Iterator[WindowSet]:
    """Windows per forecast origin: the given one, or each project's month after its end.

    Raises:
        PanelError: for a project with fewer than :data:`COLD_START_MONTHS` months before its origin.
    """
    if origin is None:
        starts = pd.Series(forecast_origin(panel))
        groups = {o: list(ids.index) for o, ids in starts.groupby(starts)}
    else:
        groups = {pd.Timestamp(origin): list(panel[ID].unique())}
    for o, ids in groups.items():
        part = panel[panel[ID].isin(ids)]
        windows = builder.windows(part, [o], require_target=False, min_history=COLD_START_MONTHS)
        _check_history(part, windows, o, builder.task.min_history)
        yield windows


def _check_history(panel: pd.DataFrame, windows: WindowSet, origin, task_min_history: int) -> None:
    have = set(windows.unique_id)
    short = [p for p in panel[ID].unique() if p not in have]
    if short:
        raise PanelError(f"project(s) {short[:5]} have fewer than {COLD_START_MONTHS} months of history "
                         f"before {pd.Timestamp(origin):%Y-%m}; a forecast needs at least {COLD_START_MONTHS}")
    cold = windows.age < task_min_history
    if cold.any():
        log.warning("cold start: %s ha%s only %s month(s) of history (< %d); the forecast leans on the README and "
                    "what the model learned from other projects: treat it as rough",
                    list(windows.unique_id[cold][:5]), "s" if cold.sum() == 1 else "ve",
                    sorted(set(windows.age[cold].tolist())), task_min_history)


def latest_origins(panel: pd.DataFrame, horizon: int, n_windows: int, step_size: int = 1) -> list[pd.Timestamp]:
    """The latest ``n_windows`` forecast origins, ``step_size`` months apart, whose whole ``horizon``
    lies inside ``panel``'s months (oldest first); origins without enough history before them give
    no window later (BENCHMARK.md rules).

    Raises:
        ValueError: ``n_windows`` or ``step_size`` below 1.
    """
    if n_windows < 1 or step_size < 1:
        raise ValueError(f"n_windows and step_size must be >= 1, got n_windows={n_windows}, step_size={step_size}")
    last = panel[DS].max() - pd.DateOffset(months=horizon - 1)
    return [last - pd.DateOffset(months=step_size * k) for k in range(n_windows)][::-1]


def backtest_table(windows: WindowSet, out: dict[str, np.ndarray], quantiles: tuple[float, ...],
                   task: TaskSpec) -> pd.DataFrame:
    """:func:`forecast_table` of backtest windows, neuralforecast's ``cross_validation`` way: plus
    ``cutoff`` (the last month the forecast saw), the true ``y`` and the true classes
    (``trend_true``, ``level_true``; -1 where a window's first 3 months are not all observed)."""
    table = forecast_table(windows, out, quantiles, task)
    h = out["quantiles"].shape[1]
    cutoff = (windows.origin.astype("datetime64[M]") - 1).astype("datetime64[ns]")
    table.insert(2, "cutoff", np.repeat(cutoff, h))
    table.insert(3, "y", windows.target.reshape(-1))
    table["trend_true"] = np.repeat(np.where(windows.trend >= 0, np.array(TREND_CLASSES)[windows.trend], None), h)
    table["level_true"] = np.repeat(windows.level, h)
    return table


def forecast_table(windows: WindowSet, out: dict[str, np.ndarray], quantiles: tuple[float, ...],
                   task: TaskSpec) -> pd.DataFrame:
    """One row per project and future month: ``unique_id, ds``, ``p10 / p50 / p90``, the trend and
    level probabilities (they describe the first 3 months), the most likely classes and the level's
    label in the target's units (``level_label``, e.g. ``10-<50``)."""
    n, h = out["quantiles"].shape[:2]
    months = windows.origin.astype("datetime64[M]")[:, None] + np.arange(h)[None, :]
    table = pd.DataFrame({ID: np.repeat(windows.unique_id, h), DS: months.ravel().astype("datetime64[ns]")})
    for j, q in enumerate(quantiles):
        table[f"p{int(round(q * 100))}"] = out["quantiles"][:, :, j].ravel().astype(np.float64)
    for j, name in enumerate(TREND_CLASSES):
        table[f"trend_{name}"] = np.repeat(out["trend_proba"][:, j], h)
    for j in range(N_LEVELS):
        table[f"level_{j}"] = np.repeat(out["level_proba"][:, j], h)
    table["trend"] = np.repeat(np.array(TREND_CLASSES)[out["trend_proba"].argmax(1)], h)
    table["level"] = np.repeat(out["level_proba"].argmax(1), h)
    table["level_label"] = [task.level_label(int(k)) for k in table["level"]]
    return table


def parameter_counts(module: TsfuseModule, encoder=None) -> dict[str, int]:
    """Trainable parameters of ``module``'s network and frozen ones of ``encoder`` (0 when not loaded)."""
    trainable = sum(p.numel() for p in module.net.parameters())
    frozen = sum(p.numel() for p in encoder.model.parameters()) if encoder is not None else 0
    return {"trainable": trainable, "frozen_text_encoder": frozen, "total": trainable + frozen}


def summary_text(c: ModelConfig, task: TaskSpec, counts: dict[str, int], encoder_loaded: bool) -> str:
    """A short text: towers, sizes, frozen vs trainable parameters (:meth:`tsfuse.Forecaster.summary`)."""
    return "\n".join([
        f"tsfuse Forecaster ({task.name}: target {task.target}, horizon {task.horizon})",
        f"  text tower (frozen): {c.text_model or 'none'} -> {c.text_dim}-dim, projected to {c.text_proj_size}",
        f"  temporal tower: {c.temporal}, hidden {c.hidden_size} x {c.num_layers} layers, "
        f"context {c.context_length} months, covariates: {', '.join(c.covariates) or 'none'}",
        f"  fusion MLP {c.fusion_size}; heads: value (quantiles {list(c.quantiles)}), trend (3), level (5)",
        f"  parameters: trainable {counts['trainable']:,} | frozen text encoder "
        f"{counts['frozen_text_encoder']:,}" + ("" if encoder_loaded or not c.text_model else " (not loaded yet)")])
