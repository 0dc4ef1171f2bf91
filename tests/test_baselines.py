import logging

import numpy as np
import pandas as pd
import pytest
from statsforecast.models import AutoETS

from tsfuse.eval.baselines import BASELINES, MeanEnsemble, forecast_windows, make_baseline
from tsfuse.eval.baselines.lags import lag_features, lightgbm, ridge
from tsfuse.eval.baselines.simple import mean3_rule, naive_rule, seasonal_naive_rule
from tsfuse.eval.baselines import stats
from tsfuse.eval.baselines.stats import StatsForecaster
from tsfuse.data import get_task, make_windows
from tsfuse.data.synthetic import generate_panel

TASK = get_task("oss-activity")
ORIGINS = [pd.Timestamp("2022-01-01"), pd.Timestamp("2022-07-01")]


def small(name: str):
    """Each baseline, made small enough for a unit test."""
    if name in ("AutoETS", "AutoTheta", "AutoARIMA"):
        return StatsForecaster(name, n_jobs=1)
    if name == "lightgbm":
        return lightgbm(TASK, n_estimators=5, num_leaves=4)
    if name == "ridge":
        return ridge(TASK)
    if name == "ens":
        return MeanEnsemble([small("AutoETS"), small("AutoTheta"), small("lightgbm")])
    return make_baseline(name, TASK)


@pytest.fixture(scope="module")
def panel():
    return generate_panel(n_series=6, n_months=48, covariates=("authors", "churn"), start="2019-01", seed=3)


