"""TFT and N-HiTS baselines on a tiny synthetic panel: shapes, no look-ahead, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsfuse.eval.baselines.neural import NHiTSBaseline, TFTBaseline
from tsfuse.data.tasks import TaskSpec
from tsfuse.data.windows import make_windows

TASK = TaskSpec(name="synthetic", target="y", tau=0.2, level_edges=(1.0, 10.0, 50.0, 200.0))
CUTOFF = pd.Timestamp("2022-07-01")
ORIGINS = [CUTOFF, pd.Timestamp("2022-09-01")]
TINY = {
    TFTBaseline: dict(hidden_size=4, attention_head_size=1, hidden_continuous_size=4),
    NHiTSBaseline: dict(hidden_size=8),
}


def _panel(n_series: int = 6, n_months: int = 40, seed: int = 0) -> pd.DataFrame:
    """Seasonal Poisson counts of different levels and start months, with an authors covariate."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_series):
        n = n_months - 3 * (i % 3)
        ds = pd.date_range(pd.Timestamp("2020-01-01") + pd.DateOffset(months=3 * (i % 3)), periods=n, freq="MS")
        level = 2.0 + 15.0 * i * (1 + 0.4 * np.sin(np.arange(n) * 2 * np.pi / 12))
        y = rng.poisson(level).astype(float)
        parts.append(pd.DataFrame({"unique_id": f"owner/p{i}", "ds": ds, "y": y,
                                   "authors": rng.poisson(1 + y / 5).astype(float)}))
    return pd.concat(parts, ignore_index=True)


def _model(cls: type, seed: int = 0):
    return cls(max_epochs=1, limit_train_batches=3, batch_size=16, seed=seed, **TINY[cls])


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return _panel()


@pytest.fixture(scope="module", params=[TFTBaseline, NHiTSBaseline], ids=["tft", "nhits"])
def fitted(request, panel):
    return _model(request.param).fit(panel, CUTOFF)


def test_predict_shape_finite_nonnegative(fitted, panel):
    windows = make_windows(panel, TASK, ORIGINS)
    forecast = fitted.predict(panel, windows)
    assert len(windows) == 12
    assert forecast.shape == (len(windows), TASK.horizon)
    assert np.isfinite(forecast).all() and (forecast >= 0).all()
    assert fitted.name in {"tft", "nhits"}


def test_no_look_ahead_in_predict(fitted, panel):
    """Values at and after a window's origin never change its forecast."""
    for origin in ORIGINS:
        windows = make_windows(panel, TASK, [origin])
        changed = panel.copy()
        future = changed["ds"] >= origin
        changed.loc[future, ["y", "authors"]] = changed.loc[future, ["y", "authors"]] * 7 + 100
        np.testing.assert_array_equal(fitted.predict(panel, windows), fitted.predict(changed, windows))


@pytest.mark.parametrize("cls", [TFTBaseline, NHiTSBaseline], ids=["tft", "nhits"])
def test_fit_uses_only_rows_before_cutoff_and_is_deterministic(cls, panel, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    changed = panel.copy()
    future = changed["ds"] >= CUTOFF
    changed.loc[future, "y"] = changed.loc[future, "y"] * 5 + 50
    windows = make_windows(panel, TASK, [CUTOFF])
    a = _model(cls).fit(panel, CUTOFF).predict(panel, windows)
    b = _model(cls).fit(changed, CUTOFF).predict(panel, windows)
    np.testing.assert_array_equal(a, b)
    assert list(tmp_path.iterdir()) == []  # no lightning logs or checkpoints left behind


def test_short_history_is_left_padded(fitted, panel):
    """A project with fewer months than the encoder still gets a forecast (the short-history slice)."""
    short = panel[panel["ds"] >= CUTOFF - pd.DateOffset(months=12)]
    forecast = fitted.predict(short, make_windows(short, TASK, [CUTOFF]))
    assert forecast.shape == (6, TASK.horizon) and np.isfinite(forecast).all()


def test_clear_errors(panel):
    windows = make_windows(panel, TASK, [CUTOFF])
    with pytest.raises(RuntimeError, match="not fitted"):
        TFTBaseline().predict(panel, windows)
    with pytest.raises(ValueError, match="nothing to train on"):
        _model(NHiTSBaseline).fit(panel, pd.Timestamp("2020-06-01"))
    with pytest.raises(ValueError, match="min_history"):
        NHiTSBaseline(min_history=30)
