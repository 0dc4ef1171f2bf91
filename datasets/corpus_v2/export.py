"""Write the committable, derived data of a part: step 5 of FETCH.md.

    python3 datasets/corpus_v2/export.py --part v1

Reads the tsfuse build ``/work/v2-build/<part>`` (done-markers, panels, README versions without
their text, ``readme_version_embeddings.parquet``) for every ledger row of the part with status
``built``, and writes ``datasets/corpus_v2/derived/<part>/``:

- ``panels.parquet``: unique_id, ds, y, authors, new_authors, churn, merges, releases
  (counts as int32; ``churn`` as int64 only if a month exceeds int32), sorted by unique_id, ds;
- ``readme_versions.parquet``: unique_id, valid_from, commit_at, sha256, file, present, embedding:
  ``fixed_size_binary(2 * dim)`` = the all-MiniLM-L6-v2 vector as little-endian float16
  (``np.frombuffer(b, "<f2")``), null where ``present`` is false (no readable prose, or no README);
  the encoder name and dim are in the file's schema metadata;
- ``projects.csv``: one row per built project: the ledger's numbers and the build's manifest
  columns (no paths, no text), plus ``n_readme_versions`` and ``max_month_share`` (the largest
  share of all non-merge commits that falls in one month: near 1 means a bulk-dated history).

Every run rewrites the three files from everything built so far (atomically). Checks that no
column is named text/readme and that every string value is an id, a hash, a date or a README
file name (never README text); prints the sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import fetchlib as fl  # this folder is on sys.path when a script here runs


COUNTS = ["y", "authors", "new_authors", "churn", "merges", "releases"]
PROJECT_COLUMNS = ["repo", "order", "part", "unique_id", "status", "months", "first_month", "last_month",
                   "n_commits", "span_months", "first_commit_at", "last_commit_at", "last_update", "head_sha",
                   "root_commit", "missing_blobs", "snapshot_bytes", "readme_chars", "n_readme_versions",
                   "max_month_share", "seconds", "fetched_at", "reason"]
ID_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
FILE_RE = re.compile(r"^((docs/)?[Rr][Ee][Aa][Dd][Mm][Ee][^\n/]{0,80})?$")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", required=True)
    args = ap.parse_args()
    part = fl.check_part(args.part)
    out = fl.build_out(part)
    dest = fl.DERIVED / part
    dest.mkdir(parents=True, exist_ok=True)
    built = [r for r in fl.ledger() if r["part"] == part and r["status"] == "built"]
    if not built:
        print(f"part {part}: nothing built yet")
        return 1
    markers = {}
    for p in sorted((out / "done").glob("bucket=*/*.json")):
        m = json.loads(p.read_text(encoding="utf-8"))
        markers[m["unique_id"].lower()] = m
    missing = [r["repo"] for r in built if r["repo"].lower() not in markers]
    if missing:
        raise SystemExit(f"ledger says built but {out} has no done-marker for {missing}")
    chosen = [markers[r["repo"].lower()] for r in built]

    panels = pd.concat([pd.read_parquet(out / m["panel"]) for m in chosen], ignore_index=True)
    panels = compact_panel(panels)
    versions = pd.concat([pd.read_parquet(out / m["readme_versions"], columns=["valid_from", "commit_at", "sha256",
                                                                               "file"]).assign(unique_id=m["unique_id"])
                          for m in chosen if m.get("readme_versions")], ignore_index=True)
    emb = pd.read_parquet(out / "readme_version_embeddings.parquet")
    info = json.loads((out / "text_embeddings.json").read_text(encoding="utf-8"))
    table = version_table(versions, emb, info)

    share = panels.groupby("unique_id", observed=True)["y"].agg(lambda y: float(y.max() / y.sum()) if y.sum() else 0.0)
    nver = versions.groupby("unique_id").size()
    projects = []
    for r in built:
        m = markers[r["repo"].lower()]
        projects.append({**{c: m.get(c, "") for c in PROJECT_COLUMNS if c in m}, **r,
                         "unique_id": m["unique_id"], "n_readme_versions": int(nver.get(m["unique_id"], 0)),
                         "max_month_share": round(share.get(m["unique_id"], 0.0), 4)})
    proj = pd.DataFrame(projects)[PROJECT_COLUMNS]
    proj = proj.sort_values("order", key=lambda s: s.astype(int), ignore_index=True)

    check_no_text(panels, table, proj)
    write_parquet(dest / "panels.parquet", pa.Table.from_pandas(panels, preserve_index=False))
    write_parquet(dest / "readme_versions.parquet", table)
    tmp = dest / ".projects.csv.tmp"
    proj.to_csv(tmp, index=False, lineterminator="\n")
    os.replace(tmp, dest / "projects.csv")
    recheck(dest)
    sizes = {p.name: p.stat().st_size for p in sorted(dest.iterdir()) if p.is_file()}
    total = sum(sizes.values())
    print(json.dumps({"part": part, "projects": len(proj), "panel_rows": len(panels), "readme_versions": len(table),
                      "present": int(np.asarray(table.column("present")).sum()),
                      "bytes": sizes, "total_mb": round(total / 2**20, 3),
                      "kb_per_project": round(total / 1024 / len(proj), 1)}, indent=1))
    return 0


def compact_panel(panels: pd.DataFrame) -> pd.DataFrame:
    panels = panels[["unique_id", "ds", *COUNTS]].sort_values(["unique_id", "ds"], ignore_index=True)
    for c in COUNTS:
        v = panels[c].to_numpy()
        if not np.all(np.isfinite(v)) or np.any(v < 0) or np.any(v != np.round(v)):
            raise SystemExit(f"panel column {c} is not a non-negative integer count")
        big = v.max() > np.iinfo(np.int32).max
        panels[c] = v.astype(np.int64 if big else np.int32)
    panels["unique_id"] = panels["unique_id"].astype("category")
    panels["ds"] = panels["ds"].astype("datetime64[ms]")
    return panels


def version_table(versions: pd.DataFrame, emb: pd.DataFrame, info: dict) -> pa.Table:
    merged = versions.merge(emb[["unique_id", "valid_from", "sha256", "present", "embedding"]],
                            on=["unique_id", "valid_from", "sha256"], how="left", validate="one_to_one")
    if merged["present"].isna().any():
        bad = merged.loc[merged["present"].isna(), "unique_id"].unique()[:5]
        raise SystemExit(f"README versions without an embedding row (rerun the build with --embed): {list(bad)}")
    merged = merged.sort_values(["unique_id", "valid_from"], ignore_index=True)
    dim = int(info["dim"])
    width = 2 * dim
    blobs = []
    for present, e in zip(merged["present"], merged["embedding"]):
        if not present:
            blobs.append(None)
            continue
        a = np.asarray(e, dtype="<f2")
        if a.shape != (dim,):
            raise SystemExit(f"embedding of dim {a.shape} != {dim}")
        blobs.append(a.tobytes())
    commit_at = pd.to_datetime(merged["commit_at"], utc=True).dt.tz_convert("UTC").astype("datetime64[s, UTC]")
    table = pa.table({
        "unique_id": pa.array(merged["unique_id"]).dictionary_encode(),
        "valid_from": pa.array(merged["valid_from"].astype("datetime64[ms]")),
        "commit_at": pa.array(commit_at),
        "sha256": pa.array(merged["sha256"], pa.string()),
        "file": pa.array(merged["file"]).dictionary_encode(),
        "present": pa.array(merged["present"].astype(bool)),
        "embedding": pa.array(blobs, pa.binary(width)),
    })
    meta = {"encoder": str(info["model"]), "dim": str(dim), "embedding": "float16 little-endian, np.frombuffer(b, '<f2')"}
    return table.replace_schema_metadata({**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in meta.items()}})


def check_no_text(panels: pd.DataFrame, table: pa.Table, proj: pd.DataFrame) -> None:
    for name, cols in (("panels", panels.columns), ("readme_versions", table.column_names), ("projects", proj.columns)):
        bad = [c for c in cols if c.lower() in ("text", "readme", "content") or "text" in c.lower()]
        if bad:
            raise SystemExit(f"{name} has a text-like column {bad}: refusing to write")
    ids = [str(u) for u in panels["unique_id"].unique()]
    assert all(ID_RE.match(u) for u in ids), "unique_id not owner/name"
    uids = table.column("unique_id").to_pylist()
    assert all(ID_RE.match(u) for u in set(uids)), "readme_versions unique_id not owner/name"
    shas = table.column("sha256").to_pylist()
    assert all(SHA256_RE.match(s) for s in shas), "sha256 not 64 hex"
    files = set(table.column("file").to_pylist())
    bad = [f for f in files if not FILE_RE.match(f)]
    assert not bad, f"file names that do not look like README files: {bad[:5]}"
    for c in proj.columns:
        if c == "root_commit":  # one 40-hex sha per root, any number of roots: checked by its own pattern below
            continue
        for v in proj[c].dropna().astype(str):
            if "\n" in v or len(v) > 600:
                raise SystemExit(f"projects.csv column {c} has a long/multi-line value: refusing to write")
    for v in proj["root_commit"].astype(str):
        assert re.fullmatch(r"[0-9a-f]{40}( [0-9a-f]{40})*", v), f"root_commit {v[:50]!r}"


def recheck(dest: Path) -> None:
    """Read the written files back and scan every string column again."""
    for f in ("panels.parquet", "readme_versions.parquet"):
        t = pq.read_table(dest / f)
        for name, col in zip(t.column_names, t.columns):
            typ = col.type
            if pa.types.is_dictionary(typ):
                typ = typ.value_type
            if pa.types.is_string(typ) or pa.types.is_large_string(typ):
                vals = set(col.to_pylist())
                pat = {"unique_id": ID_RE, "sha256": SHA256_RE, "file": FILE_RE}.get(name)
                if pat is None or not all(pat.match(v) for v in vals):
                    raise SystemExit(f"{dest / f}: string column {name} holds unexpected values")


def write_parquet(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd", compression_level=19)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
