"""The panel contract and its validation.

A *panel* is a long DataFrame with one row per (project, month):

- ``unique_id`` (str): the project, ``owner/name``;
- ``ds`` (datetime64): the month start;
- ``y`` (float): the target (commits for oss-activity, activity for opendigger);
- any further numeric column: a historical covariate (seen only up to the forecast origin).

Rows may come in any order: :func:`validate_panel` sorts them by (``unique_id``, ``ds``). Every
other break of the contract is a :class:`~tsfuse.errors.PanelError` (cases in ``docs/errors.md``).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from tsfuse.errors import PanelError

log = logging.getLogger(__name__)
ID, DS, Y = "unique_id", "ds", "y"
REQUIRED_COLUMNS = (ID, DS, Y)
MAX_VALUE = 1e15  # larger values are a unit mistake (and forecasts beyond ~1e38 overflow float32)


def _fail(msg: str) -> None:
    raise PanelError(msg)


def covariate_columns(panel: pd.DataFrame) -> list[str]:
    """Names of the covariate columns (everything except unique_id, ds, y)."""
    return [c for c in panel.columns if c not in REQUIRED_COLUMNS]


MISSING_SUFFIX = "_missing"  # covariate "<metric>_missing" = 1 where the source lacks <metric> for the month


class CheckedPanel(pd.DataFrame):
    """A panel as :func:`validate_panel` returns it: code that receives one does not check it again.

    Every pandas operation on it gives a plain DataFrame (``_constructor``), so a changed copy is
    checked again where it comes back in.
    """

    @property
    def _constructor(self):
        return pd.DataFrame


def ensure_checked(panel: pd.DataFrame) -> CheckedPanel:
    """``panel`` itself when :func:`validate_panel` already checked it, else ``validate_panel(panel)``."""
    return panel if isinstance(panel, CheckedPanel) else validate_panel(panel)


def validate_panel(panel: pd.DataFrame, *, allow_negative: bool = False) -> CheckedPanel:
    """Check a panel and return it with ``ds`` as month-start timestamps, sorted by (unique_id, ds).

    Raises :class:`PanelError` naming the column / row and what to do for: a non-DataFrame,
    an empty frame, missing or repeated columns, unparsable or non-month-start dates, months after
    the current one, duplicate months, gaps, non-numeric / NaN / infinite / negative / huge values.
    Unsorted rows are not an error: they are sorted.
    """
    if not isinstance(panel, pd.DataFrame):
        _fail(f"expected a pandas DataFrame with columns {list(REQUIRED_COLUMNS)}, got {type(panel).__name__}")
    if panel.empty:
        _fail("the panel is empty: give at least one row per month of history "
              f"with columns {list(REQUIRED_COLUMNS)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in panel.columns]
    if missing:
        _fail(f"missing column(s) {missing}; a panel needs {list(REQUIRED_COLUMNS)} "
              f"(got {list(panel.columns)}). Rename your date column to 'ds' and the target to 'y'.")
    repeated = sorted({str(c) for c in panel.columns[panel.columns.duplicated()]})
    if repeated:
        _fail(f"column(s) {repeated} appear more than once; keep one column per name")
    df = panel.copy()
    df[ID] = df[ID].astype(str)
    ds = _parse_dates(df[DS])
    if ds.isna().any():
        row = int(np.flatnonzero(ds.isna().to_numpy())[0])
        _fail(f"column 'ds' is missing (NaT) at row {row}; every row needs its month")
    if getattr(ds.dt, "tz", None) is not None:
        ds = ds.dt.tz_convert("UTC").dt.tz_localize(None)
    ds = _month_ends_to_starts(ds)
    not_month_start = ~ds.dt.is_month_start | (ds.dt.normalize() != ds)
    if not_month_start.any():
        row = int(np.flatnonzero(not_month_start.to_numpy())[0])
        _fail(f"column 'ds' must hold month starts (monthly data); row {row} has {ds.iloc[row]}. "
              "Sum to months first, e.g. df = df.groupby(['unique_id', df['ds'].dt.to_period('M')"
              ".dt.to_timestamp()]).sum(numeric_only=True).reset_index()")
    _check_not_future(ds)
    df[DS] = ds
    for col in [Y, *covariate_columns(df)]:
        _check_numeric(df, col, allow_negative=allow_negative)
    dup = df.duplicated([ID, DS], keep=False)
    if dup.any():
        row = df[dup].iloc[0]
        _fail(f"duplicate month {row[DS]:%Y-%m} for project {row[ID]!r} ({int(dup.sum())} duplicated rows); "
              "keep one row per project and month (sum or drop duplicates)")
    df = df.sort_values([ID, DS], kind="stable").reset_index(drop=True)
    _check_no_gaps(df)
    return CheckedPanel(df)


def _month_ends_to_starts(ds: pd.Series) -> pd.Series:
    """Month-end dates (what ``df.resample("ME")`` gives) as the starts of their months, with a log
    line; any other date is left for the month-start check."""
    end = ds.dt.is_month_end & (ds.dt.normalize() == ds) & ~ds.dt.is_month_start
    if not end.any():
        return ds
    log.info("column 'ds': %d month-end date(s) (as df.resample('ME') gives) read as the start of their month",
             int(end.sum()))
    return ds.where(~end, ds.dt.to_period("M").dt.to_timestamp())


def _parse_dates(col: pd.Series) -> pd.Series:
    """``col`` as datetimes: pandas' inferred format, else ISO 8601 per value (e.g. dates mixed with
    date-times); a PanelError naming the first value that is not a date."""
    for fmt in (None, "ISO8601"):
        try:
            return pd.to_datetime(col, errors="raise", format=fmt)
        except (ValueError, TypeError):
            continue
    for row, value in enumerate(col):
        try:
            pd.to_datetime(value, format="ISO8601")
        except (ValueError, TypeError):
            _fail(f"column 'ds' has a value that is not a date: {value!r} at row {row}. "
                  "Use month starts like '2024-01-01'.")
    _fail("column 'ds' mixes date formats or time zones; convert it with pd.to_datetime first")


def _check_not_future(ds: pd.Series) -> None:
    """No month after the current (UTC) one: a history cannot hold months that have not begun."""
    current = pd.Timestamp.now(tz="UTC").tz_localize(None).to_period("M").to_timestamp()
    future = (ds > current).to_numpy()
    if future.any():
        row = int(np.flatnonzero(future)[0])
        _fail(f"column 'ds' has {ds.iloc[row]:%Y-%m} at row {row}, after the current month {current:%Y-%m}; "
              "a history holds past months only: drop the future rows")


def _check_numeric(df: pd.DataFrame, col: str, *, allow_negative: bool) -> None:
    kind = getattr(df[col].dtype, "kind", "O")
    if kind in "mMc":
        _fail(f"column {col!r} must hold real numbers, got dtype {df[col].dtype}; convert it to float")
    _check_no_text_or_booleans(df, col, kind)
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() & df[col].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        _fail(f"column {col!r} must be numeric; row {row} has {df[col].iloc[row]!r}")
    arr = values.to_numpy(dtype=float)
    if np.isnan(arr).any():
        row = int(np.flatnonzero(np.isnan(arr))[0])
        _fail(f"column {col!r} has NaN at row {row} (project {df[ID].iloc[row]!r}); "
              "fill months without activity with 0")
    if np.isinf(arr).any():
        row = int(np.flatnonzero(np.isinf(arr))[0])
        _fail(f"column {col!r} has an infinite value at row {row}")
    if (np.abs(arr) > MAX_VALUE).any():
        row = int(np.flatnonzero(np.abs(arr) > MAX_VALUE)[0])
        _fail(f"column {col!r} has {arr[row]:g} at row {row}, beyond +-{MAX_VALUE:g}; activity counts are never "
              "that large: check the column's units")
    if not allow_negative and (arr < 0).any():
        row = int(np.flatnonzero(arr < 0)[0])
        _fail(f"column {col!r} has a negative value {arr[row]} at row {row} (project {df[ID].iloc[row]!r}); "
              "activity counts cannot be negative")
    df[col] = arr


def _check_no_text_or_booleans(df: pd.DataFrame, col: str, kind: str) -> None:
    """Booleans and text are not counts: refused, even where they would parse (True as 1, "5" as 5)."""
    values = df[col]
    if kind == "b":
        _fail(f"column {col!r} holds booleans (dtype bool); tsfuse forecasts counts. If True means one event, "
              f"convert it explicitly: df[{col!r}] = df[{col!r}].astype(int)")
    if kind != "O":
        return
    odd = values.map(lambda v: isinstance(v, (str, bytes, bool, np.bool_))).to_numpy()
    if odd.any():
        row = int(np.flatnonzero(odd)[0])
        value = values.iloc[row]
        what = "a boolean" if isinstance(value, (bool, np.bool_)) else "text"
        _fail(f"column {col!r} must be numeric; row {row} has {value!r} ({what}). Convert the column first, "
              f"e.g. df[{col!r}] = pd.to_numeric(df[{col!r}]) (which names any value that is not a number)")


def _check_no_gaps(df: pd.DataFrame) -> None:
    periods = df[DS].dt.to_period("M").astype("int64")
    step = periods.groupby(df[ID]).diff().dropna()
    gaps = step[step != 1]
    if len(gaps):
        row = gaps.index[0]
        _fail(f"project {df[ID].iloc[row]!r} has a gap before {df[DS].iloc[row]:%Y-%m}: "
              "months must be consecutive; add the missing months with y=0")
