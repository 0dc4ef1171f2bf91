"""Per-commit rows -> monthly panel: the oss-activity series rules (BENCHMARK.md v1), in one place.

Rules, applied per project:

- a commit counts in the month (UTC) of its ``authored_at``;
- commits authored before 1995-01 (bogus clocks) or after the snapshot are ignored, as if absent;
- the series starts at the first month with any commit (merges included) and runs without gaps
  (a month without commits is 0) up to the month *before* the one containing the snapshot: that
  month is incomplete and dropped;
- ``y`` = non-merge commits; ``authors`` = distinct authors of non-merge commits; ``new_authors`` =
  authors whose first commit of any kind (merges included) falls in the month; ``churn`` =
  insertions + deletions of non-merge commits; ``merges`` = merge commits; ``releases`` = tags by
  ``tagged_at`` month.

The snapshot defaults to the latest ``authored_at`` in the data (over all projects), so the month
of the newest commit is treated as incomplete and dropped.
"""

from __future__ import annotations

import warnings
from typing import Mapping

import numpy as np
import pandas as pd

from tsfuse.data.schema import DS, ID, Y, PanelError

COVARIATES = ("authors", "new_authors", "churn", "merges", "releases")
COMMIT_COLUMNS = ("authored_at", "author_id", "is_merge", "insertions", "deletions")
TAG_COLUMNS = ("tagged_at",)
FIRST_MONTH = pd.Timestamp("1995-01-01")

Snapshot = str | pd.Timestamp | Mapping[str, "str | pd.Timestamp"] | pd.Series | None


def from_commits(
    commits: pd.DataFrame,
    tags: pd.DataFrame | None = None,
    *,
    snapshot: Snapshot = None,
    unique_id: str | None = None,
) -> pd.DataFrame:
    """Monthly panel (``unique_id, ds, y`` + :data:`COVARIATES`) from one row per commit.

    ``commits`` needs ``authored_at, author_id, is_merge, insertions, deletions`` and ``project``
    (unless ``unique_id`` names the single project); ``tags`` needs ``tagged_at`` (+ ``project``).
    ``snapshot``: when the history was read (a timestamp, or a mapping project -> timestamp);
    its month is dropped as incomplete. Default: the latest ``authored_at`` in ``commits``.
    """
    c, names = _commit_table(commits, unique_id)
    snap = _snapshot_months(snapshot, c["month"], names)
    c = c[(c["month"] >= _month(FIRST_MONTH)) & (c["month"] < snap[c["pid"]])]
    if c.empty:
        raise PanelError("no commit falls in a complete month: every commit is before 1995-01 or in/after the "
                         "snapshot month; pass an earlier-starting history or a later snapshot")
    first = c.groupby("pid")["month"].min()
    _warn_unseen(names, first.index)
    grid = _month_grid(first, pd.Series(snap[first.index], index=first.index))
    own = c[c["is_merge"] == 0]
    keys = ["pid", "month"]
    counts = {
        Y: own.groupby(keys).size(),
        "authors": own.groupby(keys)["author"].nunique(),
        "new_authors": c.groupby(["pid", "author"])["month"].min().reset_index().groupby(keys).size(),
        "churn": own.groupby(keys)["churn"].sum(),
        "merges": c[c["is_merge"] == 1].groupby(keys).size(),
        "releases": _release_counts(tags, unique_id, names),
    }
    panel = pd.DataFrame({k: v.reindex(grid, fill_value=0).astype(float) for k, v in counts.items()})
    panel.insert(0, DS, _month_start(grid.get_level_values("month")))
    panel.insert(0, ID, names[grid.get_level_values("pid")])
    return panel.reset_index(drop=True)


def _month(ts: pd.Timestamp) -> int:
    """Months since year 0 (the integer month code used throughout)."""
    return ts.year * 12 + ts.month - 1


def _months_of(ts: pd.Series) -> np.ndarray:
    return (ts.dt.year * 12 + ts.dt.month - 1).to_numpy()


def _month_start(months: np.ndarray | pd.Index) -> np.ndarray:
    m = np.asarray(months, dtype=np.int64)
    return (m - 1970 * 12).astype("datetime64[M]").astype("datetime64[ns]")


def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str, unique_id: str | None) -> None:
    need = list(columns) + ([] if unique_id is not None else ["project"])
    missing = [c for c in need if c not in df.columns]
    if missing:
        hint = " (or pass unique_id='owner/name' for a single project)" if "project" in missing else ""
        raise PanelError(f"{what} is missing column(s) {missing}{hint}; got {list(df.columns)}")


