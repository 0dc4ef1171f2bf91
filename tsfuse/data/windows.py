"""Cut a panel into (project, origin) windows: context before the origin, targets and labels after it.

An origin O is the first forecast month. A window sees only months strictly before O: its
context values, covariates and scaling statistic come from there; targets and labels come
from months O..O+H-1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from tsfuse.data.labels import level_label, trend_label
from tsfuse.data.schema import DS, ID, Y, covariate_columns, ensure_checked
from tsfuse.data.tasks import TaskSpec

SCALE_MONTHS = 12  # the scaling statistic is the mean target over the last 12 context months


@dataclass
class WindowSet:
    """Windows as aligned arrays (N windows, L context months, C covariates, H horizon)."""

    unique_id: np.ndarray  # [N] str
    origin: np.ndarray  # [N] datetime64[M]: first forecast month
    context: np.ndarray  # [N, L] target before the origin (the context months), left-padded with 0
    mask: np.ndarray  # [N, L] 1.0 where the month is real history, 0.0 for padding
    covariates: np.ndarray  # [N, L, C] covariates before the origin, left-padded with 0
    covariate_names: tuple[str, ...]
    age: np.ndarray  # [N] months of history before the origin
    scale: np.ndarray  # [N] mean target over the last SCALE_MONTHS real context months
    target: np.ndarray  # [N, H] target from the origin on (NaN where not observed)
    trend: np.ndarray  # [N] 0 down / 1 flat / 2 up (-1 where the target is not observed)
    level: np.ndarray  # [N] 0..4 (-1 where the target is not observed)

    def __len__(self) -> int:
        return len(self.unique_id)

    def subset(self, index: np.ndarray) -> "WindowSet":
        """The windows at ``index`` (boolean mask or integer positions)."""
        return WindowSet(**{k: (v if k == "covariate_names" else v[index]) for k, v in self.__dict__.items()})

    def keys(self) -> pd.DataFrame:
        """One row per window: unique_id and origin (month start)."""
        return pd.DataFrame({ID: self.unique_id, "origin": self.origin.astype("datetime64[ns]")})


def _month_index(ds: pd.Series) -> np.ndarray:
    return ds.to_numpy().astype("datetime64[M]").astype(np.int64)


def make_windows(
    panel: pd.DataFrame,
    task: TaskSpec,
    origins: Sequence[pd.Timestamp | str] | None = None,
    *,
    context_length: int = 24,
    before: pd.Timestamp | str | None = None,
    stride: int = 1,
    require_target: bool = True,
    covariates: Sequence[str] | None = None,
    validate: bool = True,
    min_history: int | None = None,
    min_target: int | None = None,
) -> WindowSet:
    """Windows of ``panel`` for ``task``.

    - ``origins`` given: one window per (project, origin) that is eligible per BENCHMARK.md:
      at least ``task.min_history`` months before the origin and, if ``require_target``,
      observed months up to origin + H - 1.
    - ``origins`` None: every ``stride``-th eligible origin of every project whose first
      ``min_target`` target months (default: all H) lie before ``before`` (training windows for a
      cut-off; all months if None). Target months at or after ``before`` are never read (NaN).

    ``min_history`` (default ``task.min_history``) is the fewest months of context a window may
    have; fewer than 12 is the cold-start regime.
    """
    df = ensure_checked(panel) if validate else panel
    cov_names = tuple(covariate_columns(df) if covariates is None else covariates)
    missing = [c for c in cov_names if c not in df.columns]
    if missing:
        raise ValueError(f"covariate column(s) {missing} not in the panel (has {list(df.columns)})")
    H, L = task.horizon, context_length
    min_hist = task.min_history if min_history is None else min_history
    need = H if min_target is None else min_target
    if min_hist < 1 or not 1 <= need <= H:
        raise ValueError(f"need min_history >= 1 and 1 <= min_target <= horizon {H}, got {min_hist}, {need}")
    origin_months = None if origins is None else np.array(
        [np.datetime64(pd.Timestamp(o), "M").astype(np.int64) for o in origins])
    cutoff = None if before is None else np.datetime64(pd.Timestamp(before), "M").astype(np.int64)

    rows: list[tuple[str, int, int, int, int]] = []  # (id, offset in the arrays, origin position, first month, length)
    ys, covs = [], []
    offset = 0
    for uid, g in df.groupby(ID, sort=True):
        months = _month_index(g[DS])
        y = g[Y].to_numpy(float)
        first = months[0]
        if cutoff is not None:  # nothing at or after the cut-off is ever read
            y = y[: max(0, cutoff - first)]
        n = len(y)
        ys.append(y)
        covs.append(g[list(cov_names)].to_numpy(float)[:n] if cov_names else np.zeros((n, 0)))
        if origin_months is not None:
            positions = origin_months - first
        else:
            positions = np.arange(min_hist, n - need + 1, stride)
        for pos in positions:
            if pos < min_hist:
                continue
            if require_target and origin_months is not None and pos + H > n:
                continue
            if pos > n:  # an origin beyond the month after the data: nothing to forecast from
                continue
            rows.append((str(uid), offset, int(pos), int(first), n))
        offset += n
    y_all = np.concatenate(ys) if ys else np.zeros(0)
    c_all = np.concatenate(covs) if covs else np.zeros((0, len(cov_names)))
    return _assemble(rows, y_all, c_all, cov_names, L, H, task)


def _assemble(rows, y_all, c_all, cov_names, L, H, task) -> WindowSet:
    N, C = len(rows), len(cov_names)
    history = np.zeros((N, L))
    mask = np.zeros((N, L))
    cov = np.zeros((N, L, C))
    target = np.full((N, H), np.nan)
    age = np.zeros(N, np.int64)
    scale = np.zeros(N)
    origin = np.zeros(N, "datetime64[M]")
    for i, (uid, off, pos, first, n) in enumerate(rows):
        lo = max(0, pos - L)
        k = pos - lo
        history[i, L - k:] = y_all[off + lo: off + pos]
        mask[i, L - k:] = 1.0
        cov[i, L - k:] = c_all[off + lo: off + pos]
        avail = min(H, n - pos)
        if avail > 0:
            target[i, :avail] = y_all[off + pos: off + pos + avail]
        age[i] = pos
        scale[i] = y_all[off + max(0, pos - SCALE_MONTHS): off + pos].mean()
        origin[i] = np.datetime64(first + pos, "M")
    observed = ~np.isnan(target[:, :3]).any(axis=1)
    trend = np.full(N, -1, np.int64)
    level = np.full(N, -1, np.int64)
    if observed.any():
        trend[observed] = trend_label(history[observed, -3:], target[observed, :3], task.tau)
        level[observed] = level_label(target[observed, :3], task.level_edges)
    return WindowSet(
        unique_id=np.array([r[0] for r in rows], dtype=object), origin=origin, context=history,
        mask=mask, covariates=cov, covariate_names=tuple(cov_names), age=age, scale=scale,
        target=target, trend=trend, level=level,
    )


def forecast_origin(panel: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """Per project, the month after its last month: where a forecast of the future starts."""
    last = panel.groupby(ID)[DS].max()
    return {str(k): v + pd.offsets.MonthBegin(1) for k, v in last.items()}
