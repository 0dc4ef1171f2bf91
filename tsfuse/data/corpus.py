"""Corpora: a panel, README input, per-project metadata (with quality flags) and the task.

``load_corpus("oss-activity")`` / ``load_corpus("opendigger")`` read the embedded, versioned copy
shipped in the package (``tsfuse/data/embedded/<name>/v1/``, built by ``datasets/build_corpora.py``),
whose READMEs are stored embeddings (a versions frame, :mod:`tsfuse.data.readme_store`: no text);
``load_corpus(path)`` reads a raw export with the layout of either corpus (e.g. a newer one), with
its README texts (for pretraining with another encoder).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tsfuse.data.sources.commits import from_commits
from tsfuse.data.sources.opendigger import TREE_NAME, from_opendigger_tree, project_folders, updated_at
from tsfuse.data.parts import read_parts
from tsfuse.data.quality import FLAGS, flag_lists, quality_flags, series_summary
from tsfuse.data.readme_store import read_versions
from tsfuse.data.schema import DS, ID, PanelError, validate_panel
from tsfuse.data.tasks import TaskSpec, get_task
from tsfuse.text.versions import texts_for

CORPUS_NAMES = ("oss-activity", "opendigger", "oss-activity-v2")
PART_CORPORA = ("oss-activity-v2",)  # shipped as build parts + a selection (tsfuse.data.parts)
EMBEDDED_VERSION = "v1"
EMBEDDED_ROOT = Path(__file__).with_name("embedded")
PANEL_FILE, META_FILE, MANIFEST_FILE = "panel.csv.gz", "meta.csv", "MANIFEST.json"
COMMIT_USECOLS = ["project", "authored_at", "author_id", "is_merge", "insertions", "deletions"]
OSS_META = {  # projects.csv column -> meta column
    "snapshot_taken_approx": "snapshot", "language_group": "language_group", "main_language": "main_language",
    "size_class": "size_class", "lifecycle_at_snapshot": "lifecycle", "days_idle_at_snapshot": "days_idle_at_snapshot",
    "n_commits": "n_commits", "n_authors": "n_authors", "n_tags": "n_tags", "n_root_commits": "n_root_commits",
    "default_branch": "default_branch", "license_guess": "license_guess",
}
SUMMARY_COLUMNS = ("first_month", "last_month", "n_months")


@dataclass
class Corpus:
    """A corpus: long ``panel`` (see :mod:`tsfuse.data.schema`), ``texts`` (unique_id -> README,
    "" when none; for an embedded corpus a versions frame of stored embeddings, see
    :mod:`tsfuse.text.versions`), ``meta`` (one row per project: series span, source metadata and the quality flags
    of :mod:`tsfuse.data.quality`) and the benchmark ``task``. ``panel.attrs["quality_flags"]`` is
    ``{flag: [unique_id, ...]}``."""

    name: str
    panel: pd.DataFrame
    texts: dict[str, str] | pd.DataFrame
    meta: pd.DataFrame
    task: TaskSpec

    @property
    def projects(self) -> list[str]:
        """The project ids, sorted."""
        return self.meta[ID].tolist()

    def restrict(self, ids) -> Corpus:
        """The corpus limited to the projects ``ids`` (panel, README input, metadata and flag lists)."""
        keep = {str(i) for i in ids}
        panel = self.panel[self.panel[ID].isin(keep)].reset_index(drop=True)
        panel.attrs = dict(self.panel.attrs)
        if "quality_flags" in panel.attrs:
            panel.attrs["quality_flags"] = {f: [u for u in us if u in keep] for f, us in panel.attrs["quality_flags"].items()}
        return Corpus(name=self.name, panel=panel, texts=texts_for(self.texts, sorted(keep & set(self.projects))),
                      meta=self.meta[self.meta[ID].isin(keep)].reset_index(drop=True), task=self.task)


def load_corpus(name_or_path: str | Path) -> Corpus:
    """The embedded corpus ``"oss-activity"`` / ``"opendigger"``, or a raw export folder: one with
    ``commits.csv.gz`` + ``projects.csv`` (+ ``tags.csv.gz``, ``readmes/``), or an OpenDigger
    ``top_300_metrics/<owner>/<repo>/`` tree (or the folder containing it)."""
    if str(name_or_path) in CORPUS_NAMES:
        return load_embedded(str(name_or_path))
    path = Path(name_or_path)
    if not path.is_dir():
        raise PanelError(f"unknown corpus {str(name_or_path)!r}: give one of {list(CORPUS_NAMES)} "
                         "or the folder of a raw export")
    if (path / "commits.csv.gz").is_file():
        return read_oss_activity(path)
    if (path / TREE_NAME).is_dir() or next(path.glob("*/*/activity.json"), None) is not None:
        return read_opendigger(path)
    raise PanelError(f"{path} has neither commits.csv.gz (oss-activity layout) nor "
                     f"{TREE_NAME}/<owner>/<repo>/activity.json (opendigger layout)")


def read_oss_activity(folder: str | Path) -> Corpus:
    """A raw oss-activity folder: ``commits.csv.gz``, ``tags.csv.gz``, ``projects.csv``, ``readmes/``.
    Each project's snapshot is its ``snapshot_taken_approx``."""
    folder = Path(folder)
    projects = _read_csv(folder / "projects.csv", ["project", "snapshot_taken_approx"])
    commits = _read_csv(folder / "commits.csv.gz", COMMIT_USECOLS, only_required=True)
    tags_file = folder / "tags.csv.gz"
    tags = _read_csv(tags_file, ["project", "tagged_at"]) if tags_file.is_file() else None
    panel = from_commits(commits, tags, snapshot=dict(zip(projects["project"], projects["snapshot_taken_approx"])))
    ids = sorted(panel[ID].unique())  # from_commits warns about projects without a complete month
    texts = {uid: _read_text(folder / "readmes" / f"{uid.replace('/', '__')}.txt") for uid in ids}
    meta = projects[projects["project"].isin(ids)].rename(columns={"project": ID, **OSS_META})
    meta["history_truncated"] = _truthy(meta, "rows_trimmed_years") | _truthy(meta, "is_shallow")
    meta = meta[[ID, *(c for c in OSS_META.values() if c in meta.columns), "history_truncated"]]
    return _finish("oss-activity", panel, texts, meta, source=str(folder))


