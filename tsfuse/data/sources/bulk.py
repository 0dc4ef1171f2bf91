"""Build monthly panels of many repositories in parallel into partitioned Parquet, resumably.

``build_bulk(list_file, out)`` reads one source per line of ``list_file`` (a local git
repository, or an OpenDigger project folder ``<owner>/<repo>/`` with ``activity.json``; blank
lines and ``#`` comments skipped; relative paths are relative to the list file) and runs one task
per source on an engine of :mod:`tsfuse.io.parallel` (``local`` or ``dask``). Each task writes, each
file atomically (temporary name, then rename):

- ``<out>/panel/bucket=<hh>/<name>.parquet``: the source's panel (:func:`tsfuse.data.sources.git.read_git`
  or :func:`tsfuse.data.sources.opendigger.from_opendigger`); ``hh`` is a stable hash bucket (256 of them);
- ``<out>/readme/bucket=<hh>/<name>.txt``: its README text at HEAD (git only);
- ``<out>/readme_versions/bucket=<hh>/<name>.parquet``: its README versions up to the series end
  (git only; :mod:`tsfuse.data.sources.readme_history`: valid_from, commit, commit_at, sha256, file, text);
- ``<out>/done/bucket=<hh>/<name>.json``: the done-marker, written last (source, unique_id,
  months, seconds; for git also the clone's ``last_update``, ``missing_blobs``, ``root_commit``
  (the root commits' shas, sorted, space-separated: equal for forks and copies), ``n_commits``
  (non-merge), ``first_commit_at`` / ``last_commit_at`` (authored, UTC)).

A re-run skips every source with a done-marker, so a killed build resumes where it stopped; a
source that failed (a partial clone, say) is tried again. ``<out>/build.json`` fixes the build's
``kind`` and ``snapshot`` at the first run (default: now): a git source ends at the last complete
month before the earlier of the snapshot and its own last update (:func:`tsfuse.data.sources.git.last_update`),
so a stale clone ends early instead of trailing off into zeros, and a resumed build equals an
uninterrupted one. After each run ``<out>/manifest.csv`` lists every finished source and
``<out>/failures.csv`` the sources that failed in that run, with the error. With ``embed``, README
texts are encoded in batches after the panels (:class:`tsfuse.text.TextEncoder`, cached under
``<out>/text-cache``: a re-run encodes only new texts) into ``<out>/text_embeddings.parquet`` (the
encoder's name and size in ``text_embeddings.json``), and every distinct README version (by sha256)
once into ``<out>/readme_version_embeddings.parquet`` (unique_id, valid_from, sha256, present,
embedding as float16).
:func:`load_built` reads the finished panels and texts back, :func:`load_readme_versions` the versions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from tsfuse.data.sources.git import GitHistory, read_git
from tsfuse.data.sources.opendigger import TARGET, from_opendigger
from tsfuse.data.sources.readme_history import VERSION_COLUMNS
from tsfuse.data.schema import DS, ID, PanelError, validate_panel
from tsfuse.io.atomic import atomic_write
from tsfuse.io.parallel import check_engine, run_tasks

log = logging.getLogger(__name__)
KINDS = ("git", "opendigger")
SETTINGS_FILE, MANIFEST_FILE, FAILURES_FILE = "build.json", "manifest.csv", "failures.csv"
EMBEDDINGS_FILE, EMBEDDINGS_INFO, TEXT_CACHE = "text_embeddings.parquet", "text_embeddings.json", "text-cache"
VERSION_EMBEDDINGS_FILE = "readme_version_embeddings.parquet"
GIT_COLUMNS = ["last_update", "missing_blobs", "root_commit", "n_commits", "first_commit_at", "last_commit_at"]
MANIFEST_COLUMNS = ["source", ID, "months", "first_month", "last_month", "readme_chars", "seconds", *GIT_COLUMNS,
                    "panel", "readme", "readme_versions"]


@dataclass(frozen=True)
class Entry:
    """One source of a build and where its files go."""

    source: str  # absolute path

    @property
    def key(self) -> str:
        return hashlib.sha1(self.source.encode("utf-8")).hexdigest()[:12]

    @property
    def name(self) -> str:
        """``<owner>__<repo>-<key>``: readable, and unique per source path."""
        tail = "__".join(Path(self.source).parts[-2:])
        return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', tail)[:60]}-{self.key}"

    def path(self, out: Path, part: str, suffix: str) -> Path:
        return out / part / f"bucket={self.key[:2]}" / f"{self.name}{suffix}"


@dataclass(frozen=True)
class BuildSummary:
    """What one run of :func:`build_bulk` did."""

    out: Path
    sources: int  # in the list
    skipped: int  # already done before this run
    built: int
    failed: int
    seconds: float
    embedded: int | None = None  # texts with an embedding (None: no embedding asked for)


def read_sources(list_file: str | Path) -> list[Entry]:
    """The entries of a list file (one path per line; repeated paths kept once, with a warning)."""
    list_file = Path(list_file)
    if not list_file.is_file():
        raise FileNotFoundError(f"repository list {list_file} does not exist; write one path per line")
    sources = [os.path.abspath(list_file.parent / Path(line.strip()).expanduser())
               for line in list_file.read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.strip().startswith("#")]
    if not sources:
        raise ValueError(f"repository list {list_file} names no repository (one path per line)")
    unique = list(dict.fromkeys(sources))
    if len(unique) < len(sources):
        log.warning("%s names %d path(s) more than once; each is built once", list_file, len(sources) - len(unique))
    return [Entry(source) for source in unique]


def build_bulk(list_file: str | Path, out: str | Path, *, kind: str = "git", engine: str = "local",
               workers: int = 1, scheduler: str | None = None, snapshot: str | pd.Timestamp | None = None,
               embed: str | None = None, embed_batch: int = 256, embed_device: str = "cpu",
               progress: bool = True) -> BuildSummary:
    """Build (or resume) the panels of every source in ``list_file`` into ``out``; see the module docstring.

    ``snapshot`` (git only): the months are cut before the month of this time; default: now, at the
    first run (then read from ``build.json``). ``embed``: a text encoder name or folder to embed the
    README texts with after the panels.
    """
    _require_pyarrow()
    check_engine(engine, workers, scheduler)
    started = time.perf_counter()
    out = Path(out).expanduser().resolve()
    entries = read_sources(list_file)
    settings = _settings(out, kind, snapshot)
    done = {e for e in entries if e.path(out, "done", ".json").is_file()}
    todo = [e for e in entries if e not in done]
    log.info("%d of %d sources done already; building %d", len(done), len(entries), len(todo))
    failures = []
    bar = tqdm(total=len(todo), desc="Building panels", unit="repo", disable=not progress)
    for entry, _, error in run_tasks(build_one, todo, engine=engine, workers=workers, scheduler=scheduler,
                                     out=str(out), kind=settings["kind"], snapshot=settings["snapshot"]):
        if error is not None:
            failures.append({"source": entry.source, "error": f"{type(error).__name__}: {error}"})
        bar.update()
    bar.close()
    _write_csv(out / FAILURES_FILE, pd.DataFrame(failures, columns=["source", "error"]))
    write_manifest(out)
    if failures:
        log.warning("%d of %d sources failed; see %s", len(failures), len(todo), out / FAILURES_FILE)
    embedded = None
    if embed:
        embedded = embed_texts(out, embed, batch_size=embed_batch, device=embed_device, progress=progress)
    return BuildSummary(out, len(entries), len(done), len(todo) - len(failures), len(failures),
                        time.perf_counter() - started, embedded)


def build_one(entry: Entry, out: str, kind: str, snapshot: str | None) -> dict:
    """Read one source and write its files and, last, its done-marker; returns the marker."""
    started = time.perf_counter()
    out_dir = Path(out)
    if kind == "git":
        history = _read_git(entry.source, snapshot)
        panel, readme, facts = history.panel, history.readme, _git_facts(history)
    else:
        panel, readme, facts = _read_opendigger(entry.source, snapshot), "", {}
    files = {"panel": entry.path(out_dir, "panel", ".parquet")}
    atomic_write(files["panel"], lambda tmp: panel.to_parquet(tmp, index=False))
    if kind == "git":
        files["readme"] = entry.path(out_dir, "readme", ".txt")
        atomic_write(files["readme"], lambda tmp: tmp.write_text(readme, encoding="utf-8"))
        files["readme_versions"] = entry.path(out_dir, "readme_versions", ".parquet")
        atomic_write(files["readme_versions"], lambda tmp: history.readme_versions.to_parquet(tmp, index=False))
    marker = {"source": entry.source, ID: str(panel[ID].iloc[0]), "months": len(panel),
              "first_month": f"{panel[DS].min():%Y-%m}", "last_month": f"{panel[DS].max():%Y-%m}",
              "readme_chars": len(readme), "seconds": round(time.perf_counter() - started, 4), **facts,
              **{part: path.relative_to(out_dir).as_posix() for part, path in files.items()}}
    atomic_write(entry.path(out_dir, "done", ".json"),
                  lambda tmp: tmp.write_text(json.dumps(marker, sort_keys=True), encoding="utf-8"))
    return marker


def _read_git(source: str, snapshot: str | None) -> GitHistory:
    path = Path(source)
    if (path / f"{TARGET}.json").is_file():
        raise PanelError(f"{path} is an OpenDigger folder, but this build holds git repositories; "
                         "build OpenDigger folders into another --out with --kind opendigger")
    return read_git(path, snapshot=snapshot, readme_history=True)


def _read_opendigger(source: str, snapshot: str | None) -> pd.DataFrame:
    path = Path(source)
    if (path / ".git").exists():
        raise PanelError(f"{path} is a git repository, but this build holds OpenDigger folders; "
                         "build git repositories into another --out with --kind git")
    end = None if snapshot is None else (pd.Timestamp(snapshot).tz_convert(None).to_period("M") - 1).to_timestamp()
    return from_opendigger(path, end=end)[0]


def _git_facts(history: GitHistory) -> dict:
    """The manifest's :data:`GIT_COLUMNS` of one clone."""
    authored = history.commits["authored_at"]
    return {"last_update": _iso(history.last_update), "missing_blobs": history.missing_blobs,
            "root_commit": " ".join(history.root_commits), "n_commits": int((history.commits["is_merge"] == 0).sum()),
            "first_commit_at": _iso(authored.min()), "last_commit_at": _iso(authored.max())}


