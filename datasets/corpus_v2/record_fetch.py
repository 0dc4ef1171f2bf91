"""Record the fetch answers of a batch and write the builder's list: step 2 of FETCH.md.

    python3 datasets/corpus_v2/record_fetch.py --part v1 --batch 1 < answers.tsv

stdin: one line per repo of the batch, ``owner/name<TAB>answer``, where answer is the fetch
tool's reply: the returned git directory (``/work/.mirror/owner+name/repo``) or its refusal
sentence; ``present`` for a snapshot that was already on disk (next_batch said ``present``).
Repos of the plan without a line are taken as ``present`` when their snapshot is on disk, else
the script stops (fetch them first). A refusal counts as final unless it says to call fetch
again (then the script stops and asks for another try).

Writes ``lists/<part>-<k>.fetch.csv`` (repo, order, kind = fetched | reused | refused, answer,
git_dir, source = the clone's root ``<owner>+<name>/repo`` (the builder's input: fetch answers
``.../repo/.git`` for snapshots that are clones with a work tree, and tsfuse would name such a
series ".git"), fetched_at = the snapshot folder's mtime, i.e. when fetch finished moving it in,
bytes) and ``lists/<part>-<k>.txt`` (the sources of fetched + reused snapshots, one per line).
``reused`` = the snapshot was on disk before this batch was planned (someone else's; after_batch
leaves it in place).
"""

from __future__ import annotations

import argparse
import sys

import fetchlib as fl  # this folder is on sys.path when a script here runs


RETRY = ("still being copied", "did not arrive whole", "could not be copied", "can't be looked up right now",
         "has no room")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", required=True)
    ap.add_argument("--batch", type=int, required=True)
    args = ap.parse_args()
    part = fl.check_part(args.part)
    files = fl.batch_files(part, args.batch)
    plan = fl.read_csv(files["plan"])
    if not plan:
        raise SystemExit(f"no plan {files['plan']}; run next_batch.py first")
    res = fl.reserved()
    answers = {}
    for line in sys.stdin:
        if not line.strip() or line.startswith("#"):
            continue
        repo, _, answer = line.rstrip("\n").partition("\t")
        answers[repo.strip().lower()] = answer.strip()
    planned = {r["repo"].lower() for r in plan}
    extra = sorted(set(answers) - planned)
    if extra:
        raise SystemExit(f"answers for repos not in batch {part}-{args.batch}: {extra}")
    old = {r["repo"].lower(): r for r in fl.read_csv(files["fetch"])}
    done = fl.ledger_repos()
    planned_at = min(r["planned_at"] for r in plan)
    rows, retry = [], []
    for r in plan:
        repo, key = r["repo"], r["repo"].lower()
        if key in res:
            raise SystemExit(f"{repo} is reserved: it must not be fetched")
        folder = fl.snapshot_folder(repo)
        g = fl.git_dir(folder)
        answer = answers.get(key)
        if answer is None and key in old:
            rows.append(old[key])
            continue
        if answer is None and key in done:
            continue
        if answer is None:
            answer = "present" if g else ""
        if not answer:
            raise SystemExit(f"no fetch answer for {repo} and no snapshot at {folder}; fetch it first")
        if answer == "present" or answer.startswith(str(fl.MIRROR)):
            if g is None:
                raise SystemExit(f"{repo}: answer {answer!r} but no git directory under {folder}")
            mtime = folder.stat().st_mtime
            kind = "reused" if fl.utc_of(mtime) < planned_at else "fetched"
            # the builder's source is the clone's root <owner>+<name>/repo, also where the snapshot is a
            # clone with a work tree (fetch answers .../repo/.git): given the .git folder, tsfuse would
            # name the series ".git" (guess_id only knows <owner>+<name>/repo)
            rows.append({"repo": repo, "order": r["order"], "kind": kind, "answer": answer, "git_dir": str(g),
                         "source": str(folder / "repo"), "fetched_at": fl.utc_of(mtime),
                         "bytes": fl.du_bytes(folder)})
        elif any(s in answer.lower() for s in RETRY):
            retry.append((repo, answer))
        else:
            rows.append({"repo": repo, "order": r["order"], "kind": "refused", "answer": " ".join(answer.split()),
                         "git_dir": "", "fetched_at": fl.now_utc(), "bytes": 0})
    if retry:
        for repo, answer in retry:
            print(f"TRY AGAIN: {repo}: {answer}", file=sys.stderr)
        raise SystemExit("call fetch again for these, then rerun with their new answers (nothing written)")
    fl.write_csv(files["fetch"], rows, ["repo", "order", "kind", "answer", "git_dir", "source", "fetched_at", "bytes"])
    paths = [x.get("source") or x["git_dir"] for x in rows if x["kind"] in ("fetched", "reused")]
    files["list"].write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
    n = {k: sum(x["kind"] == k for x in rows) for k in ("fetched", "reused", "refused")}
    print(f"batch {part}-{args.batch}: {n}; list {files['list']} ({len(paths)} paths)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
