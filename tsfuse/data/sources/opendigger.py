"""OpenDigger metric JSON folders -> monthly panel (BENCHMARK.md v1, corpus ``opendigger``).

One project folder holds ``<metric>.json`` files mapping ``YYYY-MM`` to a number. Rules:

- the target ``y`` is ``activity``; :data:`COVARIATES` are the other metrics read;
- keys that are not plain months (``2021-10-raw``, yearly ``2020``, quarterly ``2020Q1``) are dropped;
- a series starts at the first month of ``activity.json`` and ends at ``end`` (default: the month
  before the one of ``meta.json``'s ``updatedAt``, i.e. the last complete month of the export:
  2023-03 for the OpenSODA 2023 export; without ``meta.json``, the last month of ``activity.json``);
- a month absent from a file is 0; months outside the series are ignored;
- a metric file absent for a project gives all-zero values and ``<metric>_missing`` = 1.

A missing folder, a file that is not UTF-8 JSON, or a value that is not a finite number is a
:class:`~tsfuse.errors.PanelError` naming the file (and key).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tsfuse.data.schema import DS, ID, MISSING_SUFFIX, Y, PanelError
from tsfuse.text.clean import prepare_readme

TARGET = "activity"
COVARIATES = (
    "openrank", "stars", "participants", "issues_new", "issues_closed", "change_requests",
    "change_requests_accepted", "new_contributors", "bus_factor", "technical_fork", "attention",
)
TREE_NAME = "top_300_metrics"
_MONTH_KEY = re.compile(r"\d{4}-\d{2}")


def from_opendigger(folder: str | Path, *, unique_id: str | None = None,
                    end: str | pd.Timestamp | None = None) -> tuple[pd.DataFrame, str]:
    """Panel and README of one project folder (``.../<owner>/<repo>/`` with metric JSONs), the same
    shape as :func:`tsfuse.data.sources.git.from_git`'s.

    Args:
        folder: the project folder.
        unique_id: default ``<owner>/<repo>`` from the two last path parts.
        end: the last month; default the last complete month of the export (module docstring).

    Returns:
        ``(panel, readme)``: an OpenDigger export has no README, so ``readme`` is "" (no README)
        unless the folder holds a ``README.md`` of the project.
    """
    return _panel(Path(folder), unique_id, end), _readme(Path(folder))


def _panel(folder: Path, unique_id: str | None, end: str | pd.Timestamp | None) -> pd.DataFrame:
    if not folder.is_dir():
        raise PanelError(f"OpenDigger project folder {folder} does not exist")
    activity = _read_metric(folder, TARGET)
    if activity is None:
        raise PanelError(f"{folder} has no {TARGET}.json: point at a project folder "
                         f"(<owner>/<repo>/ holding OpenDigger metric JSONs)")
    if not activity:
        raise PanelError(f"{folder / (TARGET + '.json')} has no monthly key (YYYY-MM); nothing to build a series from")
    last = _end_month(folder, activity) if end is None else pd.Period(pd.Timestamp(end), "M")
    months = pd.period_range(min(activity), last, freq="M")
    if len(months) == 0:
        raise PanelError(f"{folder}: {TARGET}.json starts at {min(activity)}, after the end month {last}")
    keys = months.strftime("%Y-%m")
    panel = pd.DataFrame({
        ID: unique_id or f"{folder.parent.name}/{folder.name}",
        DS: months.to_timestamp(),
        Y: _values(activity, keys),
    })
    for metric in COVARIATES:
        values = _read_metric(folder, metric)
        panel[metric] = _values(values or {}, keys)
        panel[metric + MISSING_SUFFIX] = float(values is None)
    return panel


def from_opendigger_tree(root: str | Path, *, end: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Panel of every project under ``root`` = ``top_300_metrics/`` (``<owner>/<repo>/*.json``)
    or the folder containing it. Projects are sorted by ``owner/repo``."""
    folders = project_folders(root)
    return pd.concat([_panel(f, None, end) for f in folders], ignore_index=True)


def _readme(folder: Path) -> str:
    path = folder / "README.md"
    return prepare_readme(path.read_bytes(), str(path)) if path.is_file() else ""


def project_folders(root: str | Path) -> list[Path]:
    """The ``<owner>/<repo>`` folders (those holding an ``activity.json``) under an OpenDigger tree."""
    root = Path(root)
    if (root / TREE_NAME).is_dir():
        root = root / TREE_NAME
    if not root.is_dir():
        raise PanelError(f"OpenDigger folder {root} does not exist")
    folders = sorted(p for p in root.glob("*/*") if p.is_dir())
    without = [f"{p.parent.name}/{p.name}" for p in folders if not (p / f"{TARGET}.json").is_file()]
    if without:
        raise PanelError(f"{len(without)} project folder(s) under {root} have no {TARGET}.json, e.g. {without[:3]}; "
                         "remove them or add the file")
    if not folders:
        raise PanelError(f"no <owner>/<repo>/ project folders under {root}; expected the layout "
                         f"{TREE_NAME}/<owner>/<repo>/{TARGET}.json")
    return folders


def updated_at(folder: str | Path) -> pd.Timestamp | None:
    """When OpenDigger last updated the project (``meta.json`` ``updatedAt``, UTC, naive), if known."""
    meta = Path(folder) / "meta.json"
    if not meta.is_file():
        return None
    data = _read_json(meta)
    updated = data.get("updatedAt") if isinstance(data, dict) else None
    if updated is not None and (isinstance(updated, bool) or not isinstance(updated, (int, float))):
        raise PanelError(f"{meta} has updatedAt={updated!r}; expected milliseconds since 1970 (a number)")
    return None if updated is None else pd.Timestamp(updated, unit="ms")


def _read_json(path: Path) -> Any:
    """The parsed JSON of ``path``; a PanelError if it is not UTF-8 JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PanelError(f"{path} is not valid JSON ({exc}); re-download it") from None


def _read_metric(folder: Path, metric: str) -> dict[str, float] | None:
    """Monthly values of ``<metric>.json`` (non-month keys dropped), or None if the file is absent."""
    path = folder / f"{metric}.json"
    if not path.is_file():
        return None
    data = _read_json(path)
    if not isinstance(data, dict):
        raise PanelError(f"{path} should map 'YYYY-MM' to a number, got a {type(data).__name__}")
    out = {}
    for key, value in data.items():
        if not _MONTH_KEY.fullmatch(key):
            continue
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise PanelError(f"{path} key {key!r} holds {value!r}; expected a finite number per month")
        out[key] = float(value or 0.0)
    return out


def _values(monthly: dict[str, float], keys: pd.Index) -> np.ndarray:
    return np.array([monthly.get(k, 0.0) for k in keys], dtype=float)


def _end_month(folder: Path, activity: dict[str, float]) -> pd.Period:
    updated = updated_at(folder)
    return pd.Period(max(activity), "M") if updated is None else updated.to_period("M") - 1
