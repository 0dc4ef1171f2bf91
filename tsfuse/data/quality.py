"""Per-project data-quality flags and the report behind ``tsfuse data check``.

Flags are warnings, never filters: every project stays in the corpus. Rules:

- ``dead``: the target is 0 in each of the last 12 months of the series;
- ``burst``: one month holds at least 25% of the series' whole target *and* at least 20 times the
  mean of its other months (an import, a one-off event or a history that was squashed into a month);
- ``stops_early``: the series ends before the corpus end, i.e. the last month the benchmark needs
  (last origin + horizon - 1: 2024-09 for oss-activity, 2023-03 for opendigger; without origins,
  the latest month of the corpus), so the project cannot be scored at the last origin;
- ``cut_start``: the start was set by the export, not the project: the series starts in the
  corpus's earliest month while at least 5% of the projects (and at least 3) start there too
  (e.g. 2015-01 for opendigger), or the metadata says the history was truncated
  (``history_truncated``: oss-activity rows trimmed for size, or a shallow clone);
- ``event_test_bot``: name or README says test/event/bot-driven repository rather than a software
  project: a name token in :data:`NAME_TOKENS` (camelCase and ``-_./`` split, lower-cased; e.g.
  ``archway-network/testnets``, ``TP-Lab/tokens``, ``education/GitHubGraduation-2022``), a name
  containing one of :data:`NAME_PHRASES` (``first-contribution``), or a README matching
  :data:`README_PATTERN` ("test repository", "hacktoberfest", ...).
  A heuristic: ``kubernetes/test-infra`` (mostly bot-driven CI config) is flagged by its name;
- ``missing_metrics``: metric files absent for the project (from the ``<metric>_missing`` columns;
  opendigger only), listed as ``a;b``.
"""

from __future__ import annotations

import re
from typing import Mapping

import numpy as np
import pandas as pd

from tsfuse.data.schema import DS, ID, MISSING_SUFFIX, Y
from tsfuse.data.tasks import TaskSpec


FLAGS = ("dead", "burst", "stops_early", "cut_start", "event_test_bot", "missing_metrics")
DEAD_MONTHS = 12
BURST_SHARE, BURST_RATIO = 0.25, 20.0
CUT_START_SHARE, CUT_START_MIN = 0.05, 3
NAME_TOKENS = frozenset({
    "test", "tests", "testnet", "testnets", "probe", "graduation", "tokens", "assets", "phishing", "practice",
    "tutorial", "tutorials", "homework", "exercises", "course", "bootcamp", "hyperblog", "challenges",
    "education", "reviews",
})
NAME_PHRASES = ("first-contribution", "start-here", "hello-world")
README_PATTERN = re.compile(
    r"\b(?:this is a test (?:repository|repo|project)|this (?:repository|repo) is (?:just )?for testing|test repository"
    r"|hacktoberfest|first[- ]contributions?\b|graduation|phishing)", re.IGNORECASE)
_RULES = {
    "dead": f"target 0 in each of the last {DEAD_MONTHS} months",
    "burst": f"one month >= {BURST_SHARE:.0%} of the total and >= {BURST_RATIO:g}x the other months' mean",
    "stops_early": "series ends before the corpus end (last origin + horizon - 1)",
    "cut_start": "series starts where the export starts (or history truncated)",
    "event_test_bot": "name/README looks like a test, event or bot repository",
    "missing_metrics": "some metric files absent (all-zero + <metric>_missing = 1)",
}


def corpus_end(panel: pd.DataFrame, task: TaskSpec | None = None) -> pd.Timestamp:
    """The last month the benchmark needs (last origin + horizon - 1), else the panel's last month."""
    if task is not None and task.origins:
        return max(task.origin_timestamps()) + pd.DateOffset(months=task.horizon - 1)
    return pd.Timestamp(panel[DS].max())


def quality_flags(panel: pd.DataFrame, *, texts: Mapping[str, str] | pd.DataFrame | None = None,
                  meta: pd.DataFrame | None = None, task: TaskSpec | None = None) -> pd.DataFrame:
    """One row per project (index ``unique_id``): the boolean flags, ``event_test_bot_reason`` and
    ``missing_metrics`` (``;``-joined names, "" if none).

    Args:
        panel: the corpus panel.
        texts: ``{unique_id: README}``; a versions frame of stored embeddings has no text, and then
            ``meta``'s ``readme_hint`` (:func:`readme_hint`, kept when the corpus was built) is read.
        meta: per-project metadata; may carry ``history_truncated`` and ``readme_hint``.
        task: the corpus rules (the months the benchmark needs).
    """
    summary = series_summary(panel)
    first, last = summary["first_month"], summary["last_month"]
    earliest = first.min()
    piled = (first == earliest).sum() >= max(CUT_START_MIN, CUT_START_SHARE * len(first))
    truncated = _meta_column(meta, "history_truncated", summary.index)
    if isinstance(texts, Mapping) or texts is None:
        hints = {uid: readme_hint((texts or {}).get(uid, "")) for uid in summary.index}
    else:
        hints = _meta_column(meta, "readme_hint", summary.index, default="").to_dict()
    reasons = pd.Series({uid: _event_reason(uid, hints[uid]) for uid in summary.index})
    flags = pd.DataFrame({
        "dead": summary["active_last_12"] == 0,
        "burst": (summary["max_share"] >= BURST_SHARE) & (summary["max_ratio"] >= BURST_RATIO),
        "stops_early": last < corpus_end(panel, task),
        "cut_start": ((first == earliest) & piled) | truncated,
        "event_test_bot": reasons != "",
        "event_test_bot_reason": reasons,
        "missing_metrics": _missing_metrics(panel).reindex(summary.index, fill_value=""),
    }, index=summary.index)
    flags.index.name = ID
    return flags


