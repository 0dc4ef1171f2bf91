"""Random frames and README texts: tsfuse answers with a valid result or one of its own errors, nothing else.

"Its own errors" are :class:`tsfuse.TsfuseError` and the two ``TypeError`` of ``fit``'s argument
checks (:data:`OWN_TYPE_ERRORS`). Frames are built as monthly histories and then broken in one
of many ways (dates, values, columns, projects), so both the error paths and the valid path run.
NumPy warnings (an overflow, an invalid value) fail the test too. Each test tries
``TSFUSE_FUZZ_EXAMPLES`` examples (default 25, a few seconds); set it higher for a longer search.
"""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import tsfuse
from tests.conftest import TINY_MODEL, TINY_TRAIN
from tests.model.test_estimator import _check_forecast
from tsfuse.estimator import Forecaster
from tsfuse.text import TextEncoder

OWN_TYPE_ERRORS = ("project_df must be a pandas DataFrame", "readme_text must be a str")
FUZZ = settings(max_examples=int(os.environ.get("TSFUSE_FUZZ_EXAMPLES", "25")), deadline=None,
               suppress_health_check=[HealthCheck.too_slow])
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

DATES = ["monthly"] * 4 + ["shuffled", "daily", "duplicate", "gap", "text", "integers", "mid-month", "NaT"]
VALUES = ["counts"] * 3 + ["scaled counts"] * 2 + ["floats", "text", "mixed", "booleans", "datetimes"]
COLUMNS = ["as is"] * 4 + ["no ds", "no y", "repeated y", "covariate", "two projects", "renamed"]

values = st.one_of(st.floats(width=64), st.integers(-5, 10**6), st.text(max_size=3), st.none(), st.booleans())


@st.composite
def frames(draw) -> pd.DataFrame:
    """A monthly history of 0..40 months, then one way of breaking it (or none)."""
    n = draw(st.integers(0, 40))
    start = draw(st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 1))).replace(day=1)
    ds = pd.Series(pd.date_range(start, periods=n, freq="MS"), dtype="datetime64[ns]").astype(object)
    ds = _break_dates(draw, draw(st.sampled_from(DATES)), ds)
    frame = pd.DataFrame({"ds": ds.to_numpy(), "y": _values(draw, draw(st.sampled_from(VALUES)), n)})
    return _break_columns(draw, draw(st.sampled_from(COLUMNS)), frame)


def _break_dates(draw, how: str, ds: pd.Series) -> pd.Series:
    n = len(ds)
    if how == "monthly" or n < 2:
        return ds
    row = draw(st.integers(0, n - 1))
    if how == "shuffled":
        return ds.sample(frac=1, random_state=draw(st.integers(0, 9))).reset_index(drop=True)
    if how == "daily":
        return pd.Series(pd.date_range(ds.iloc[0], periods=n, freq="D"))
    if how == "duplicate":
        return ds.where(ds.index != row, ds.iloc[(row + 1) % n])
    if how == "gap":
        return pd.concat([ds.iloc[:row], ds.iloc[row:] + pd.DateOffset(months=1)])
    if how == "integers":
        return pd.Series(draw(st.lists(st.integers(-10**12, 10**12), min_size=n, max_size=n)))
    if how == "mid-month":
        return ds.where(ds.index != row, ds.iloc[row] + pd.Timedelta(days=14))
    replacement = draw(st.text(max_size=10)) if how == "text" else None
    return ds.where(ds.index != row, replacement)


def _values(draw, how: str, n: int) -> list:
    if how in ("counts", "scaled counts"):
        scale = 10.0 ** draw(st.integers(-300, 300)) if how == "scaled counts" else 1.0
        return [c * scale for c in draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n))]
    if how == "floats":
        return draw(st.lists(st.floats(width=64), min_size=n, max_size=n))
    if how == "booleans":
        return draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if how == "datetimes":
        return list(pd.date_range("2000-01-01", periods=n, freq="D"))
    return draw(st.lists(values, min_size=n, max_size=n))


