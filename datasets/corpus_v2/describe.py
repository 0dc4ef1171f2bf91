"""The datasheet tables of oss-activity-v2, computed from the shipped corpus and the build records.

    python3 datasets/corpus_v2/describe.py > /tmp/v2-tables.md
    python3 datasets/corpus_v2/describe.py --build-page benchmarks/results/corpus-v2-build.md

Prints Markdown: the filter counts (MANIFEST.json), the mix of the new projects against v1's
(size by non-merge commits, age = span in years, lifecycle at the snapshot, language group, snapshot
year) and the anomalies found (bulk-dated histories, snapshots missing large blobs, bogus clocks,
shared root commits). Languages of new projects come from ``languages.csv`` (HEAD tree file names,
recorded from batch new1-12 on); v1's from its own metadata. ``--build-page PATH`` writes only the
build cost (repositories per minute, seconds and bytes per repository) as a results page naming its
command and commit instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import fetchlib as fl  # this folder is on sys.path when a script here runs

REPO = fl.HERE.parents[1]
sys.path.insert(0, str(REPO))
from tsfuse.data.corpus import embedded_dir, load_corpus  # noqa: E402
from tsfuse.data.parts import read_selection  # noqa: E402
from benchmarks.common import git_state, machine  # noqa: E402

SIZES = [(0, 500, "tiny(<500)"), (500, 2000, "small(500-2k)"), (2000, 10000, "medium(2k-10k)"),
         (10000, 50000, "large(10k-50k)"), (50000, np.inf, "xlarge(>=50k)")]


def lifecycle(days_idle: float) -> str:
    """v1's rule: quiet when idle > 730 days at the snapshot, slowing > 365, else active."""
    return "quiet" if days_idle > 730 else "slowing" if days_idle > 365 else "active"


def markdown(frame: pd.DataFrame) -> str:
    """A small Markdown table (index as the first column, numbers with 2 decimals)."""
    rows = ["| | " + " | ".join(map(str, frame.columns)) + " |", "|---|" + "---:|" * len(frame.columns)]
    rows += [f"| {i} | " + " | ".join(f"{v:.2f}" for v in row) + " |" for i, row in zip(frame.index, frame.to_numpy())]
    return "\n".join(rows)