def flag_lists(flags: pd.DataFrame) -> dict[str, list[str]]:
    """``{flag: [project ids]}`` (plain lists, for ``panel.attrs["quality_flags"]``)."""
    out = {}
    for flag in FLAGS:
        hit = flags[flag] != "" if flag == "missing_metrics" else flags[flag].astype(bool)
        out[flag] = sorted(str(uid) for uid in flags.index[hit.to_numpy()])
    return out


def series_summary(panel: pd.DataFrame) -> pd.DataFrame:
    """Per project: first/last month, months, total and max-month share/ratio of the target,
    share of zero months and the target summed over the last 12 months."""
    g = panel.groupby(ID, sort=True)
    total, peak, n = g[Y].sum(), g[Y].max(), g[Y].size()
    others_mean = (total - peak) / (n - 1).clip(lower=1)
    return pd.DataFrame({
        "first_month": g[DS].min(), "last_month": g[DS].max(), "n_months": n, "total": total,
        "zero_share": g[Y].apply(lambda s: float((s == 0).mean())),
        "max_share": (peak / total.replace(0, np.nan)).fillna(0.0),
        "max_ratio": (peak / others_mean.replace(0, np.nan)).fillna(np.inf).where(peak > 0, 0.0),
        "active_last_12": g[Y].apply(lambda s: float(s.iloc[-DEAD_MONTHS:].sum())),
    })


def format_quality_report(report: pd.DataFrame, *, max_names: int = 12) -> str:
    """Text summary of :func:`quality_report` for the CLI: counts and projects per flag."""
    name = report.attrs.get("corpus", "panel")
    lines = [f"{name}: {len(report)} projects, {int(report['n_months'].sum())} project-months, "
             f"{report['first_month'].min():%Y-%m} .. {report['last_month'].max():%Y-%m}; "
             f"{int((report['n_flags'] > 0).sum())} projects carry at least one flag (flags warn, nothing is dropped)",
             "", f"{'flag':<16}{'projects':>9}  rule"]
    lists = flag_lists(report)
    lines += [f"{flag:<16}{len(lists[flag]):>9}  {_RULES[flag]}" for flag in FLAGS]
    for flag in FLAGS:
        ids = lists[flag]
        if not ids:
            continue
        shown = [_describe(report, flag, uid) for uid in ids[:max_names]]
        more = f", ... (+{len(ids) - max_names} more)" if len(ids) > max_names else ""
        lines += ["", f"{flag} ({len(ids)}): " + ", ".join(shown) + more]
    return "\n".join(lines)


def _describe(report: pd.DataFrame, flag: str, uid: str) -> str:
    detail = {"event_test_bot": "event_test_bot_reason", "missing_metrics": "missing_metrics"}.get(flag)
    if detail:
        return f"{uid} [{report.at[uid, detail]}]"
    if flag in ("stops_early", "cut_start"):
        return f"{uid} [{report.at[uid, 'last_month' if flag == 'stops_early' else 'first_month']:%Y-%m}]"
    return uid


def readme_hint(text: str) -> str:
    """What in a README text marks a test, event or bot repository ("README 'hackathon'"), "" if nothing."""
    match = README_PATTERN.search(text or "")
    return f"README '{match.group(0).lower()}'" if match else ""


def _event_reason(uid: str, hint: str) -> str:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", uid)
    tokens = [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]
    joined = "-".join(tokens)
    hits = [f"name '{t}'" for t in dict.fromkeys(tokens) if t in NAME_TOKENS]
    hits += [f"name '{p}'" for p in NAME_PHRASES if p in joined]
    return "; ".join(hits + ([hint] if hint else []))


def _missing_metrics(panel: pd.DataFrame) -> pd.Series:
    cols = [c for c in panel.columns if c.endswith(MISSING_SUFFIX)]
    if not cols:
        return pd.Series(dtype=str)
    absent = panel.groupby(ID, sort=True)[cols].max() > 0
    return absent.apply(lambda row: ";".join(c[: -len(MISSING_SUFFIX)] for c in cols if row[c]), axis=1)


def _meta_column(meta: pd.DataFrame | None, column: str, index: pd.Index, default: bool | str = False) -> pd.Series:
    """``meta[column]`` per project of ``index`` (``default`` where absent), as bool (or str with a str default)."""
    if meta is None or column not in meta.columns:
        return pd.Series(default, index=index)
    values = meta.set_index(ID)[column] if ID in meta.columns else meta[column]
    return values.reindex(index).fillna(default).astype(type(default))
