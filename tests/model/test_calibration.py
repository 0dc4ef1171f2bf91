"""Post-hoc calibration (``TrainConfig.calibrate``): the band factor per step is split conformal, the
class rule is chosen by validation macro-F1, it reads no month at or after the cut-off, it is saved
with the model, and it is off by default."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tests.conftest import TINY_MODEL
from tsfuse.data.synthetic import generate_panel
from tsfuse.data.tasks import get_task
from tsfuse.estimator import Forecaster
from tsfuse.data.windows import make_windows
from tsfuse.train.calibration import (Calibration, ClassRule, _band_factor, _best_rule, expected_value,
                                     implied_classes, scale_band)

TRAIN = {"max_epochs": 2, "progress_bar": False, "logger": "none", "batch_size": 64, "patience": 10}


def test_the_band_factor_makes_the_outer_band_cover_its_nominal_share():
    rng = np.random.default_rng(0)
    n = 2000
    target = rng.normal(0.0, 2.0, n)  # the truth is twice as wide as the band below says
    q = np.stack([np.full(n, -1.2816), np.zeros(n), np.full(n, 1.2816)], -1)  # N(0, 1)'s p10 / p50 / p90
    factor = _band_factor(q, target, 0.8)
    assert factor == pytest.approx(2.0, rel=0.08)
    scaled = scale_band(q[:, None, :], np.array([factor]))[:, 0]
    inside = ((target >= scaled[:, 0]) & (target <= scaled[:, 2])).mean()
    assert 0.8 <= inside <= 0.81  # split conformal: at least nominal, by at most one window over
    assert np.array_equal(scaled[:, 1], q[:, 1])  # the median stays


def test_the_band_factor_ignores_unobserved_months_and_leaves_thin_steps_alone(caplog):
    q = np.tile([-1.0, 0.0, 1.0], (30, 1))
    target = np.full(30, np.nan)
    target[:5] = 3.0
    assert _band_factor(q, target, 0.8) == 1.0
    assert "only 5 observed validation target" in caplog.text


def test_the_class_rule_is_the_validation_macro_f1_winner_and_the_identity_on_ties():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)
    weights = torch.ones(3)
    logits = rng.normal(size=(300, 3))  # an uninformative head
    rule, before, after = _best_rule(logits, weights, labels.copy(), labels, 3)  # the values imply the truth
    assert rule.value_weight == 1.0 and after == 1.0 and before < 0.5
    perfect = np.eye(3)[labels] * 10.0
    rule, before, after = _best_rule(perfect, weights, (labels + 1) % 3, labels, 3)
    assert rule == ClassRule() and before == after == 1.0


def test_the_expected_value_weights_each_quantile_by_its_probability_cell():
    q = np.array([[[0.0, 2.0, 10.0]]])  # right-skewed: p10 / p50 / p90
    assert expected_value(q, (0.1, 0.5, 0.9))[0, 0] == pytest.approx(0.3 * 0 + 0.4 * 2 + 0.3 * 10)
    q5 = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    weights = np.array([0.175, 0.2, 0.25, 0.2, 0.175])  # cells cut halfway between 0.05, 0.4, 0.5, 0.6, 0.95
    assert expected_value(q5, (0.05, 0.4, 0.5, 0.6, 0.95))[0, 0] == pytest.approx(q5[0, 0] @ weights)
    rng = np.random.default_rng(2)  # on a log-normal's true quantiles it is near the mean, the median far below
    draws = np.exp(rng.normal(1.0, 0.8, 200_000))
    quantiles = np.quantile(draws, [0.1, 0.5, 0.9])[None, None]
    assert abs(expected_value(quantiles, (0.1, 0.5, 0.9))[0, 0] - draws.mean()) < 0.05 * draws.mean()
    assert quantiles[0, 0, 1] < 0.8 * draws.mean()


def test_the_value_implied_level_reads_the_forecast_mean_not_its_median():
    task = get_task("oss-activity")  # level edges 1, 10, 50, 200 on the mean of the first 3 months
    windows = make_windows(generate_panel(1, 40, seed=0), task, [pd.Timestamp("2021-06-01")])
    assert len(windows) == 1
    q = np.tile(np.array([0.0, 8.0, 20.0]), (len(windows), task.horizon, 1))  # median 8, mean 0.4*8+0.3*20 = 9.2
    point = expected_value(q, (0.1, 0.5, 0.9))
    assert implied_classes(windows, q[..., 1], task)["level"][0] == 1  # 1-<10 from the median
    q[..., 2] = 40.0  # a wider upper tail: mean 15.2, the median still 8
    assert implied_classes(windows, expected_value(q, (0.1, 0.5, 0.9)), task)["level"][0] == 2
    assert implied_classes(windows, point, task)["level"][0] == 1


def test_a_calibration_saved_before_implied_from_existed_keeps_reading_the_median():
    q = np.array([[[0.0, 2.0, 10.0]]])
    old = Calibration.from_dict({"band_scale": [1.0], "level": {"adjustment": 1.0, "value_weight": 0.4}})
    assert old.implied_from == "median" and old.point(q, (0.1, 0.5, 0.9))[0, 0] == 2.0
    new = Calibration.from_dict(Calibration(band_scale=(1.0,)).to_dict())
    assert new.implied_from == "mean" and new.point(q, (0.1, 0.5, 0.9))[0, 0] == pytest.approx(3.8)
    with pytest.raises(ValueError, match="implied_from must be 'mean' or 'median'"):
        Calibration.from_dict({"implied_from": "mode"})


def test_calibration_is_off_by_default_and_saved_and_applied_when_on(tmp_path):
    panel = generate_panel(8, 48, covariates=("authors",), seed=3)
    task = get_task("oss-activity")
    plain = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train=TRAIN)
    assert plain.calibration is None and "calibration" not in plain.info
    calibrated = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL,
                                     train={**TRAIN, "calibrate": True})
    cal = calibrated.calibration
    assert len(cal.band_scale) == task.horizon and cal.diagnostics["validation_windows"] > 0
    # the same seed trains the same weights; only the forecasts' post-processing differs
    assert all(torch.equal(a, b) for a, b in zip(plain.module.state_dict().values(),
                                                  calibrated.module.state_dict().values()))
    origin = panel["ds"].max() - pd.DateOffset(months=5)
    windows, got = calibrated.backtest(panel, [origin], min_history=3)
    _, raw = plain.backtest(panel, [origin], min_history=3)
    assert len(windows) == 8 and np.allclose(got["quantiles"][..., 1], raw["quantiles"][..., 1])  # same medians
    unclipped = (got["quantiles"][..., 0] > 0) & (raw["quantiles"][..., 0] > 0)  # counts are clipped at 0
    spread = lambda out: np.log1p(out["quantiles"][..., 2]) - np.log1p(out["quantiles"][..., 0])  # noqa: E731
    ratio = spread(got) / spread(raw)
    expected = np.broadcast_to(np.asarray(cal.band_scale), ratio.shape)
    assert unclipped.sum() > 10 and np.allclose(ratio[unclipped], expected[unclipped], rtol=1e-3)
    assert np.allclose(got["level_proba"].sum(1), 1.0) and np.allclose(got["trend_proba"].sum(1), 1.0)
    calibrated.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    assert loaded.calibration == cal
    assert np.allclose(loaded.backtest(panel, [origin], min_history=3)[1]["quantiles"], got["quantiles"])


def test_the_calibration_never_reads_months_at_or_after_the_cut_off():
    panel = generate_panel(8, 48, covariates=("authors",), seed=3)
    cut = panel["ds"].max() - pd.DateOffset(months=8)
    changed = panel.copy()
    late = changed["ds"] >= cut
    changed.loc[late, "y"] = changed.loc[late, "y"] * 7 + 100  # the future rewritten
    fit = lambda p: Forecaster.pretrain(p, {}, get_task("oss-activity"), preset="light", model=TINY_MODEL,  # noqa: E731
                                        before=cut, train={**TRAIN, "calibrate": True}).calibration
    a, b = fit(panel), fit(changed)
    assert a.diagnostics["validation_windows"] > 0 and a == b
    # and the calibration does read the validation months: rewriting those changes it
    val = (panel["ds"] >= cut - pd.DateOffset(months=6)) & ~late
    early = panel.copy()
    early.loc[val, "y"] = early.loc[val, "y"] * 7 + 100
    assert fit(early) != a
