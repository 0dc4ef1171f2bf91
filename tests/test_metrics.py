import numpy as np
import pandas as pd
import pytest

from tsfuse.data import get_task, make_windows
from tsfuse.data.synthetic import generate_panel
from tsfuse.eval.metrics import (
    accuracy, macro_f1, mase, mase_scale, paired_bootstrap_ci, rmsle, score, smape, summarize,
)


def test_mase_hand_computed():
    # lag-1 diffs of [1, 3, 2, 5]: 2, 1, 3 -> scale 2; MAE of [4, 6] vs [5, 3]: 2
    assert mase([1, 3, 2, 5], [4, 6], [5, 3]) == pytest.approx(1.0)


def test_mase_zero_scale_is_one_and_negative_forecast_clipped():
    assert mase_scale([4, 4, 4]) == 1.0
    assert mase([4, 4, 4], [1], [3]) == pytest.approx(2.0)
    assert mase([0, 2], [0, 6], [-2, 6]) == 0.0


def test_smape_zero_over_zero_is_zero():
    # terms: both 0 -> 0; 2*20/40 = 1; 2*5/5 = 2 -> mean 1 -> 100
    assert smape([0, 10, 0], [0, 30, 5]) == pytest.approx(100.0)
    assert smape([0, 0], [-3, 0]) == 0.0
    assert smape([0], [7]) == pytest.approx(200.0)


def test_rmsle_hand_computed():
    e1 = np.e - 1
    assert rmsle([0, e1], [e1, e1]) == pytest.approx(np.sqrt(0.5))
    assert rmsle([3, 4], [3, 4]) == 0.0


def test_value_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        smape([1, 2], [1])
    with pytest.raises(ValueError, match="NaN"):
        rmsle([1, np.nan], [1, 2])


def test_macro_f1_over_present_classes():
    # class 0: P 1, R 1/2 -> 2/3; class 1: P 2/3, R 1 -> 4/5; class 2 absent everywhere
    assert macro_f1([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx((2 / 3 + 0.8) / 2)
    # a class only predicted counts with F1 0
    assert macro_f1([0, 0], [0, 2]) == pytest.approx(1 / 3)
    assert accuracy([0, 0, 1, 1], [0, 1, 1, 1]) == 0.75


def test_paired_bootstrap_ci():
    b = np.arange(50.0)
    assert paired_bootstrap_ci(b + 1, b) == pytest.approx((1.0, 1.0, 1.0))
    rng = np.random.default_rng(1)
    a = rng.normal(0.5, 1, 300)
    mean, lo, hi = paired_bootstrap_ci(a, np.zeros(300))
    assert lo < mean < hi and mean == pytest.approx(a.mean())
    # the percentile interval is about the normal one: mean +- 1.96 standard errors
    assert hi - lo == pytest.approx(2 * 1.96 * a.std() / np.sqrt(len(a)), rel=0.15)
    assert paired_bootstrap_ci(a, np.zeros(300), seed=3) == paired_bootstrap_ci(a, np.zeros(300), seed=3)
    with pytest.raises(ValueError):
        paired_bootstrap_ci([], [])


@pytest.fixture
def scored():
    task = get_task("oss-activity")
    panel = generate_panel(n_series=6, n_months=48, start="2020-01")
    windows = make_windows(panel, task, [pd.Timestamp("2022-07-01"), pd.Timestamp("2023-01-01")])
    fc = np.repeat(windows.context[:, -1:], task.horizon, axis=1)
    return panel, windows, fc, task


def test_score_rows_use_the_whole_history_for_mase(scored):
    panel, windows, fc, task = scored
    rows = score(panel, windows, fc, task)
    assert list(rows.columns) == ["unique_id", "origin", "mase", "smape", "rmsle",
                                  "trend_true", "trend_pred", "level_true", "level_pred"]
    assert len(rows) == len(windows)
    uid, origin = windows.unique_id[0], pd.Timestamp(windows.origin[0])
    g = panel[panel.unique_id == uid]
    full = g.loc[g.ds < origin, "y"].to_numpy()
    assert rows.mase[0] == pytest.approx(mase(full, windows.target[0], fc[0]))
    np.testing.assert_array_equal(rows.trend_true, windows.trend)


def test_score_takes_class_predictions_when_given(scored):
    panel, windows, fc, task = scored
    ones = np.ones(len(windows), dtype=int)
    rows = score(panel, windows, fc, task, trend_pred=ones, level_pred=ones * 4)
    assert (rows.trend_pred == 1).all() and (rows.level_pred == 4).all()
    with pytest.raises(ValueError, match="shape"):
        score(panel, windows, fc[:, :3], task)


def test_summarize(scored):
    panel, windows, fc, task = scored
    rows = score(panel, windows, fc, task)
    s = summarize(rows)
    assert s["windows"] == len(windows) and s["projects"] == len(set(windows.unique_id))
    assert s["mase_mean"] == pytest.approx(rows.mase.mean())
    assert s["mase_median"] == pytest.approx(rows.mase.median())
    assert 0 <= s["trend_f1"] <= 1 and 0 <= s["level_acc"] <= 1
    assert set(s) == {"mase_mean", "mase_median", "smape", "rmsle", "trend_f1", "trend_acc",
                      "level_f1", "level_acc", "windows", "projects"}


def test_scaled_quantile_loss_and_interval_hits_on_a_worked_example():
    from tsfuse.eval.metrics import interval_hits, scaled_quantile_loss

    history = np.array([0.0, 2.0, 4.0])  # MASE scale 2
    actual = np.array([10.0, 10.0])
    q = np.array([[8.0, 10.0, 12.0], [11.0, 12.0, 14.0]])  # step 1 covers, step 2 is above the truth
    # pinball: step 1: 0.1*2, 0, 0.1*2 (q90: (0.9-1)*(-2)); step 2: 0.9*1, 0.5*2, 0.1*4
    expected = 2 * np.mean([0.2, 0.0, 0.2, 0.9, 1.0, 0.4]) / 2.0
    assert scaled_quantile_loss(history, actual, q) == pytest.approx(expected)
    np.testing.assert_array_equal(interval_hits(actual, q[:, 0], q[:, 2]), [1.0, 0.0])
    with pytest.raises(ValueError, match=r"expected \(2, 3\)"):
        scaled_quantile_loss(history, actual, q[:, :2])