def _settings(out: Path, kind: str, snapshot) -> dict:
    """The build's ``kind`` and ``snapshot``: written at the first run, checked at every later one."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    given = None if snapshot is None else _iso(snapshot)
    path = out / SETTINGS_FILE
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["kind"] != kind:
            raise ValueError(f"{out} holds a {saved['kind']} build ({path}); use another --out for {kind} sources")
        if given is not None and given != saved["snapshot"]:
            raise ValueError(f"{out} was built with snapshot {saved['snapshot']} ({path}); resume it with that "
                             f"snapshot (or none) or build snapshot {given} into another --out")
        return saved
    if given is None and kind == "git":
        given = _iso(pd.Timestamp.now(tz="UTC"))
    settings = {"kind": kind, "snapshot": given}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8"))
    return settings


def write_manifest(out: str | Path) -> pd.DataFrame:
    """``<out>/manifest.csv`` from the done-markers (sorted by source); warns about repeated unique_ids."""
    out = Path(out)
    manifest = pd.DataFrame(_markers(out), columns=MANIFEST_COLUMNS).sort_values("source", ignore_index=True)
    repeated = sorted(manifest.loc[manifest[ID].duplicated(), ID].unique())
    if repeated:
        log.warning("%d unique_id(s) come from more than one source, e.g. %s; give each repository an "
                    "origin remote or a distinct folder name (see %s)", len(repeated), repeated[:5],
                    out / MANIFEST_FILE)
    _write_csv(out / MANIFEST_FILE, manifest)
    return manifest


def load_built(out: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The validated panel (sorted by unique_id, ds) and README texts of every finished source in ``out``."""
    out = Path(out)
    markers = _markers(out, required=True)
    panel = pd.concat([pd.read_parquet(out / m["panel"]) for m in markers], ignore_index=True)
    return validate_panel(panel), _texts(out, markers)


