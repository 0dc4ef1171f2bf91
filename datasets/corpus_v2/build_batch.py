"""Build the panels of one fetched batch with tsfuse's data layer, timed: step 3 of FETCH.md.

    python3 datasets/corpus_v2/build_batch.py --list /work/v2-build/lists/v1-1.txt

Runs, with PYTHONPATH=/work/v2-build/tsfuse-<sha12> (a ``git archive`` copy of the package at
``--tsfuse-commit``, default HEAD: committed code, not the live working tree, which others edit
meanwhile; and not the installed tsfuse, which may be an editable install of another checkout),

    tsfuse data build --repos LIST --out /work/v2-build/<part> --engine dask --workers 2 --embed

with its log in ``/work/v2-build/logs/<part>-<k>.log``, then writes the batch's row of
``build-times.csv`` (replacing an earlier row of the same batch, e.g. after a resumed build):
fetch seconds (from planning the batch to the last snapshot's arrival, as the snapshot folders'
mtimes say: it includes the time between fetch calls), build seconds (wall time of this build
command, including dask start-up and the embedding pass), bytes fetched (snapshot folders on disk),
``tsfuse`` = the commit the package was built from.
The build is resumable: rerunning this after a stop rebuilds only what has no done-marker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import fetchlib as fl  # this folder is on sys.path when a script here runs


ROOT = fl.HERE.parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tsfuse-commit", default=os.environ.get("V2_TSFUSE_COMMIT"),
                    help="build with the package as committed at this commit (default: $V2_TSFUSE_COMMIT, else HEAD)")
    ap.add_argument("--no-embed", action="store_true", help="skip the embedding pass (not the FETCH.md procedure)")
    args = ap.parse_args()
    part, k = fl.batch_of_list(args.list)
    files = fl.batch_files(part, k)
    fetch_rows = fl.read_csv(files["fetch"])
    plan = fl.read_csv(files["plan"])
    paths = [line.strip() for line in Path(args.list).read_text(encoding="utf-8").splitlines() if line.strip()]
    out = fl.build_out(part)
    fl.LOGS.mkdir(parents=True, exist_ok=True)
    build_seconds = 0.0
    commit = ""
    if paths:
        cmd = ["tsfuse", "data", "build", "--repos", str(Path(args.list).resolve()), "--out", str(out),
               "--engine", "dask", "--workers", str(args.workers)]
        if not args.no_embed:
            cmd.append("--embed")
        commit, src = frozen_tsfuse(args.tsfuse_commit)
        print(f"tsfuse {commit} from {src}: " + " ".join(cmd), flush=True)
        started = time.perf_counter()
        with open(files["log"], "a", encoding="utf-8") as log:
            log.write(f"\n### {fl.now_utc()} tsfuse {commit} ({src}) {' '.join(cmd)}\n")
            log.flush()
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))}
            rc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
        build_seconds = time.perf_counter() - started
        print(f"build rc={rc} in {build_seconds:.1f} s; log {files['log']}")
        if rc != 0:
            print(subprocess.run(["tail", "-30", str(files["log"])], capture_output=True, text=True).stdout)
            return rc
    done = {m["source"] for m in markers(out)}
    sources = {str(Path(p).resolve()) for p in paths}
    built = len(sources & done)
    fetched = [r for r in fetch_rows if r["kind"] == "fetched"]
    t0 = min(r["planned_at"] for r in plan)
    t1 = max((r["fetched_at"] for r in fetched), default=t0)
    fetch_seconds = max(0.0, (parse(t1) - parse(t0)).total_seconds())
    row = {"part": part, "batch": k, "repos": len(plan), "fetched": len(fetched),
           "reused": sum(r["kind"] == "reused" for r in fetch_rows),
           "refused": sum(r["kind"] == "refused" for r in fetch_rows), "built": built,
           "failed": len(paths) - built, "fetch_seconds": round(fetch_seconds, 1),
           "build_seconds": round(build_seconds, 1), "wall_seconds": round(fetch_seconds + build_seconds, 1),
           "bytes_fetched": sum(int(r["bytes"]) for r in fetched),
           "fetch_s_per_repo": round(fetch_seconds / len(fetched), 2) if fetched else "",
           "build_s_per_repo": round(build_seconds / len(paths), 2) if paths else "",
           "repos_per_minute": round(len(plan) / ((fetch_seconds + build_seconds) / 60), 2)
           if fetch_seconds + build_seconds > 0 else "",
           "finished_at": fl.now_utc(), "tsfuse": commit}
    times = [r for r in fl.read_csv(fl.BUILD_TIMES) if not (r["part"] == part and int(r["batch"]) == k)]
    times.append(row)
    times.sort(key=lambda r: (r["part"], int(r["batch"])))
    fl.write_csv(fl.BUILD_TIMES, times, fl.BUILD_TIME_COLUMNS)
    print(json.dumps(row))
    return 0


def frozen_tsfuse(commit: str | None) -> tuple[str, Path]:
    """A copy of the package ``tsfuse/`` at a commit (default: HEAD) under /work/v2-build/tsfuse-<sha12>/.

    The working tree is being edited by others while batches build (a half-made edit once broke
    an import in the middle of a batch), so the builder runs from committed code, never from the
    live tree. ``git archive`` of the package folder only; made once per commit.
    """
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{commit or 'HEAD'}^{{commit}}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    dest = fl.WORK / f"tsfuse-{sha[:12]}"
    if not (dest / "tsfuse" / "__init__.py").is_file():
        tmp = fl.WORK / f".tsfuse-{sha[:12]}.tmp"
        subprocess.run(["rm", "-rf", str(tmp)], check=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha, "tsfuse"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
        subprocess.run(["rm", "-rf", str(dest)], check=True)
        os.replace(tmp, dest)
    return sha[:12], dest


def markers(out: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "done").glob("bucket=*/*.json"))]


def parse(iso: str) -> dt.datetime:
    return dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")


if __name__ == "__main__":
    sys.exit(main())
