"""validate_panel: every kind of bad input gets its own clear message."""

import numpy as np
import pandas as pd
import pytest

from tsfuse.data.schema import PanelError, covariate_columns, validate_panel


def good():
    return pd.DataFrame({
        "unique_id": ["b/two", "b/two", "a/one", "a/one", "a/one"],
        "ds": ["2023-02-01", "2023-03-01", "2023-01-01", "2023-02-01", "2023-03-01"],
        "y": [1, 2, 3, 4, 5],
        "stars": [0.5, 1, 2, 3, 4],
    })


def with_value(column, row, value):
    df = good()
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    return df


def test_good_panel_is_sorted_and_typed():
    panel = validate_panel(good())
    assert panel["unique_id"].tolist() == ["a/one"] * 3 + ["b/two"] * 2
    assert str(panel["ds"].dtype) == "datetime64[ns]" and panel["y"].dtype == float
    assert covariate_columns(panel) == ["stars"]


def test_timezone_aware_month_starts_are_accepted():
    df = good()
    df["ds"] = pd.to_datetime(df["ds"]).dt.tz_localize("UTC")
    assert validate_panel(df)["ds"].dt.tz is None


@pytest.mark.parametrize("bad, message", [
    (lambda: [1, 2], r"expected a pandas DataFrame"),
    (lambda: good().iloc[:0], r"the panel is empty"),
    (lambda: good().drop(columns=["y"]), r"missing column\(s\) \['y'\]"),
    (lambda: good().rename(columns={"ds": "month"}), r"missing column\(s\) \['ds'\].*Rename your date column"),
    (lambda: with_value("ds", 1, "March"), r"column 'ds' has a value that is not a date: 'March'"),
    (lambda: with_value("ds", 1, None), r"column 'ds' is missing \(NaT\) at row 1"),
    (lambda: with_value("ds", 1, "2023-03-15"), r"must hold month starts \(monthly data\); row 1"),
    (lambda: with_value("ds", 1, "2023-03-01 12:00"), r"must hold month starts"),
    (lambda: with_value("ds", 1, "2023-02-01"), r"duplicate month 2023-02 for project 'b/two'"),
    (lambda: with_value("ds", 4, "2023-04-01"), r"project 'a/one' has a gap before 2023-04"),
    (lambda: with_value("y", 2, -1), r"column 'y' has a negative value -1.0 at row 2 \(project 'a/one'\)"),
    (lambda: with_value("y", 2, np.nan), r"column 'y' has NaN at row 2 .*fill months without activity with 0"),
    (lambda: with_value("stars", 3, "lots"), r"column 'stars' must be numeric; row 3 has 'lots'"),
    (lambda: with_value("stars", 3, np.inf), r"column 'stars' has an infinite value at row 3"),
])
def test_each_bad_input_has_its_own_message(bad, message):
    with pytest.raises(PanelError, match=message):
        validate_panel(bad())


def test_negative_values_allowed_on_request():
    assert validate_panel(with_value("y", 2, -1), allow_negative=True)["y"].min() == -1


def test_the_hint_for_daily_data_is_a_one_liner_that_works():
    days = pd.date_range("2020-01-01", "2020-06-30", freq="D")
    df = pd.DataFrame({"unique_id": "a/b", "ds": days, "y": 1.0})
    with pytest.raises(PanelError) as caught:
        validate_panel(df)
    hint = str(caught.value).split("e.g. ", 1)[1]
    df = eval(hint.split("df = ", 1)[1], {"df": df, "pd": pd})  # the hint's right-hand side, as printed
    panel = validate_panel(df)
    assert panel["y"].tolist() == [31.0, 29.0, 31.0, 30.0, 31.0, 30.0]


def test_booleans_and_numeric_text_are_refused_not_converted():
    df = pd.DataFrame({"unique_id": "a/b", "ds": pd.date_range("2020-01-01", periods=3, freq="MS"),
                       "y": [True, False, True]})
    with pytest.raises(PanelError, match=r"holds booleans .*\.astype\(int\)"):
        validate_panel(df)
    with pytest.raises(PanelError, match=r"row 1 has True \(a boolean\)"):
        validate_panel(df.assign(y=pd.Series([1.0, True, 2.0], dtype=object)))