def _markers(out: Path, required: bool = False) -> list[dict]:
    """The done-markers of a build (sorted by file name); ``required``: at least one, else FileNotFoundError."""
    markers = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "done").glob("bucket=*/*.json"))]
    if required and not markers:
        raise FileNotFoundError(f"{out} holds no finished source (no done-markers under {out / 'done'}); "
                                "run the build first")
    return markers


def _texts(out: Path, markers: list[dict]) -> dict[str, str]:
    """unique_id -> README text ("" for OpenDigger sources)."""
    return {m[ID]: (out / m["readme"]).read_text(encoding="utf-8") if m.get("readme") else "" for m in markers}


def load_readme_versions(out: str | Path) -> pd.DataFrame:
    """The README versions of every finished git source in ``out``: ``unique_id`` + the version columns."""
    out = Path(out)
    frames = [pd.read_parquet(out / m["readme_versions"]).assign(**{ID: m[ID]})
              for m in _markers(out, required=True) if m.get("readme_versions")]
    if not frames:
        return pd.DataFrame(columns=[ID, *VERSION_COLUMNS])
    versions = pd.concat(frames, ignore_index=True)
    return versions[[ID, *VERSION_COLUMNS]].sort_values([ID, "valid_from"], ignore_index=True)


def embed_texts(out: str | Path, model: str, *, batch_size: int = 256, device: str = "cpu",
                progress: bool = True) -> int:
    """Encode the README of every finished source, ``batch_size`` texts at a time (cached under
    ``<out>/text-cache``), into ``<out>/text_embeddings.parquet``, then each distinct README
    version once into ``<out>/readme_version_embeddings.parquet``; returns the number of sources."""
    from tsfuse.text import TextEncoder

    out = Path(out)
    texts = _texts(out, _markers(out, required=True))
    ids = sorted(texts)
    encoder = TextEncoder(model, cache_dir=out / TEXT_CACHE, device=device)
    vectors, present = _encode(encoder, [texts[u] for u in ids], batch_size, "Embedding READMEs", progress)
    table = pd.DataFrame({ID: ids, "present": present, "vector": list(vectors)})
    atomic_write(out / EMBEDDINGS_FILE, lambda tmp: table.to_parquet(tmp, index=False))
    atomic_write(out / EMBEDDINGS_INFO, lambda tmp: tmp.write_text(
        json.dumps({"model": encoder.name, "dim": encoder.dim, "texts": len(ids)}, indent=2) + "\n", encoding="utf-8"))
    versions = load_readme_versions(out)
    distinct = versions.drop_duplicates("sha256")
    vectors, present = _encode(encoder, distinct["text"].tolist(), batch_size, "Embedding README versions", progress)
    by_sha = pd.DataFrame({"sha256": distinct["sha256"], "present": present,
                           "embedding": list(vectors.astype(np.float16))})
    table = versions[[ID, "valid_from", "sha256"]].merge(by_sha, on="sha256", how="left")
    atomic_write(out / VERSION_EMBEDDINGS_FILE, lambda tmp: table.to_parquet(tmp, index=False))
    log.info("embedded %d README version(s) of %d source(s): %d distinct text(s)", len(versions),
             versions[ID].nunique(), len(distinct))
    return len(ids)


def _encode(encoder, texts: list[str], batch_size: int, what: str, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """Vectors ``[N, dim]`` and present ``[N]`` of ``texts``, encoded ``batch_size`` at a time."""
    vectors, present = [np.zeros((0, encoder.dim), dtype=np.float32)], [np.zeros(0, dtype=bool)]
    for start in tqdm(range(0, len(texts), batch_size), desc=what, unit="batch", disable=not progress):
        emb = encoder.encode(texts[start:start + batch_size])
        vectors.append(emb.vectors)
        present.append(emb.present)
    return np.concatenate(vectors), np.concatenate(present)


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))


def _iso(when) -> str:
    ts = pd.Timestamp(when)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise ImportError("building from a repository list writes Parquet and needs pyarrow: "
                          "pip install 'tsfuse[scale]'") from exc
