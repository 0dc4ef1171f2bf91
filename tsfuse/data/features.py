"""Turn windows (+ README embeddings) into the model's named input arrays.

Everything here is computed from each window's context (months before its origin): values are
log1p-scaled and centred on the log1p of the mean of the last 12 context months, so no statistic
of the forecast period ever enters an input.

:func:`build_inputs` returns one array per name (N windows, L context months, C covariates,
D text dimensions, H horizon months):

=================  ============  =============================================================
key                shape         content
=================  ============  =============================================================
``values``         [N, L]        log1p(y) - log_scale; 0 on padding
``covariates``     [N, L, C]     log1p(covariate) - its cov_scale; 0 on padding or if absent
``mask``           [N, L]        1 for a real month, 0 for padding (padding is on the left)
``calendar``       [N, L, 2]     sin and cos of the month of year
``log_scale``      [N]           log1p of the level: the mean of the last 12 real months of y (or of
                                 the last 3, or the last month: ``centre``)
``age``            [N]           log1p(months of history) / 5
``cov_scale``      [N, C]        log1p of each covariate's mean over the last 12 real months
``cov_present``    [N, C]        1 if the covariate exists in the data (absent ones are zeros)
``history``        [N, K]        what a tree model sees (:data:`HISTORY_FEATURES`, :func:`history_features`);
                                 read by the network only when ``ModelConfig.history_features``
``text``           [N, D]        README embedding
``text_present``   [N]           1 if the project has a README
``target``         [N, H]        log1p(y) - log_scale of the horizon months; 0 where unknown
``target_mask``    [N, H]        1 where the target month is observed
``mase_scale``     [N]           mean absolute month-to-month change of y over the real context
                                 months (1 where that is 0 or undefined): MASE's scale, for the loss
``trend``          [N]           trend class (int64; -1: no label)
``level``          [N]           level class (int64; -1: no label)
=================  ============  =============================================================

A :class:`FeatureSpec` says how wide each input is and in which order the network joins them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from tsfuse.data.windows import SCALE_MONTHS, WindowSet

SERIES_KEYS = ("values", "covariates", "mask", "calendar")  # per-month channels, in the network's order
STATIC_KEYS = ("log_scale", "age", "cov_scale", "cov_present", "history")  # per-window features, network order
TEXT_KEYS = ("text", "text_present")
TARGET_KEYS = ("target", "target_mask", "mase_scale", "trend", "level")  # mase_scale: for the loss
INPUT_KEYS = SERIES_KEYS + STATIC_KEYS + TEXT_KEYS + TARGET_KEYS  # every array build_inputs returns


@dataclass(frozen=True)
class FeatureSpec:
    """The input channels of a model with these covariates, and the order the network joins them in.

    The temporal tower reads ``values, covariates, mask, calendar`` concatenated per month
    (:meth:`series`); the fusion MLP reads ``log_scale, age, cov_scale, cov_present``
    (+ ``history`` when ``history``) concatenated per window (:meth:`static`). The order is part of
    the saved weights' meaning.

    Args:
        covariates: the model's covariate names (``ModelConfig.covariates``).
        history: whether the fusion MLP also reads the :data:`HISTORY_FEATURES`
            (``ModelConfig.history_features``).
    """

    covariates: tuple[str, ...] = ()
    history: bool = False

    @classmethod
    def for_covariates(cls, covariates: Iterable[str], history: bool = False) -> FeatureSpec:
        """The spec of a model with ``covariates`` (any iterable of names) that reads the
        :data:`HISTORY_FEATURES` when ``history``."""
        return cls(tuple(covariates), history)

    @property
    def widths(self) -> dict[str, int]:
        """Channels per named input of :data:`SERIES_KEYS` and :data:`STATIC_KEYS`."""
        c = len(self.covariates)
        return {"values": 1, "covariates": c, "mask": 1, "calendar": 2,
                "log_scale": 1, "age": 1, "cov_scale": c, "cov_present": c,
                "history": len(HISTORY_FEATURES) if self.history else 0}

    @property
    def series_channels(self) -> int:
        """Per-month channels the temporal tower reads (1 + C + 1 + 2)."""
        return sum(self.widths[k] for k in SERIES_KEYS)

    @property
    def static_size(self) -> int:
        """Per-window features the fusion MLP reads (1 + 1 + C + C, + K history features)."""
        return sum(self.widths[k] for k in STATIC_KEYS)

    def series(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The temporal tower's input [B, L, series_channels] from a batch of named tensors."""
        return torch.cat([_as_channels(batch[k], 3) for k in SERIES_KEYS], dim=-1)

    def static(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The static features [B, static_size] from a batch of named tensors."""
        return torch.cat([_as_channels(batch[k], 2) for k in STATIC_KEYS if self.widths[k]], dim=-1)


def _as_channels(x: torch.Tensor, ndim: int) -> torch.Tensor:
    """``x`` with a trailing channel axis of size 1 if it has none ([B, L] -> [B, L, 1], [B] -> [B, 1])."""
    return x if x.ndim == ndim else x.unsqueeze(-1)


def _masked_mean(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Mean over axis 1 of ``x`` [N, L, ...] where ``m`` (same leading shape) is 1; 0 where there is none."""
    return (x * m).sum(1) / np.maximum(m.sum(1), 1.0)


def _recent_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the last SCALE_MONTHS real months; values [N, L, ...], mask [N, L]."""
    m = mask[:, -SCALE_MONTHS:]
    v = values[:, -SCALE_MONTHS:]
    return _masked_mean(v, m[..., None] if v.ndim == 3 else m)


CENTRES = ("mean12", "mean3", "last")


def _centre(windows: WindowSet, centre: str) -> np.ndarray:
    """[N] the level values and targets are centred on: the mean of the last 12 real context months
    (``mean12``), of the last 3 (``mean3``) or the last month (``last``); the network then forecasts
    a change from that level (``last``: from the naive forecast)."""
    if centre == "mean12":
        return windows.scale
    if centre not in CENTRES:
        raise ValueError(f"centre must be one of {CENTRES}, got {centre!r}")
    k = 1 if centre == "last" else 3
    return _masked_mean(windows.context[:, -k:], windows.mask[:, -k:])


def _mase_scale(context: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[N]: mean |y_t - y_(t-1)| over consecutive real context months; 1 where it is 0 or undefined."""
    both = mask[:, 1:] * mask[:, :-1]
    steps = (np.abs(np.diff(context, axis=1)) * both).sum(1) / np.maximum(both.sum(1), 1.0)
    return np.where(steps > 0, steps, 1.0)


HISTORY_FEATURES = (
    "mean3", "mean6", "last",  # log1p of the recent level, minus log_scale
    "std12",  # std of log1p(y) over the last 12 real months
    "momentum",  # mean log1p(y) of the last 6 months minus that of the 6 before
    "volatility",  # log1p(mase_scale) minus log_scale
    "zero_share12",  # share of months with y = 0 among the last 12 real ones
    "since_active",  # log1p(months since the last month with y > 0) / 5
    "since_release",  # log1p(months since the last month with a release) / 5; 0 without `releases`
)


def _months_since(active: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[N] months from the last context month back to the last ``active`` one (its real history
    length when there is none)."""
    hit = (active > 0) & (mask > 0)
    length = active.shape[1]
    last = np.where(hit.any(1), length - 1 - np.argmax(hit[:, ::-1], axis=1), -1)
    return np.where(last >= 0, length - 1 - last, mask.sum(1))


def history_features(windows: WindowSet, log_scale: np.ndarray, mase_scale: np.ndarray) -> np.ndarray:
    """[N, K] the :data:`HISTORY_FEATURES` of each window, from its context months only.

    Args:
        windows: the windows.
        log_scale: [N] the level values are centred on (``build_inputs``).
        mase_scale: [N] MASE's scale of each context (:func:`_mase_scale`).
    """
    y, m = windows.context, windows.mask
    logy = np.log1p(y)
    level = {k: np.log1p(_masked_mean(y[:, -k:], m[:, -k:])) - log_scale for k in (1, 3, 6)}
    m12 = m[:, -12:]
    mean12 = _masked_mean(logy[:, -12:], m12)
    std12 = np.sqrt(_masked_mean((logy[:, -12:] - mean12[:, None]) ** 2, m12))
    recent, before = m[:, -6:], m[:, -12:-6]
    momentum = np.where(before.sum(1) > 0, _masked_mean(logy[:, -6:], recent) - _masked_mean(logy[:, -12:-6], before), 0.0)
    zero_share = _masked_mean((y[:, -12:] == 0).astype(float), m12)
    since_active = np.log1p(_months_since(y, m)) / 5.0
    if "releases" in windows.covariate_names:
        releases = windows.covariates[:, :, windows.covariate_names.index("releases")]
        since_release = np.log1p(_months_since(releases, m)) / 5.0
    else:
        since_release = np.zeros(len(y))
    columns = [level[3], level[6], level[1], std12, momentum, np.log1p(mase_scale) - log_scale,
               zero_share, since_active, since_release]
    return np.stack(columns, axis=1)


def _calendar(origin: np.ndarray, length: int) -> np.ndarray:
    """Month-of-year sin/cos for each context step, [N, L, 2]."""
    months = origin.astype("datetime64[M]").astype(np.int64)[:, None] - np.arange(length, 0, -1)[None, :]
    angle = 2 * np.pi * (months % 12) / 12.0
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1)


def build_inputs(
    windows: WindowSet,
    covariates: tuple[str, ...],
    text_vectors: np.ndarray,
    text_present: np.ndarray,
    centre: str = "mean12",
) -> dict[str, np.ndarray]:
    """Model inputs and training targets for ``windows``, by name (see the module docstring).

    Args:
        windows: the windows (context, targets, labels).
        covariates: the model's covariate names. Present ones are taken from the windows; absent
            ones are zero with ``cov_present = 0`` (the model learns to ignore them).
        text_vectors: README embeddings [N, D], aligned with the windows.
        text_present: [N], 1 where the project has a README.
        centre: the level ``log_scale`` is taken at (:data:`CENTRES`; see :func:`_centre`).

    Returns:
        Float32 arrays (int64 for ``trend`` and ``level``) under the keys of :data:`INPUT_KEYS`.
    """
    n, length = windows.context.shape
    mask = windows.mask
    cov = np.zeros((n, length, len(covariates)))
    present = np.zeros((n, len(covariates)))
    for j, name in enumerate(covariates):
        if name in windows.covariate_names:
            cov[:, :, j] = windows.covariates[:, :, windows.covariate_names.index(name)]
            present[:, j] = 1.0
    log_scale = np.log1p(_centre(windows, centre))
    log_cov_scale = np.log1p(_recent_mean(cov, mask)) if covariates else np.zeros((n, 0))
    target = np.log1p(windows.target) - log_scale[:, None]
    mase_scale = _mase_scale(windows.context, mask)
    arrays = {
        "values": (np.log1p(windows.context) - log_scale[:, None]) * mask,
        "covariates": (np.log1p(cov) - log_cov_scale[:, None, :]) * mask[..., None],
        "mask": mask,
        "calendar": _calendar(windows.origin, length),
        "log_scale": log_scale,
        "age": np.log1p(windows.age) / 5.0,
        "cov_scale": log_cov_scale,
        "cov_present": present,
        "history": history_features(windows, log_scale, mase_scale),
        "text": text_vectors,
        "text_present": text_present,
        "target": np.nan_to_num(target, nan=0.0),
        "target_mask": ~np.isnan(target),
        "mase_scale": mase_scale,
    }
    arrays = {k: np.asarray(v, np.float32) for k, v in arrays.items()}
    return {**arrays, "trend": windows.trend.astype(np.int64), "level": windows.level.astype(np.int64)}