def read_opendigger(folder: str | Path) -> Corpus:
    """A raw OpenDigger tree (``top_300_metrics/`` or the folder containing it)."""
    panel = from_opendigger_tree(folder)
    folders = project_folders(folder)
    meta = pd.DataFrame({ID: [f"{f.parent.name}/{f.name}" for f in folders],
                         "snapshot": [_iso(updated_at(f)) for f in folders]})
    return _finish("opendigger", panel, dict.fromkeys(meta[ID], ""), meta, source=str(folder))


def load_embedded(name: str, version: str = EMBEDDED_VERSION) -> Corpus:
    """The embedded copy of corpus ``name``; files are checked against ``MANIFEST.json``."""
    folder = embedded_dir(name, version)
    manifest_path = folder / MANIFEST_FILE
    how = "datasets/corpus_v2/assemble.py" if name in PART_CORPORA else "datasets/build_corpora.py"
    if not manifest_path.is_file():
        raise PanelError(f"embedded corpus {name!r} {version} is missing ({manifest_path}); build it with `python {how}`")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for file, info in manifest["files"].items():
        if sha256_file(folder / file) != info["sha256"]:
            raise PanelError(f"embedded file {folder / file} does not match MANIFEST.json (edited or corrupt); "
                             f"rebuild with `python {how}`")
    if name in PART_CORPORA:
        panel, texts, meta = read_parts(folder)
        return _finish(name, panel, texts, meta, source=f"embedded:{name}/{version}")
    panel = pd.read_csv(folder / PANEL_FILE, dtype={ID: str}, parse_dates=[DS])
    texts = read_versions(folder)
    meta = pd.read_csv(folder / META_FILE, dtype={ID: str, "readme_hint": str})
    if "readme_hint" in meta.columns:
        meta["readme_hint"] = meta["readme_hint"].fillna("")
    base = meta.drop(columns=[c for c in meta.columns if c in _derived_columns()])
    return _finish(name, panel, texts, base, source=f"embedded:{name}/{version}")


def embedded_dir(name: str, version: str = EMBEDDED_VERSION) -> Path:
    """Folder of the embedded copy of corpus ``name``."""
    if name not in CORPUS_NAMES:
        raise PanelError(f"no embedded corpus {name!r}; choose one of {list(CORPUS_NAMES)}")
    return EMBEDDED_ROOT / name / version


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _finish(name: str, panel: pd.DataFrame, texts: dict[str, str] | pd.DataFrame, meta: pd.DataFrame, *,
            source: str) -> Corpus:
    """Validate, check that panel / texts / meta cover the same projects, add summary + flags to meta."""
    panel = validate_panel(panel)
    task = get_task(name)
    ids = sorted(panel[ID].unique())
    meta = meta.set_index(ID)
    missing = [uid for uid in ids if uid not in meta.index]
    extra = sorted(set(meta.index) - set(ids))
    if missing or extra:
        raise PanelError(f"{source}: metadata and series disagree: no metadata for {missing[:5]}, "
                         f"no series for {extra[:5]}; every project needs both")
    texts = texts_for(texts, ids)
    summary = series_summary(panel)[list(SUMMARY_COLUMNS)]
    flags = quality_flags(panel, texts=texts, meta=meta.reset_index(), task=task)
    meta = summary.join(meta).join(flags).rename_axis(ID).reset_index()
    panel.attrs.update(corpus=name, source=source, quality_flags=flag_lists(flags))
    return Corpus(name=name, panel=panel, texts=texts, meta=meta, task=task)


def _derived_columns() -> set[str]:
    return {*SUMMARY_COLUMNS, *FLAGS, "event_test_bot_reason"}


def _read_csv(path: Path, required: list[str], *, only_required: bool = False) -> pd.DataFrame:
    if not path.is_file():
        raise PanelError(f"{path} is missing; a raw oss-activity folder needs commits.csv.gz, tags.csv.gz, "
                         "projects.csv and readmes/")
    head = pd.read_csv(path, nrows=0).columns
    absent = [c for c in required if c not in head]
    if absent:
        raise PanelError(f"{path} is missing column(s) {absent}; got {list(head)}")
    return pd.read_csv(path, usecols=required if only_required else None, dtype={"project": str, "author_id": str})


def _truthy(table: pd.DataFrame, column: str) -> pd.Series:
    """A projects.csv column as bool: True for a non-empty value other than False/0 (absent column: False)."""
    if column not in table.columns:
        return pd.Series(False, index=table.index)
    text = table[column].fillna("").astype(str).str.strip().str.lower()
    return ~text.isin(["", "false", "0", "nan"])


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def _iso(ts: pd.Timestamp | None) -> str:
    return "" if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def quality_report(corpus: Corpus) -> pd.DataFrame:
    """Summary statistics and flags per project of a corpus (index ``unique_id``), with ``n_flags``."""
    flags = quality_flags(corpus.panel, texts=corpus.texts, meta=corpus.meta, task=corpus.task)
    report = series_summary(corpus.panel).join(flags)
    report["n_flags"] = sum((flags[f] != "") if f == "missing_metrics" else flags[f].astype(int) for f in FLAGS)
    report.attrs["corpus"] = corpus.name
    return report
