"""Ledger rows of a built batch, then delete its snapshots: step 4 of FETCH.md.

    python3 datasets/corpus_v2/after_batch.py --part v1 --list /work/v2-build/lists/v1-1.txt

For every repo of the batch's plan that is not in the ledger yet, appends one row to
``ledger.csv``:

- ``fetch_refused``: fetch's final answer in ``reason``;
- ``built``: the build has a done-marker for its snapshot; the numbers the corpus filters need
  are recorded (``span_months`` = calendar months from the first to the last authored commit,
  ``n_commits`` = non-merge commits, ``root_commit``; a first commit dated before 1995 counts from
  the panel's first month, a last commit after the snapshot's last update from that update), plus the snapshot's HEAD sha and size,
  its ``last_update`` (the series ends the month before it) and ``months``; ``reason`` carries
  notes (missing blobs, a root commit shared with an earlier ledger row);
- ``failed``: no done-marker; ``reason`` = the builder's error from ``failures.csv``;
- ``rejected``: fetched and built, but its unique_id (case-insensitive) is already in the
  ledger as built under another name (a case duplicate): kept out of the corpus.

Appends each built repo's main language to ``languages.csv`` (languages.py). Then deletes the snapshot folder ``/work/.mirror/<owner>+<name>`` of each repo this batch
fetched (not the ``reused`` ones, which were on disk before the batch), and writes
``lists/<part>-<k>.done``. Idempotent: rerun it after a stop; rows already in the ledger are
kept as they are and leftover snapshot folders are deleted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import fetchlib as fl  # this folder is on sys.path when a script here runs
from languages import COLUMNS, tree_language

LANGUAGES = fl.HERE / "languages.csv"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", required=True)
    ap.add_argument("--list", required=True)
    ap.add_argument("--keep-snapshots", action="store_true", help="do not delete the snapshot folders")
    args = ap.parse_args()
    part = fl.check_part(args.part)
    lpart, k = fl.batch_of_list(args.list)
    if lpart != part:
        raise SystemExit(f"--list {args.list} belongs to part {lpart}, not {part}")
    files = fl.batch_files(part, k)
    plan = fl.read_csv(files["plan"])
    fetch = {r["repo"].lower(): r for r in fl.read_csv(files["fetch"])}
    missing = [r["repo"] for r in plan if r["repo"].lower() not in fetch and r["repo"].lower() not in fl.ledger_repos()]
    if missing:
        raise SystemExit(f"no fetch record for {missing}; run record_fetch.py first")
    out = fl.build_out(part)
    by_source = {}
    for p in sorted((out / "done").glob("bucket=*/*.json")):
        m = json.loads(p.read_text(encoding="utf-8"))
        by_source[m["source"]] = m
    failures = {r["source"]: r["error"] for r in fl.read_csv(out / "failures.csv")}
    old = fl.ledger()
    built_ids = {r["repo"].lower(): r["repo"] for r in old if r["status"] == "built"}
    roots = {}
    for r in old:
        if r["status"] == "built" and r["root_commit"]:
            roots.setdefault(r["root_commit"], r["repo"])
    rows = []
    for p in plan:
        repo = p["repo"]
        f = fetch.get(repo.lower())
        if f is None:
            continue  # already in the ledger
        base = {"repo": repo, "order": p["order"], "part": part, "fetched_at": f["fetched_at"]}
        if f["kind"] == "refused":
            rows.append({**base, "status": "fetch_refused", "reason": f["answer"]})
            continue
        source = str(Path(f.get("source") or f["git_dir"]).resolve())
        m = by_source.get(source)
        gitdir = Path(f["git_dir"])
        sha = fl.head_sha(gitdir) if gitdir.is_dir() else ""
        nums = {"snapshot_bytes": f["bytes"], "head_sha": sha}
        if m is None:
            reason = failures.get(source) or failures.get(f["git_dir"]) or "no done-marker and no failure recorded"
            rows.append({**base, **nums, "status": "failed", "reason": " ".join(reason.split())[:500]})
            continue
        notes = []
        if int(m.get("missing_blobs") or 0):
            notes.append(f"missing_blobs={m['missing_blobs']}")
        if m["root_commit"] in roots:
            notes.append(f"root commit shared with {roots[m['root_commit']]}")
        status = "built"
        uid = str(m["unique_id"]).lower()
        if uid in built_ids and built_ids[uid].lower() != repo.lower() or uid != repo.lower():
            status = "rejected"
            notes.append(f"unique_id {m['unique_id']} already built as {built_ids.get(uid, '?')}"
                         if uid in built_ids else f"unique_id {m['unique_id']} differs from the repo name")
        span = ""
        if m.get("first_commit_at") and m.get("last_commit_at"):
            # bogus clocks: a first commit before 1995-01 counts from the panel's first month (the
            # builder ignores such commits), a last commit after the snapshot's update from that update
            first, last = m["first_commit_at"], m["last_commit_at"]
            if first < "1995-01":
                notes.append(f"first_commit_at {first} (bogus clock)")
                first = m["first_month"]
            if last > m["last_update"]:
                notes.append(f"last_commit_at {last} after last_update")
                last = m["last_update"]
            span = fl.month_index(last) - fl.month_index(first)
        rows.append({**base, **nums, "status": status, "reason": "; ".join(notes), "last_update": m["last_update"],
                     "months": m["months"], "n_commits": m["n_commits"], "span_months": span,
                     "root_commit": m["root_commit"]})
        if status == "built":
            built_ids[uid] = repo
            roots.setdefault(m["root_commit"], repo)
    added = fl.append_ledger(rows)
    record_languages([r["repo"] for r in rows if r["status"] == "built"], fetch)
    deleted = 0
    if not args.keep_snapshots:
        for f in fetch.values():
            if f["kind"] != "fetched":
                continue
            folder = fl.snapshot_folder(f["repo"])
            if folder.parent.resolve() != fl.MIRROR.resolve():
                raise SystemExit(f"refusing to delete {folder}: not directly under {fl.MIRROR}")
            if folder.exists():
                shutil.rmtree(folder)
                deleted += 1
    files["done"].write_text(fl.now_utc() + "\n", encoding="utf-8")
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print(f"batch {part}-{k}: {added} ledger row(s) added {counts}; {deleted} snapshot folder(s) deleted")
    return 0


def record_languages(repos: list[str], fetch: dict) -> None:
    """Append each built repo's main language (languages.py: from its HEAD tree's file names) to
    languages.csv, while its snapshot is still on disk."""
    done = {r["repo"].lower() for r in fl.read_csv(LANGUAGES)}
    rows = []
    for repo in repos:
        gitdir = Path(fetch[repo.lower()]["git_dir"])
        if repo.lower() not in done and gitdir.is_dir():
            rows.append({"repo": repo, **tree_language(gitdir)})
    if rows:
        fl.write_csv(LANGUAGES, fl.read_csv(LANGUAGES) + rows, COLUMNS)


if __name__ == "__main__":
    sys.exit(main())