def perturbed(panel: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """The panel with every value at or after ``origin`` changed, for every project."""
    out = panel.copy()
    late = out.ds >= origin
    for col in ("y", "authors", "churn"):
        out.loc[late, col] = out.loc[late, col] * 7 + 100
    return out


def test_rules_hand_computed():
    h = np.arange(1.0, 25.0)
    np.testing.assert_array_equal(naive_rule(h, 3), [24, 24, 24])
    np.testing.assert_array_equal(mean3_rule(h, 2), [23, 23])
    np.testing.assert_array_equal(seasonal_naive_rule(h, 6), [13, 14, 15, 16, 17, 18])
    np.testing.assert_array_equal(seasonal_naive_rule(h, 14)[-2:], [13, 14])
    np.testing.assert_array_equal(seasonal_naive_rule(h[:5], 2), [5, 5])


def test_make_baseline_knows_every_name():
    for name in BASELINES:
        assert make_baseline(name, TASK).name == name
    with pytest.raises(ValueError, match="unknown baseline"):
        make_baseline("prophet", TASK)


@pytest.mark.parametrize("name", BASELINES)
def test_shapes_and_no_look_ahead(panel, name):
    origin = ORIGINS[1]
    windows = make_windows(panel, TASK, [origin])
    late = perturbed(panel, origin)
    late_windows = make_windows(late, TASK, [origin])
    assert not np.allclose(windows.target, late_windows.target)
    # the method itself slices: called directly on the whole (perturbed) panel
    fc = small(name).fit(panel, origin).predict(panel, windows)
    fc_late = small(name).fit(late, origin).predict(late, late_windows)
    assert fc.shape == (len(windows), TASK.horizon)
    assert np.isfinite(fc).all()
    np.testing.assert_allclose(fc, fc_late, rtol=1e-10)


@pytest.mark.parametrize("name", ["naive", "lightgbm", "ridge"])
def test_forecast_windows_runs_per_origin(panel, name):
    windows = make_windows(panel, TASK, ORIGINS)
    result = forecast_windows(small(name), panel, windows)
    assert result.forecasts.shape == windows.target.shape
    assert np.isfinite(result.forecasts).all()
    assert result.fit_seconds >= 0 and result.predict_seconds >= 0
    if name != "naive":
        assert (result.forecasts >= 0).all()


def test_forecast_windows_hides_the_future(panel):
    seen = []

    class Spy:
        name = "spy"

        def fit(self, train_panel, cutoff):
            seen.append(("fit", train_panel.ds.max() < cutoff))
            return self

        def predict(self, p, windows):
            origin = pd.Timestamp(windows.origin.min())
            seen.append(("predict", p.ds.max() < origin and np.isnan(windows.target).all()
                         and (windows.trend == -1).all() and (windows.level == -1).all()))
            return np.zeros(windows.target.shape)

    forecast_windows(Spy(), panel, make_windows(panel, TASK, ORIGINS))
    assert seen and all(ok for _, ok in seen) and len(seen) == 2 * len(ORIGINS)


def test_forecast_windows_checks_the_shape(panel):
    class Wrong:
        name = "wrong"

        def fit(self, train_panel, cutoff):
            return self

        def predict(self, p, windows):
            return np.zeros((len(windows), 2))

    with pytest.raises(ValueError, match="shape"):
        forecast_windows(Wrong(), panel, make_windows(panel, TASK, ORIGINS))


def test_stats_falls_back_to_naive_with_a_warning(panel, monkeypatch, caplog):
    class Boom(AutoETS):
        def forecast(self, **_):
            raise RuntimeError("cannot fit")

    monkeypatch.setitem(stats.MODELS, "AutoETS", Boom)
    windows = make_windows(panel, TASK, [ORIGINS[0]])
    method = StatsForecaster("AutoETS", n_jobs=1)
    with caplog.at_level(logging.WARNING):
        fc = method.predict(panel, windows)
    assert method.n_fallback == len(windows)
    assert f"failed on {len(windows)} of {len(windows)}" in caplog.text
    np.testing.assert_array_equal(fc, np.repeat(windows.context[:, -1:], TASK.horizon, axis=1))


def test_mean_ensemble_averages(panel):
    windows = make_windows(panel, TASK, [ORIGINS[0]])
    ens = MeanEnsemble([make_baseline("naive", TASK), make_baseline("mean3", TASK)])
    expected = (make_baseline("naive", TASK).predict(panel, windows)
                + make_baseline("mean3", TASK).predict(panel, windows)) / 2
    np.testing.assert_allclose(ens.fit(panel, ORIGINS[0]).predict(panel, windows), expected)


def test_lag_features_are_relative_to_the_level(panel):
    windows = make_windows(panel, TASK, [ORIGINS[0]], context_length=24)
    X, level = lag_features(windows, n_lags=24, n_cov_lags=6)
    np.testing.assert_allclose(level, np.log1p(windows.scale))
    last = np.log1p(windows.context[:, -1]) - level
    np.testing.assert_allclose(X[:, 23], last)
    with pytest.raises(ValueError, match="context months"):
        lag_features(make_windows(panel, TASK, [ORIGINS[0]], context_length=6), 24, 6)


def test_lag_forecaster_needs_fit_and_training_data(panel):
    windows = make_windows(panel, TASK, [ORIGINS[0]])
    with pytest.raises(RuntimeError, match="fit"):
        ridge(TASK).predict(panel, windows)
    with pytest.raises(ValueError, match="no training window"):
        ridge(TASK).fit(panel, pd.Timestamp("2019-06-01"))


def test_naive_band_comes_from_the_series_own_past_changes():
    from tsfuse.eval.baselines.simple import naive_quantiles

    history = np.array([10.0, 12.0, 11.0, 15.0, 14.0])
    q = naive_quantiles(history, 2)
    one_step = np.quantile(np.diff(history), [0.1, 0.9])
    two_step = np.quantile(history[2:] - history[:-2], [0.1, 0.9])
    np.testing.assert_allclose(q[0], [14 + one_step[0], 14, 14 + one_step[1]])
    np.testing.assert_allclose(q[1], [14 + two_step[0], 14, 14 + two_step[1]])
    np.testing.assert_array_equal(naive_quantiles(np.array([3.0]), 2), [[3, 3, 3], [3, 3, 3]])


@pytest.mark.parametrize("name", ["naive", "lightgbm", "AutoETS"])
def test_interval_baselines_give_ordered_quantiles_whose_middle_is_the_value_forecast(name):
    panel = generate_panel(8, 40, covariates=("authors",), seed=4)
    windows = make_windows(panel, TASK, ORIGINS)
    result = forecast_windows(small(name), panel, windows)
    assert result.quantiles.shape == (*windows.target.shape, 3)
    assert (np.diff(result.quantiles, axis=-1) >= 0).all()
    np.testing.assert_array_equal(result.forecasts, result.quantiles[..., 1])
    assert forecast_windows(small("ridge"), panel, windows).quantiles is None


def test_band_around_keeps_the_value_forecast_and_widens_a_crossed_band():
    from tsfuse.eval.baselines.base import band_around

    out = band_around(np.array([5.0, 1.0]), np.array([4.0, 2.0]), np.array([3.0, 3.0]))
    np.testing.assert_array_equal(out, [[3.0, 4.0, 5.0], [1.0, 2.0, 3.0]])  # crossed bounds swapped, p50 kept
    np.testing.assert_array_equal(band_around(np.array([2.0]), np.array([1.0]), np.array([3.0])), [[1.0, 1.0, 3.0]])
