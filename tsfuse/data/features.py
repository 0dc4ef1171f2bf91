"""Turn windows (+ README embeddings) into the model's input arrays.

Everything here is computed from each window's context (months before its origin):
values are log1p-scaled and centred on the log1p of the mean of the last 12 context months,
so no statistic of the forecast period ever enters an input.
"""

from __future__ import annotations

import numpy as np

from tsfuse.data.windows import SCALE_MONTHS, WindowSet


def _recent_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the last SCALE_MONTHS real months; values [N, L, ...], mask [N, L]."""
    m = mask[:, -SCALE_MONTHS:]
    v = values[:, -SCALE_MONTHS:]
    if v.ndim == 3:
        m = m[..., None]
    return (v * m).sum(1) / np.maximum(m.sum(1), 1.0)


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
) -> dict[str, np.ndarray]:
    """Model inputs and training targets for ``windows``.

    ``covariates`` are the model's covariate names: present ones are taken from the windows,
    absent ones are zero with ``cov_present = 0`` (the model learns to ignore them).
    ``text_vectors`` [N, D] and ``text_present`` [N] are aligned with the windows.

    Returns float32/int64 arrays: ``series`` [N, L, 1+C+3], ``static`` [N, 2+2C],
    ``text`` [N, D], ``text_present`` [N], ``target`` [N, H] (normalised, NaN where unknown),
    ``target_mask`` [N, H], ``trend`` [N], ``level`` [N], ``log_scale`` [N].
    """
    n, length = windows.history.shape
    mask = windows.mask
    cov = np.zeros((n, length, len(covariates)))
    present = np.zeros((n, len(covariates)))
    for j, name in enumerate(covariates):
        if name in windows.covariate_names:
            cov[:, :, j] = windows.covariates[:, :, windows.covariate_names.index(name)]
            present[:, j] = 1.0
    log_scale = np.log1p(windows.scale)
    log_cov_scale = np.log1p(_recent_mean(cov, mask)) if covariates else np.zeros((n, 0))
    z_y = (np.log1p(windows.history) - log_scale[:, None]) * mask
    z_cov = (np.log1p(cov) - log_cov_scale[:, None, :]) * mask[..., None]
    series = np.concatenate([z_y[..., None], z_cov, mask[..., None], _calendar(windows.origin, length)], axis=-1)
    static = np.concatenate(
        [log_scale[:, None], np.log1p(windows.age)[:, None] / 5.0, log_cov_scale, present], axis=1)
    target = np.log1p(windows.target) - log_scale[:, None]
    return {
        "series": series.astype(np.float32),
        "static": static.astype(np.float32),
        "text": np.asarray(text_vectors, np.float32),
        "text_present": np.asarray(text_present, np.float32),
        "target": np.nan_to_num(target, nan=0.0).astype(np.float32),
        "target_mask": (~np.isnan(target)).astype(np.float32),
        "trend": windows.trend.astype(np.int64),
        "level": windows.level.astype(np.int64),
        "log_scale": log_scale.astype(np.float32),
    }


def series_channels(n_covariates: int) -> int:
    """Number of per-month input channels for a model with ``n_covariates`` covariates."""
    return 1 + n_covariates + 3


def static_features(n_covariates: int) -> int:
    """Number of static input features for a model with ``n_covariates`` covariates."""
    return 2 + 2 * n_covariates
