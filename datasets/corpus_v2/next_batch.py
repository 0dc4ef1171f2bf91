"""Print (and plan) the next batch of candidates to fetch: step 1 of FETCH.md.

    python3 datasets/corpus_v2/next_batch.py --part v1 --first 1 --last 253 --size 20

Takes the candidates with ``first <= order <= last``, in ``order``, that are not in the ledger
(any status, case-insensitive) nor in a batch that is waiting for its build, at most ``size`` of
them, and writes the plan ``/work/v2-build/lists/<part>-<k>.plan.csv`` (k = the next batch number
of the part). If the part has a batch still being fetched (a plan with repos not in the ledger
and no list ``<part>-<k>.txt`` yet), that batch is printed again instead of a new one, so a
stopped session resumes where it stopped; a batch that has its list but has not been through
after_batch is named in a NOTE with the commands that finish it (this lets the next batch be
fetched while the previous one builds).

Output: ``# batch <part>-<k> ...`` then one line per repo: ``order<TAB>repo<TAB>action`` where
action is ``fetch`` (call the fetch tool) or ``present <git dir>`` (a snapshot is already on
disk: do not fetch it again). Reserved projects are refused (exit 2), whatever the candidate list says.
"""

from __future__ import annotations

import argparse
import sys

import fetchlib as fl  # this folder is on sys.path when a script here runs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", required=True)
    ap.add_argument("--first", type=int, required=True, help="first order (inclusive)")
    ap.add_argument("--last", type=int, required=True, help="last order (inclusive)")
    ap.add_argument("--size", type=int, default=20)
    args = ap.parse_args()
    part = fl.check_part(args.part)
    res = fl.reserved()
    done = fl.ledger_repos()
    fl.LISTS.mkdir(parents=True, exist_ok=True)

    # open batches of this part: one still being fetched (no list yet) is resumed; one fetched but
    # not through after_batch yet is waiting for its build (its repos are left out of a new batch)
    waiting, busy = [], set()
    for k in fl.batches(part):
        files = fl.batch_files(part, k)
        plan = fl.read_csv(files["plan"])
        if all(r["repo"].lower() in done for r in plan):
            continue
        if not files["list"].is_file():
            return show(part, k, plan, res, done, resumed=True)
        waiting.append(k)
        busy |= {r["repo"].lower() for r in plan}
    for k in waiting:
        f = fl.batch_files(part, k)
        print(f"# NOTE batch {part}-{k} is fetched but not finished: python3 datasets/corpus_v2/build_batch.py "
              f"--list {f['list']} && python3 datasets/corpus_v2/after_batch.py --part {part} --list {f['list']}")

    rows = [r for r in fl.candidates() if args.first <= r["order"] <= args.last]
    rows.sort(key=lambda r: r["order"])
    todo = [r for r in rows if r["repo"].lower() not in done and r["repo"].lower() not in busy][: args.size]
    if not todo:
        print(f"# part {part}: orders {args.first}-{args.last} are all in the ledger; nothing to do")
        return 1
    k = max(fl.batches(part), default=0) + 1
    plan = [{"repo": r["repo"], "order": r["order"], "source": r["source"], "planned_at": fl.now_utc()} for r in todo]
    bad = [r["repo"] for r in plan if r["repo"].lower() in res]
    if bad:
        print(f"REFUSED: reserved project(s) in the candidate range: {bad}", file=sys.stderr)
        return 2
    fl.write_csv(fl.batch_files(part, k)["plan"], plan, ["repo", "order", "source", "planned_at"])
    return show(part, k, plan, res, done, resumed=False)


def show(part: str, k: int, plan: list[dict], res: set[str], done: set[str], resumed: bool) -> int:
    bad = [r["repo"] for r in plan if r["repo"].lower() in res]
    if bad:
        print(f"REFUSED: reserved project(s) in batch {part}-{k}: {bad}", file=sys.stderr)
        return 2
    open_rows = [r for r in plan if r["repo"].lower() not in done]
    orders = [int(r["order"]) for r in plan]
    print(f"# batch {part}-{k} ({'resumed, ' if resumed else ''}orders {min(orders)}-{max(orders)}, "
          f"{len(open_rows)} of {len(plan)} not in the ledger)")
    print(f"# files: {fl.batch_files(part, k)['plan']}")
    for r in open_rows:
        g = fl.git_dir(fl.snapshot_folder(r["repo"]))
        action = f"present {g}" if g else "fetch"
        print(f"{r['order']}\t{r['repo']}\t{action}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