def _project_column(df: pd.DataFrame, unique_id: str | None, what: str) -> pd.Series:
    if unique_id is None:
        return df["project"].astype(str)
    if "project" in df.columns:
        other = set(df["project"].astype(str)) - {unique_id}
        if other:
            raise PanelError(f"{what} has rows of project(s) {sorted(other)[:3]} but unique_id={unique_id!r}; "
                             "drop unique_id to build one series per project")
    return pd.Series(unique_id, index=df.index)


def _utc_times(values: pd.Series, column: str, what: str) -> pd.Series:
    """Parse ``values`` as UTC timestamps (naive = UTC); PanelError naming the first bad row."""
    if pd.api.types.is_datetime64_any_dtype(values):
        ts = values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
    else:
        ts = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    bad = ts.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise PanelError(f"{what} column {column!r} has an unparsable or missing date {values.iloc[row]!r} at row "
                         f"{row} ({int(bad.sum())} bad rows); use ISO-8601 like '2024-01-31T12:00:00Z'")
    return ts


def _counts(values: pd.Series, column: str) -> np.ndarray:
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(num) | (num < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise PanelError(f"commits column {column!r} needs non-negative numbers; row {row} has {values.iloc[row]!r}")
    return num


def _commit_table(commits: pd.DataFrame, unique_id: str | None) -> tuple[pd.DataFrame, np.ndarray]:
    """Integer-coded commits (pid, month, author, is_merge, churn) and the project names (sorted) by pid."""
    _require(commits, COMMIT_COLUMNS, "commits", unique_id)
    if commits.empty:
        raise PanelError("commits is empty: a series needs at least one commit")
    ts = _utc_times(commits["authored_at"], "authored_at", "commits")
    is_merge = _counts(commits["is_merge"], "is_merge")
    if not np.isin(is_merge, (0, 1)).all():
        row = int(np.flatnonzero(~np.isin(is_merge, (0, 1)))[0])
        raise PanelError(f"commits column 'is_merge' must be 0/1 (or bool); row {row} has {is_merge[row]}")
    pid, names = pd.factorize(_project_column(commits, unique_id, "commits"), sort=True)
    table = pd.DataFrame({
        "pid": pid,
        "month": _months_of(ts),
        "author": pd.factorize(commits["author_id"].astype(str))[0],
        "is_merge": is_merge.astype(np.int8),
        "churn": _counts(commits["insertions"], "insertions") + _counts(commits["deletions"], "deletions"),
    })
    return table, np.asarray(names, dtype=object)


def _snapshot_months(snapshot: Snapshot, months: pd.Series, names: np.ndarray) -> np.ndarray:
    """Per pid, the (incomplete, excluded) month containing the project's snapshot."""
    if isinstance(snapshot, pd.Series):
        snapshot = snapshot.to_dict()
    if snapshot is None:
        return np.full(len(names), int(months.max()))
    if isinstance(snapshot, Mapping):
        missing = [p for p in names if p not in snapshot]
        if missing:
            raise PanelError(f"snapshot mapping has no entry for project(s) {missing[:5]}; give every project one")
        return np.array([_snapshot_month(snapshot[p], p) for p in names])
    return np.full(len(names), _snapshot_month(snapshot, None))


def _snapshot_month(value: str | pd.Timestamp, project: str | None) -> int:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if pd.isna(ts):
        where = f" for project {project!r}" if project else ""
        raise PanelError(f"snapshot{where} is not a date: {value!r}; use e.g. '2024-05-18T21:31:26Z'")
    ts = ts.tz_convert("UTC") if ts.tzinfo else ts
    return _month(ts)


def _warn_unseen(names: np.ndarray, seen: pd.Index) -> None:
    unseen = [str(n) for i, n in enumerate(names) if i not in seen]
    if unseen:
        warnings.warn(f"{len(unseen)} project(s) have no commit in a complete month before their snapshot and get "
                      f"no series: {unseen[:5]}", stacklevel=3)


def _month_grid(first: pd.Series, end: pd.Series) -> pd.MultiIndex:
    """(pid, month) for every month from ``first`` up to (excluding) ``end``, per pid."""
    n = (end - first).to_numpy()
    offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    months = np.repeat(first.to_numpy(), n) + offsets
    return pd.MultiIndex.from_arrays([np.repeat(first.index.to_numpy(), n), months], names=["pid", "month"])


def _release_counts(tags: pd.DataFrame | None, unique_id: str | None, names: np.ndarray) -> pd.Series:
    """Tags per (pid, month); tags of projects without commits are ignored."""
    if tags is None or tags.empty:
        return pd.Series(dtype=float)
    _require(tags, TAG_COLUMNS, "tags", unique_id)
    ts = _utc_times(tags["tagged_at"], "tagged_at", "tags")
    table = pd.DataFrame({"pid": pd.Index(names).get_indexer(_project_column(tags, unique_id, "tags")),
                          "month": _months_of(ts)})
    return table[table["pid"] >= 0].groupby(["pid", "month"]).size()