def describe(meta: pd.DataFrame, languages: pd.Series) -> dict[str, pd.Series]:
    last = pd.to_datetime(meta["last_commit_at"], utc=True, format="ISO8601")
    snap = pd.to_datetime(meta["snapshot"], utc=True, format="ISO8601")
    size = pd.cut(meta["n_commits"], [s[0] for s in SIZES] + [np.inf], right=False, labels=[s[2] for s in SIZES])
    return {"size": size.value_counts(normalize=True).reindex([s[2] for s in SIZES]),
            "age (years from first to last commit)": (meta["span_months"] / 12).describe(percentiles=[.25, .5, .75])
            [["25%", "50%", "75%"]],
            "lifecycle": ((snap - last).dt.days.map(lifecycle)).value_counts(normalize=True)
            .reindex(["active", "slowing", "quiet"]).fillna(0),
            "language group": languages.value_counts(normalize=True),
            "snapshot year": snap.dt.year.value_counts(normalize=True).sort_index()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-page", type=Path, help="write the build-cost results page here instead")
    args = ap.parse_args()
    if args.build_page:
        args.build_page.write_text(build_page(args.build_page), encoding="utf-8")
        print(f"wrote {args.build_page}")
        return 0
    folder = embedded_dir("oss-activity-v2")
    manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    v2 = load_corpus("oss-activity-v2")
    v1 = load_corpus("oss-activity").meta.set_index("unique_id")
    meta = v2.meta.set_index("unique_id")
    langs = pd.DataFrame(fl.read_csv(fl.HERE / "languages.csv"), columns=["repo", "language_group"])
    by_repo = dict(zip(langs["repo"].str.lower(), langs["language_group"]))
    is_new = meta["part"] != "v1"
    new_lang = pd.Series([by_repo.get(u.lower(), "not recorded") for u in meta.index[is_new]])
    c = manifest["counts"]
    h = c["handled"]
    print("| step | repositories |\n|---|---:|")
    for label, n in [("candidates handled (ledger rows)", h["rows"]), ("fetch refused (too big, no snapshot, ...)",
                     h["fetch_refused"]), ("fetched, build failed", h["failed"]), ("case duplicate (rejected)", h["rejected"]),
                     ("built", c["built"]), ("reserved", c["reserved"]), ("span < 18 months", c["span_lt_18"]),
                     ("< 50 non-merge commits", c["commits_lt_50"]), ("(both of the two above)", c["span_lt_18_and_commits_lt_50"]),
                     ("shared root commit (fork/copy; the one with more commits kept)", c["shared_root_commit"]),
                     ("**kept**", c["kept"])]:
        print(f"| {label} | {n:,} |")
    print(f"\nkept by part: {c['kept_by_part']}\n")
    tables = {"v1 (shipped oss-activity)": None, "v2: v1 part": meta[~is_new], "v2: new": meta[is_new]}
    stats = {name: describe(m, new_lang if name == "v2: new" else v1.reindex(m.index)["language_group"].fillna("other"))
             for name, m in tables.items() if m is not None}
    stats["v1 (shipped oss-activity)"] = {
        "size": v1["size_class"].value_counts(normalize=True).reindex([s[2] for s in SIZES]),
        "lifecycle": v1["lifecycle"].value_counts(normalize=True).reindex(["active", "slowing", "quiet"]).fillna(0),
        "language group": v1["language_group"].value_counts(normalize=True),
        "snapshot year": pd.to_datetime(v1["snapshot"], utc=True).dt.year.value_counts(normalize=True).sort_index()}
    for key in ("size", "age (years from first to last commit)", "lifecycle", "language group", "snapshot year"):
        frame = pd.DataFrame({name: s.get(key) for name, s in stats.items() if s.get(key) is not None}).fillna(0)
        print(f"**{key}**" + ("" if key.startswith("age") else " (share of projects)") + "\n")
        print(markdown(frame))
        print()
    print("**anomalies** (kept projects)\n")
    reasons = meta["reason"].fillna("")
    bulk = meta.index[meta["max_month_share"] >= 0.5].tolist()
    print(f"- largest one-month share of commits >= 0.5 (bulk-dated or burst histories): {len(bulk)} {bulk[:5]}")
    print(f"- snapshots missing blobs of 4 MiB or more: {int((meta['missing_blobs'].fillna(0) > 0).sum())}")
    print(f"- bogus clocks (a commit dated before 1995): {int(reasons.str.contains('bogus clock').sum())}")
    print(f"- README versions: {len(v2.texts):,} ({int(v2.texts['present'].sum()):,} with readable prose), "
          f"median {int(v2.texts.groupby('unique_id').size().median())} per project")
    out = read_selection(folder)
    print(f"- shared root commits: {out.loc[out['reason'].str.startswith('root'), 'unique_id'].tolist()}")
    print()
    print(build_costs())
    return 0


def build_costs() -> str:
    """Per part, from build-times.csv: repositories, fetch and build seconds per repository, the
    snapshot bytes fetched and repositories per minute of the build (fetching overlaps building)."""
    t = pd.DataFrame(fl.read_csv(fl.BUILD_TIMES))
    for c in ("repos", "fetched", "built", "failed", "fetch_seconds", "build_seconds", "bytes_fetched"):
        t[c] = pd.to_numeric(t[c])
    g = t.groupby("part", sort=True).agg(batches=("batch", "size"), repos=("repos", "sum"), fetched=("fetched", "sum"),
                                         built=("built", "sum"), fetch_s=("fetch_seconds", "sum"),
                                         build_s=("build_seconds", "sum"), gb=("bytes_fetched", lambda b: b.sum() / 1e9))
    rows = ["| part | batches | repositories | fetched | built | fetch s / repo | build s / built repo | "
            "GB fetched | built repos / min of build |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for part, r in g.iterrows():
        rows.append(f"| {part} | {int(r.batches)} | {int(r.repos)} | {int(r.fetched)} | {int(r.built)} | {r.fetch_s / r.repos:.1f} | "
                    f"{r.build_s / max(r.built, 1):.1f} | {r.gb:.1f} | {60 * r.built / r.build_s:.2f} |")
    a = g.sum()
    rows.append(f"| **all** | {int(a.batches)} | {int(a.repos)} | {int(a.fetched)} | {int(a.built)} | {a.fetch_s / a.repos:.1f} | "
                f"{a.build_s / a.built:.1f} | {a.gb:.1f} | {60 * a.built / a.build_s:.2f} |")
    return "\n".join(rows)


def build_page(page: Path) -> str:
    """The results page of the corpus v2 build: :func:`build_costs`, the derived bytes per kept project
    and the build commits, with the command and commit that wrote it.

    Args:
        page: where the page goes; its own uncommitted state does not mark the checkout dirty.
    """
    folder = embedded_dir("oss-activity-v2")
    kept = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))["counts"]["kept"]
    derived = sum(p.stat().st_size for p in (folder / "parts").rglob("*") if p.is_file())
    commits = {r["tsfuse"] for r in fl.read_csv(fl.BUILD_TIMES)}
    git, mach = git_state(page), machine()
    return "\n".join([
        "# Corpus v2 build: repositories per minute (issue 13)", "",
        "- command: `python3 datasets/corpus_v2/describe.py --build-page benchmarks/results/corpus-v2-build.md`",
        f"- git: {git['commit']}{' (uncommitted changes)' if git['dirty'] else ''}; the numbers are "
        "`datasets/corpus_v2/build-times.csv` (one row per batch of 20 candidates, written by "
        "`build_batch.py` as each batch ended, run by `finish_batch.sh`)",
        "- builds: `tsfuse data build --repos LIST --engine dask --workers 2 --embed` (FETCH.md), at "
        f"{len(commits)} successive tsfuse commits (the CSV's `tsfuse` column names each batch's)",
        f"- machine: {mach['cpu_count']} CPU cores, no GPU, shared with training runs (load 4-8); fetching overlaps building",
        "", build_costs(), "",
        "A build second per repository covers `git log` over the whole history, the README as of each quarter "
        "(read with `git show`) and its embeddings with the default encoder. Fetch seconds include the waits of "
        "the fetch tool (snapshots \"still being copied\", tool errors).",
        "", f"Derived data per kept project: {derived / kept / 1e3:.1f} kB ({derived / 1e6:.1f} MB of Parquet and CSV "
        f"for {kept:,} projects in `tsfuse/data/embedded/oss-activity-v2/v1/parts/`). The projection to 100,000 "
        "repositories from these numbers is in docs/scaling.md.", ""])


if __name__ == "__main__":
    sys.exit(main())