def _break_columns(draw, how: str, frame: pd.DataFrame) -> pd.DataFrame:
    if how == "no ds":
        return frame.drop(columns="ds")
    if how == "no y":
        return frame.drop(columns="y")
    if how == "repeated y":
        return pd.concat([frame, frame[["y"]]], axis=1)
    if how == "covariate":
        return frame.assign(stars=draw(st.lists(values, min_size=len(frame), max_size=len(frame))))
    if how == "two projects":
        return pd.concat([frame.assign(unique_id="a/one"), frame.assign(unique_id="b/two")], ignore_index=True)
    if how == "renamed":
        return frame.rename(columns={"ds": draw(st.sampled_from(["date", "DS", " ds"]))})
    return frame


texts = st.one_of(st.text(max_size=300), st.binary(max_size=300), st.none(),
                  st.sampled_from(["", "# Demo\n\nthe python data library", "\x00binary", "word " * 4_100]),
                  st.integers())


@pytest.fixture(scope="module")
def model_dir(panel, task, tiny_bert_dir, tmp_path_factory):
    """A tiny saved model with a (tiny) text tower, so README texts reach an encoder."""
    model = Forecaster.pretrain(panel, {}, task, preset="light", text_encoder=TextEncoder(tiny_bert_dir),
                                model={**TINY_MODEL, "text_model": str(tiny_bert_dir)}, train=TINY_TRAIN)
    return model.save(tmp_path_factory.mktemp("fuzz") / "tiny")


@pytest.fixture(scope="module")
def model(model_dir):
    return tsfuse.load(model_dir)


def _own_error(exc: Exception) -> bool:
    return isinstance(exc, tsfuse.TsfuseError) or (
        type(exc) is TypeError and str(exc).startswith(OWN_TYPE_ERRORS))


@FUZZ
@given(frame=frames())
def test_validate_panel_returns_a_valid_panel_or_a_panel_error(frame):
    try:
        panel = tsfuse.validate_panel(frame.assign(unique_id="a/one") if "unique_id" not in frame else frame)
    except tsfuse.PanelError as exc:
        event(f"PanelError: {str(exc)[:30]}")
        return
    event("valid panel")
    assert panel["ds"].dt.is_month_start.all() and not panel.duplicated(["unique_id", "ds"]).any()
    assert panel["ds"].max() <= pd.Timestamp.now()
    assert panel.equals(panel.sort_values(["unique_id", "ds"]).reset_index(drop=True))
    months = panel["ds"].dt.to_period("M").astype("int64").groupby(panel["unique_id"]).diff().dropna()
    assert (months == 1).all()
    numbers = panel.drop(columns=["unique_id", "ds"]).to_numpy(dtype=float)
    assert np.isfinite(numbers).all() and (numbers >= 0).all()


@FUZZ
@given(frame=frames(), text=texts, finetune=st.booleans())
def test_fit_returns_a_forecaster_or_its_own_error(model_dir, frame, text, finetune):
    try:
        fitted = tsfuse.fit(frame, text, pretrained=str(model_dir), finetune=finetune, max_epochs=1)
    except Exception as exc:  # noqa: BLE001 - the point: which exceptions come out
        assert _own_error(exc), f"{type(exc).__name__}: {exc}"
        event(f"{type(exc).__name__}: {str(exc)[:30]}")
        return
    event("fitted")
    _check_forecast(fitted.predict(), 1)


@FUZZ
@given(frame=frames(), text=st.text(max_size=300))
def test_predict_returns_a_forecast_or_its_own_error(model, frame, text):
    frame = frame.assign(unique_id="a/one") if "unique_id" not in frame else frame
    try:
        table = model.predict(frame, texts={"a/one": text})
    except Exception as exc:  # noqa: BLE001 - the point: which exceptions come out
        assert _own_error(exc), f"{type(exc).__name__}: {exc}"
        event(f"{type(exc).__name__}: {str(exc)[:30]}")
        return
    event("forecast")
    _check_forecast(table, frame["unique_id"].nunique())
