"""make_windows: no window ever sees a value at or after its origin; labels and eligibility follow BENCHMARK.md."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsfuse.data.tasks import TASKS
from tsfuse.data.windows import make_windows

BASE = pd.Timestamp("2020-01-01")
TASK = TASKS["oss-activity"]
PAST_FIELDS = ("context", "mask", "covariates", "scale", "age")


def month(k):
    return BASE + pd.DateOffset(months=int(k))


@st.composite
def panels(draw):
    """1-3 projects with random start, length, target and one covariate."""
    frames = []
    for i in range(draw(st.integers(1, 3))):
        start, n = draw(st.integers(0, 24)), draw(st.integers(1, 60))
        values = draw(st.lists(st.integers(0, 500), min_size=2 * n, max_size=2 * n))
        frames.append(pd.DataFrame({"unique_id": f"p/{i}", "ds": [month(start + k) for k in range(n)],
                                    "y": values[:n], "cov": values[n:]}).astype({"y": float, "cov": float}))
    return pd.concat(frames, ignore_index=True)


def windows(panel, origin, context, require_target=True):
    return make_windows(panel, TASK, [origin], context_length=context, require_target=require_target)


def assert_same_past(a, b):
    assert list(a.unique_id) == list(b.unique_id)
    for field in PAST_FIELDS:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


@settings(max_examples=60, deadline=None)
@given(panel=panels(), origin_k=st.integers(0, 90), context=st.sampled_from([6, 12, 24, 36]),
       seed=st.integers(0, 2**16))
def test_values_at_or_after_origin_never_reach_the_past(panel, origin_k, context, seed):
    origin = month(origin_k)
    future = (panel["ds"] >= origin).to_numpy()
    perturbed = panel.copy()
    noise = np.random.default_rng(seed).integers(0, 10_000, size=(int(future.sum()), 2)).astype(float)
    perturbed.loc[future, ["y", "cov"]] = noise
    assert_same_past(windows(panel, origin, context), windows(perturbed, origin, context))


@settings(max_examples=60, deadline=None)
@given(panel=panels(), origin_k=st.integers(0, 90), context=st.sampled_from([6, 24]))
def test_past_fields_identical_when_the_future_is_cut_off(panel, origin_k, context):
    origin = month(origin_k)
    cut = panel[panel["ds"] < origin]
    full = windows(panel, origin, context, require_target=False)
    if cut.empty:
        assert len(full) == 0
        return
    assert_same_past(full, windows(cut, origin, context, require_target=False))


@settings(max_examples=40, deadline=None)
@given(panel=panels(), origin_k=st.integers(0, 90))
def test_eligibility_is_12_months_before_and_6_after(panel, origin_k):
    origin = month(origin_k)
    got = set(windows(panel, origin, 24).unique_id)
    expected = {uid for uid, g in panel.groupby("unique_id")
                if (g["ds"] < origin).sum() >= 12 and g["ds"].max() >= origin + pd.DateOffset(months=5)}
    assert got == expected


def series(before, after, n_before=12, start="2022-01-01"):
    """A project with ``n_before`` months ending in ``before`` (last 3) and 6 months ``after``."""
    past = [1.0] * (n_before - len(before)) + list(before)
    values = past + list(after)
    return pd.DataFrame({"unique_id": "o/p", "ds": pd.date_range(start, periods=len(values), freq="MS"),
                         "y": values})


def origin_of(n_before=12, start="2022-01-01"):
    return pd.Timestamp(start) + pd.DateOffset(months=n_before)


@pytest.mark.parametrize("corpus, before, after, trend", [
    # d = log1p(mean of 3 after) - log1p(mean of 3 before); tau 0.2 (oss-activity) / 0.1 (opendigger)
    ("oss-activity", [10, 10, 10], [13, 13, 13], 2),  # d = log(14/11) = 0.241 > 0.2: up
    ("oss-activity", [10, 10, 10], [12, 12, 12], 1),  # 0.167: flat
    ("oss-activity", [10, 10, 10], [8, 8, 8], 0),  # -0.2007 < -0.2: down
    ("oss-activity", [0, 0, 0], [0, 0, 0], 1),
    ("oss-activity", [9, 10, 11], [0, 30, 0], 1),  # means 10 and 10
    ("opendigger", [500, 500, 500], [560, 560, 560], 2),  # 0.113 > 0.1: up
    ("opendigger", [500, 500, 500], [540, 540, 540], 1),  # 0.077: flat
    ("opendigger", [500, 500, 500], [450, 450, 450], 0),  # -0.105: down
])
def test_trend_label(corpus, before, after, trend):
    task = TASKS[corpus]
    w = make_windows(series(before, list(after) + [0, 0, 0]), task, [origin_of()])
    assert w.trend.tolist() == [trend]


@pytest.mark.parametrize("corpus, mean, level", [
    ("oss-activity", 0.9, 0), ("oss-activity", 1.0, 1), ("oss-activity", 9.9, 1), ("oss-activity", 10, 2),
    ("oss-activity", 49, 2), ("oss-activity", 50, 3), ("oss-activity", 199, 3), ("oss-activity", 200, 4),
    ("opendigger", 399, 0), ("opendigger", 400, 1), ("opendigger", 550, 2), ("opendigger", 749.5, 2),
    ("opendigger", 750, 3), ("opendigger", 1100, 4),
])
def test_level_label_uses_mean_of_first_3_months(corpus, mean, level):
    after = [mean * 0.5, mean * 1.5, mean, 10_000, 10_000, 10_000]  # months 4-6 do not count
    w = make_windows(series([5, 5, 5], after), TASKS[corpus], [origin_of()])
    assert w.level.tolist() == [level]


@pytest.mark.parametrize("n_before, n_after, eligible", [(12, 6, True), (11, 6, False), (12, 5, False), (30, 9, True)])
def test_eligibility_boundaries(n_before, n_after, eligible):
    panel = series([1, 1, 1], [1] * n_after, n_before=n_before)
    assert len(make_windows(panel, TASK, [origin_of(n_before)])) == int(eligible)


def test_window_contents():
    panel = series([4, 5, 6], [7, 8, 9, 10, 11, 12])
    panel["cov"] = panel["y"] * 2
    w = make_windows(panel, TASK, [origin_of()], context_length=15)
    assert w.context[0].tolist() == [0, 0, 0] + [1.0] * 9 + [4, 5, 6]
    assert w.mask[0].tolist() == [0] * 3 + [1] * 12
    assert w.covariates[0, -1, 0] == 12 and w.age.tolist() == [12]
    assert w.scale[0] == pytest.approx((9 + 15) / 12)
    assert w.target[0].tolist() == [7, 8, 9, 10, 11, 12]
    assert str(w.origin[0]) == "2023-01"
