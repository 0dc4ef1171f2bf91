"""A repository's README over time, and the version a forecast at a given origin may use.

:func:`read_readme_versions` reads the README (same file choice as
:func:`tsfuse.data.sources.git.read_readme`) as it stood at the first day of every quarter, from the
quarter of the first commit up to the first day after the series end (the forecast origin of the
last month): at day ``d`` it is the README in the tree of the newest commit on HEAD's first-parent
line whose committer date is strictly before ``d`` (UTC). Consecutive equal versions are kept once,
at their earliest day. Days before the first README give no row; a day after the README was
removed gives a row with ``file`` and ``text`` empty.

The frame has the columns :data:`VERSION_COLUMNS`: ``valid_from`` (tz-naive UTC month start, the
day the version was read at), ``commit`` and ``commit_at`` (the source commit and its committer
date, UTC, always before ``valid_from``), ``sha256`` (hex digest of ``text``), ``file`` and ``text``.

No look-ahead: :func:`readme_at` gives a forecast at origin ``T`` the latest version with
``valid_from <= T``. Its source commit is dated before ``valid_from``, so before ``T``; a version
read at a later day may come from a commit older than ``T`` too, but is not known as of ``T``
at this quarterly grain, so it is never used.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from tsfuse.text.versions import check_versions, version_rows
from tsfuse.data.sources.repository import (
    check_repository, guess_id, header_times, last_update, readmes_at, run_git, series_end,
)

VERSION_COLUMNS = ("valid_from", "commit", "commit_at", "sha256", "file", "text")
log = logging.getLogger(__name__)


def read_readme_versions(repo: str | Path, *, until: str | pd.Timestamp | None = None,
                         every: str = "QS") -> pd.DataFrame:
    """The README versions of ``repo`` (see the module docstring), bare or not.

    Args:
        repo: the root of a clone.
        until: the last month of the series (as in :func:`tsfuse.data.sources.git.from_git`); versions are
            read up to the first day of the month after it. Default: the last complete month before
            the clone's last update.
        every: the days to read the README at, a pandas frequency of period starts (``"QS"``:
            quarter starts, ``"MS"``: month starts).

    Returns:
        One row per version, columns :data:`VERSION_COLUMNS`, sorted by ``valid_from``.
    """
    repo = check_repository(repo)
    return versions_until(repo, series_end(repo, last_update(repo), until=until, name=guess_id(repo)), every)


def versions_until(repo: Path, last: pd.Timestamp, every: str = "QS") -> pd.DataFrame:
    """The README versions of a checked ``repo`` for a series whose last month starts at ``last``."""
    shas, dates = _first_parent_line(repo)
    offset = to_offset(every)
    first = pd.Timestamp(dates.min(), unit="s").normalize()
    days = pd.date_range(offset.rollback(first), last + pd.offsets.MonthBegin(1), freq=offset)
    seconds = (days.asi8 // 10**9)[:, None]
    before = dates[None, :] < seconds  # [days, commits]: committed strictly before the day
    known = before.any(axis=1)
    source = before.argmax(axis=1)[known]  # the newest commit on the line before each day
    readmes = readmes_at(repo, [shas[i] for i in dict.fromkeys(source)])
    rows = [(day, shas[i], pd.Timestamp(dates[i], unit="s", tz="UTC"), *readmes[shas[i]])
            for day, i in zip(days[known], source)]
    frame = pd.DataFrame(rows, columns=["valid_from", "commit", "commit_at", "file", "text"])
    frame.insert(3, "sha256", [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in frame["text"]])
    present = frame["file"].ne("").to_numpy()
    frame = frame.iloc[present.argmax():] if present.any() else frame.iloc[:0]  # none before the first README
    frame = frame[frame["sha256"].ne(frame["sha256"].shift())].reset_index(drop=True)
    log.info("%s: %d README version(s) at %d %s day(s) up to %s (files: %s)", repo, len(frame), len(days), every,
             f"{days[-1]:%Y-%m-%d}" if len(days) else "-", sorted(set(frame["file"]) - {""}))
    return frame[list(VERSION_COLUMNS)]


def readme_at(versions: pd.DataFrame, origin: str | pd.Timestamp) -> str:
    """The README text a forecast at ``origin`` may use: the latest version with ``valid_from <= origin``.

    Args:
        versions: a frame of :func:`read_readme_versions`.
        origin: the forecast origin (the first forecast month; naive = UTC).

    Returns:
        Its text; "" when no version is that old.
    """
    ts = pd.Timestamp(origin)
    ts = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
    frame = check_versions(versions.assign(unique_id="project"))
    row = version_rows(frame, np.array(["project"]), np.array([ts.to_datetime64()]))[0]
    return str(frame["text"].iloc[row]) if row >= 0 else ""


def _first_parent_line(repo: Path) -> tuple[list[str], np.ndarray]:
    """Shas and committer dates (UTC seconds) of HEAD's first-parent line, newest first."""
    lines = run_git(repo, "log", "--first-parent", "--format=%H %ct", "HEAD").splitlines()
    shas, dates = zip(*(line.split(" ") for line in lines))
    # a malformed committer zone: git prints no %ct (read_commits warns about such commits)
    dates = [d or header_times(repo, sha)[1] for sha, d in zip(shas, dates)]
    return list(shas), np.array(dates, dtype=np.int64)
