"""A corpus shipped as build parts (``oss-activity-v2``): the derived files of each part of the
corpus build (``datasets/corpus_v2``) and the selection that says which projects the corpus keeps.

Folder layout (``tsfuse/data/embedded/oss-activity-v2/v1/``):

- ``parts/<part>/panels.parquet``: ``unique_id, ds, y, authors, new_authors, churn, merges,
  releases`` (integer counts; each series ends at its snapshot's last complete month);
- ``parts/<part>/readme_versions.parquet``: ``unique_id, valid_from, commit_at, sha256, file,
  present, embedding`` (the README as of each quarter, as the default encoder's float16 vector in
  little-endian bytes, null where no README was readable; no text);
- ``parts/<part>/projects.csv``: one row per built project (snapshot head and date, counts, root
  commits, ...);
- ``selection.csv``: ``unique_id, part, kept, reason``: every built project, and why it is out
  when it is (the corpus filters, see datasets/DATASHEET.md);
- ``MANIFEST.json``: sha256 of every file (checked by :func:`tsfuse.data.corpus.load_embedded`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from tsfuse.data.schema import DS, ID, PanelError

PARTS_DIR, SELECTION_FILE = "parts", "selection.csv"
PANELS_FILE, VERSIONS_FILE, PROJECTS_FILE = "panels.parquet", "readme_versions.parquet", "projects.csv"


def read_selection(folder: Path) -> pd.DataFrame:
    """``selection.csv`` of a parts corpus (``kept`` as bool, ``reason`` "" for a kept project)."""
    path = Path(folder) / SELECTION_FILE
    if not path.is_file():
        raise PanelError(f"{path} is missing: a parts corpus needs its selection (datasets/corpus_v2/assemble.py)")
    table = pd.read_csv(path, dtype={ID: str, "part": str, "reason": str}, keep_default_na=False)
    return table.assign(kept=table["kept"].astype(str).str.lower().eq("true"))


def read_parts(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The kept projects of a parts corpus: ``(panel, README versions, meta)``.

    The versions frame has ``unique_id, valid_from, sha256, present, text_model, embedding``
    (float32 rows; zeros where ``present`` is false), the form :mod:`tsfuse.text.versions` reads.
    ``meta`` is ``projects.csv`` of the kept projects with ``readme_as_of = "versions"``.
    """
    folder = Path(folder)
    selection = read_selection(folder)
    kept = selection[selection["kept"]]
    panels, versions, metas = [], [], []
    for part, ids in kept.groupby("part", sort=True)[ID]:
        where = folder / PARTS_DIR / part
        keep = set(ids)
        panels.append(_kept_rows(pd.read_parquet(where / PANELS_FILE), keep))
        table = pd.read_parquet(where / VERSIONS_FILE, columns=[ID, "valid_from", "sha256", "present", "embedding"])
        encoder = (pq.read_schema(where / VERSIONS_FILE).metadata or {}).get(b"encoder", b"").decode()
        versions.append(_kept_rows(table, keep).assign(text_model=encoder))
        meta = pd.read_csv(where / PROJECTS_FILE, dtype={ID: str, "head_sha": str, "root_commit": str})
        metas.append(meta[meta[ID].isin(keep)])
    if not panels:
        raise PanelError(f"{folder / SELECTION_FILE} keeps no project")
    panel = pd.concat(panels, ignore_index=True)
    panel = panel.assign(**{DS: pd.to_datetime(panel[DS]).astype("datetime64[ns]")})
    counts = [c for c in panel.columns if c not in (ID, DS)]
    panel[counts] = panel[counts].astype(float)
    return panel, _versions_frame(pd.concat(versions, ignore_index=True)), _meta(pd.concat(metas, ignore_index=True))


def _kept_rows(frame: pd.DataFrame, keep: set[str]) -> pd.DataFrame:
    """The rows of the projects in ``keep``, ``unique_id`` as str (Parquet stores it as a category)."""
    frame = frame.assign(**{ID: frame[ID].astype(str)})
    return frame[frame[ID].isin(keep)]


def _versions_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Stored bytes -> float32 vectors (the encoder's dimension from the first present row)."""
    present = table["present"].astype(bool).to_numpy()
    blobs = table["embedding"].to_numpy(object)
    dim = next((len(b) // 2 for b, p in zip(blobs, present) if p), 0)
    zero = np.zeros(dim, np.float32)
    vectors = [np.frombuffer(b, "<f2").astype(np.float32) if p else zero for b, p in zip(blobs, present)]
    return pd.DataFrame({ID: table[ID], "valid_from": pd.to_datetime(table["valid_from"]),
                         "sha256": table["sha256"].astype(str), "present": present,
                         "text_model": table["text_model"].astype(str), "embedding": vectors})


def _meta(meta: pd.DataFrame) -> pd.DataFrame:
    """``projects.csv`` rows as corpus metadata: ``snapshot`` = the snapshot's last update (the series'
    first and last month are recomputed from the panel by the corpus loader)."""
    drop = ["repo", "status", "first_month", "last_month", "months"]
    out = meta.rename(columns={"last_update": "snapshot"}).drop(columns=drop, errors="ignore")
    return out.assign(readme_as_of="versions").sort_values(ID, kind="stable").reset_index(drop=True)
