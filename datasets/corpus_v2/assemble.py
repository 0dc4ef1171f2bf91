"""Assemble the embedded corpus oss-activity-v2 from the exported parts: the last step of FETCH.md.

    python3 datasets/corpus_v2/assemble.py [--parts datasets/corpus_v2/derived] [--out tsfuse/data/embedded/oss-activity-v2/v1]

Applies the corpus filters of PROCEDURE.md to every built project of every part, in this order,
and counts each (``counts`` in MANIFEST.json, the datasheet's filter table):

1. reserved (``reserved-projects.txt``): never fetched, so 0; checked again here;
2. ``span_months < 18`` (calendar months from the first to the last authored commit);
3. ``n_commits < 50`` (non-merge commits);
4. a shared root commit (a fork or copy): among projects that pass 1-3 and share a root commit
   (directly or through a chain), the one with the most non-merge commits is kept (ties: the lower
   candidate ``order``).

Writes ``<out>/parts/<part>/`` (copies of the exported files), ``<out>/selection.csv`` (every built
project: ``unique_id, part, kept, reason``) and ``<out>/MANIFEST.json`` (counts, sources, sha256 of
every file). Deterministic for the same inputs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import pandas as pd

import fetchlib as fl  # this folder is on sys.path when a script here runs

REPO = fl.HERE.parents[1]
sys.path.insert(0, str(REPO))
from tsfuse.data.corpus import sha256_file  # noqa: E402
from tsfuse.data.parts import PARTS_DIR, PANELS_FILE, PROJECTS_FILE, SELECTION_FILE, VERSIONS_FILE  # noqa: E402

MIN_SPAN, MIN_COMMITS = 18, 50
OUT = REPO / "tsfuse" / "data" / "embedded" / "oss-activity-v2" / "v1"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=Path, default=fl.DERIVED, help="folder with one exported folder per part")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    parts = sorted(p.name for p in args.parts.iterdir() if (p / PROJECTS_FILE).is_file())
    projects = pd.concat([pd.read_csv(args.parts / p / PROJECTS_FILE, dtype={"root_commit": str}) for p in parts],
                         ignore_index=True)
    selection, counts = select(projects, fl.reserved())
    counts["handled"] = ledger_counts([p for p in parts])
    write(args, parts, selection, counts)
    print(json.dumps(counts, indent=1))
    return 0


def select(projects: pd.DataFrame, reserved: set[str]) -> tuple[pd.DataFrame, dict]:
    """(selection: unique_id, part, kept, reason; counts per filter)."""
    p = projects.sort_values("order", kind="stable").reset_index(drop=True)
    reason = pd.Series("", index=p.index)
    is_reserved = p["repo"].str.lower().isin(reserved) | p["unique_id"].str.lower().isin(reserved)
    reason[is_reserved] = "reserved"
    short = p["span_months"] < MIN_SPAN
    few = p["n_commits"] < MIN_COMMITS
    reason[(reason == "") & short] = [f"span_months {v} < {MIN_SPAN}" for v in p.loc[(reason == "") & short, "span_months"]]
    reason[(reason == "") & few] = [f"n_commits {v} < {MIN_COMMITS}" for v in p.loc[(reason == "") & few, "n_commits"]]
    passing = p.index[reason == ""]
    for loser, winner in root_duplicates(p.loc[passing]):
        reason[loser] = f"root commit shared with {p.loc[winner, 'unique_id']} (more commits)"
    selection = pd.DataFrame({"unique_id": p["unique_id"], "part": p["part"], "kept": reason == "", "reason": reason})
    counts = {"built": len(p), "reserved": int(is_reserved.sum()),
              "span_lt_18": int(short.sum()), "commits_lt_50": int(few.sum()),
              "span_lt_18_and_commits_lt_50": int((short & few).sum()),
              "shared_root_commit": int(reason.str.startswith("root commit").sum()),
              "kept": int((reason == "").sum()),
              "kept_by_part": {k: int(v) for k, v in selection[selection["kept"]].groupby("part").size().items()}}
    return selection.sort_values("unique_id", kind="stable").reset_index(drop=True), counts


def root_duplicates(p: pd.DataFrame) -> list[tuple[int, int]]:
    """(loser, winner) row pairs: projects linked by shared root commits, all but the one with the most
    commits (ties: lower order) lose to it."""
    parent = {i: i for i in p.index}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with_root: dict[str, int] = {}
    for i, roots in zip(p.index, p["root_commit"].fillna("")):
        for root in roots.split():
            if root in first_with_root:
                parent[find(i)] = find(first_with_root[root])
            else:
                first_with_root[root] = i
    groups: dict[int, list[int]] = {}
    for i in p.index:
        groups.setdefault(find(i), []).append(i)
    pairs = []
    for members in groups.values():
        if len(members) > 1:
            winner = sorted(members, key=lambda i: (-int(p.loc[i, "n_commits"]), int(p.loc[i, "order"])))[0]
            pairs += [(i, winner) for i in members if i != winner]
    return pairs


def ledger_counts(parts: list[str]) -> dict:
    """Ledger rows of these parts by status (fetched or not)."""
    rows = [r for r in fl.ledger() if r["part"] in parts]
    return {s: sum(r["status"] == s for r in rows) for s in fl.STATUSES} | {"rows": len(rows)}


def write(args, parts: list[str], selection: pd.DataFrame, counts: dict) -> None:
    out = args.out
    for part in parts:
        dest = out / PARTS_DIR / part
        dest.mkdir(parents=True, exist_ok=True)
        for name in (PANELS_FILE, VERSIONS_FILE, PROJECTS_FILE):
            shutil.copyfile(args.parts / part / name, dest / name)
    for stale in sorted((out / PARTS_DIR).iterdir()):
        if stale.name not in parts:
            shutil.rmtree(stale)
    selection.to_csv(out / SELECTION_FILE, index=False, lineterminator="\n")
    files = sorted(str(f.relative_to(out)) for f in out.rglob("*") if f.is_file() and f.name != "MANIFEST.json")
    manifest = {
        "corpus": "oss-activity-v2", "version": "v1",
        "built_by": "datasets/corpus_v2 (fetch + tsfuse data build --repos --engine dask; export.py; assemble.py)",
        "licence": "derived git metadata (monthly commit counts, authors, churn, merges, releases) of public GitHub "
                   "repositories and embeddings of their READMEs (no README text, no source code)",
        "readme": {"as_of": "versions: the README as of the first day of each quarter (the latest version before "
                            "a window's origin is read)", "text_model": "all-MiniLM-L6-v2", "dtype": "float16"},
        "filters": {"span_months_min": MIN_SPAN, "n_commits_min": MIN_COMMITS, "root_commit": "one per root commit"},
        "counts": counts, "parts": parts,
        "files": {f: {"sha256": sha256_file(out / f), "bytes": (out / f).stat().st_size} for f in files},
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
