"""Small synthetic panels for tests, examples and smoke runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsfuse.data.schema import DS, ID, Y


def generate_panel(n_series: int = 8, n_months: int = 48, *, covariates: tuple[str, ...] = ("authors",),
                   start: str = "2019-01", seed: int = 0, ragged: bool = True) -> pd.DataFrame:
    """Count series with level, trend, yearly seasonality and noise; covariates follow the target.

    With ``ragged`` the series start at different months (the shortest keeps 2/3 of ``n_months``).
    """
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        n = n_months - (int(rng.integers(0, n_months // 3 + 1)) if ragged else 0)
        t = np.arange(n)
        level = np.exp(rng.uniform(0.5, 5.0))
        trend = rng.uniform(-0.03, 0.03)
        season = 1 + 0.2 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 2 * np.pi))
        y = rng.poisson(level * np.exp(trend * t) * season).astype(float)
        ds = pd.date_range(start, periods=n_months, freq="MS")[n_months - n:]
        frame = pd.DataFrame({ID: f"org/project-{i}", DS: ds, Y: y})
        for j, name in enumerate(covariates):
            frame[name] = rng.poisson(np.sqrt(y + 1) * (j + 1)).astype(float)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
