"""A local git repository -> monthly panel + README (text at HEAD, or its versions over time).

:mod:`tsfuse.data.sources.repository` reads the repository (rules in its docstring: commits, tags,
where the series ends, missing objects, README choice, name); :mod:`tsfuse.data.sources.readme_history`
reads the README as of each quarter; the series rules are :func:`tsfuse.data.sources.commits.from_commits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tsfuse.data.sources.commits import from_commits
from tsfuse.data.sources.readme_history import versions_until
from tsfuse.data.sources.repository import (check_objects, check_repository, guess_id, last_update, read_commits,
                                           read_readme, read_tags, run_git, series_end)


@dataclass(frozen=True)
class GitHistory:
    """What :func:`read_git` read from one repository."""

    panel: pd.DataFrame
    readme: str  # at HEAD
    readme_versions: pd.DataFrame | None  # see tsfuse.data.sources.readme_history; None unless asked for
    commits: pd.DataFrame  # read_commits
    last_update: pd.Timestamp  # UTC
    missing_blobs: int
    root_commits: tuple[str, ...]  # full shas, sorted


def from_git(path: str | Path, *, until: str | pd.Timestamp | None = None,
             snapshot: str | pd.Timestamp | None = None, unique_id: str | None = None,
             readme_history: bool = False) -> tuple[pd.DataFrame, str | pd.DataFrame]:
    """Panel (see :mod:`tsfuse.data.sources.commits`) and README of the repository at ``path``.

    Args:
        path: the root of a clone (bare or not).
        until: the last month of the series (``"YYYY-MM"`` or a timestamp, whose month counts);
            it must be before the month of the clone's last update, else PanelError. Default: the
            last complete month before the last update (see :func:`series_end`).
        snapshot: when the history was read, as in the corpus: the series ends the month before it,
            but never after the last complete month before the clone's last update. Not with ``until``.
        unique_id: the series name; default :func:`guess_id`.
        readme_history: return the README versions (:func:`tsfuse.data.sources.readme_history.read_readme_versions`,
            up to the series end) instead of the README text at HEAD.

    Returns:
        ``(panel, text)``, or ``(panel, versions)`` with ``readme_history``.
    """
    history = read_git(path, until=until, snapshot=snapshot, unique_id=unique_id, readme_history=readme_history)
    return history.panel, history.readme_versions if readme_history else history.readme


def read_git(path: str | Path, *, until: str | pd.Timestamp | None = None,
             snapshot: str | pd.Timestamp | None = None, unique_id: str | None = None,
             readme_history: bool = False) -> GitHistory:
    """Everything :func:`from_git` reads, and what a corpus build records about the clone.

    Args:
        path, until, snapshot, unique_id, readme_history: as in :func:`from_git`.
    """
    repo = check_repository(path)
    missing = check_objects(repo)
    name = unique_id or guess_id(repo)
    updated = last_update(repo)
    last = series_end(repo, updated, until=until, snapshot=snapshot, name=name)
    commits = read_commits(repo, missing)
    panel = from_commits(commits, read_tags(repo), snapshot=last + pd.offsets.MonthBegin(1), unique_id=name)
    versions = None
    if readme_history:
        versions = versions_until(repo, last)
    roots = tuple(sorted(run_git(repo, "rev-list", "--max-parents=0", "HEAD").split()))
    return GitHistory(panel, read_readme(repo), versions, commits, updated, len(missing), roots)
