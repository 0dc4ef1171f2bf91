"""Shared helpers of the corpus v2 fetch scripts (next_batch, record_fetch, build_batch, after_batch, export).

Paths (override with the environment variables in brackets):

- candidates and ledger: this folder (``candidates.csv``, ``ledger.csv``, ``build-times.csv``);
- work folder [V2_BUILD]: ``/work/v2-build``: ``lists/<part>-<k>.plan.csv`` (the batch plan),
  ``lists/<part>-<k>.fetch.csv`` (fetch answers), ``lists/<part>-<k>.txt`` (git directories, the
  builder's list), ``lists/<part>-<k>.done`` (after_batch finished), ``<part>/`` (the tsfuse build),
  ``logs/<part>-<k>.log`` (build log);
- snapshots [V2_MIRROR]: ``/work/.mirror/<owner>+<name>/`` (what ``fetch`` brings);
- reserved list [V2_RESERVED]: ``/work/shared/data/reserved-projects.txt``.

Nothing here reads or writes README text into this folder; only the tsfuse build folder (outside
the repository) holds texts.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
CANDIDATES = HERE / "candidates.csv"
LEDGER = HERE / "ledger.csv"
BUILD_TIMES = HERE / "build-times.csv"
DERIVED = HERE / "derived"
WORK = Path(os.environ.get("V2_BUILD", "/work/v2-build"))
LISTS = WORK / "lists"
LOGS = WORK / "logs"
MIRROR = Path(os.environ.get("V2_MIRROR", "/work/.mirror"))
RESERVED = Path(os.environ.get("V2_RESERVED", "/work/shared/data/reserved-projects.txt"))

LEDGER_COLUMNS = ["repo", "order", "part", "fetched_at", "status", "reason", "snapshot_bytes", "head_sha",
                  "last_update", "months", "n_commits", "span_months", "root_commit"]
STATUSES = ("built", "rejected", "failed", "fetch_refused")
BUILD_TIME_COLUMNS = ["part", "batch", "repos", "fetched", "reused", "refused", "built", "failed",
                      "fetch_seconds", "build_seconds", "wall_seconds", "bytes_fetched",
                      "fetch_s_per_repo", "build_s_per_repo", "repos_per_minute", "finished_at", "tsfuse"]
PART_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_of(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_part(part: str) -> str:
    if not PART_NAME.match(part):
        raise SystemExit(f"--part must be letters, digits, - or _; got {part!r}")
    return part


def read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    """Atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n", extrasaction="raise")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def candidates() -> list[dict]:
    rows = read_csv(CANDIDATES)
    for r in rows:
        r["order"] = int(r["order"])
    return rows


def reserved() -> set[str]:
    """Reserved projects, lower-cased; a missing list is an error (never fetch without checking)."""
    if not RESERVED.is_file():
        raise SystemExit(f"reserved list {RESERVED} is missing: refusing to go on without it")
    return {line.strip().lower() for line in RESERVED.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}


def ledger() -> list[dict]:
    return read_csv(LEDGER)


def ledger_repos() -> set[str]:
    return {r["repo"].lower() for r in ledger()}


def append_ledger(rows: list[dict]) -> int:
    """Append rows for repos not in the ledger yet (case-insensitive); returns how many were added."""
    old = ledger()
    seen = {r["repo"].lower() for r in old}
    new = []
    for r in rows:
        if r["status"] not in STATUSES:
            raise ValueError(f"bad status {r['status']!r}")
        if r["repo"].lower() not in seen:
            seen.add(r["repo"].lower())
            new.append(r)
    if new:
        write_csv(LEDGER, old + new, LEDGER_COLUMNS)
    return len(new)


def snapshot_folder(repo: str) -> Path:
    owner, name = repo.split("/")
    return MIRROR / f"{owner}+{name}"


def git_dir(folder: Path) -> Path | None:
    """The git directory inside a snapshot folder (``repo`` or ``repo/.git``), or None."""
    for cand in (folder / "repo" / ".git", folder / "repo"):
        if (cand / "HEAD").is_file() and (cand / "objects").is_dir():
            return cand
    return None


def du_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def head_sha(gitdir: Path) -> str:
    out = subprocess.run(["git", "--git-dir", str(gitdir), "rev-parse", "--verify", "-q", "HEAD"],
                         capture_output=True, text=True, env={**os.environ, "GIT_ALLOW_PROTOCOL": "none"})
    return out.stdout.strip()


def batch_files(part: str, k: int) -> dict[str, Path]:
    stem = f"{part}-{k}"
    return {"plan": LISTS / f"{stem}.plan.csv", "fetch": LISTS / f"{stem}.fetch.csv",
            "list": LISTS / f"{stem}.txt", "done": LISTS / f"{stem}.done", "log": LOGS / f"{stem}.log"}


def batches(part: str) -> list[int]:
    found = []
    for p in LISTS.glob(f"{part}-*.plan.csv"):
        m = re.fullmatch(rf"{re.escape(part)}-(\d+)\.plan\.csv", p.name)
        if m:
            found.append(int(m[1]))
    return sorted(found)


def batch_of_list(path: str | Path) -> tuple[str, int]:
    m = re.fullmatch(r"([A-Za-z0-9_-]+)-(\d+)\.txt", Path(path).name)
    if not m:
        raise SystemExit(f"{path}: expected a list named <part>-<k>.txt under {LISTS}")
    return m[1], int(m[2])


def build_out(part: str) -> Path:
    return WORK / part


def month_index(iso: str) -> int:
    y, m = int(iso[:4]), int(iso[5:7])
    return y * 12 + m - 1
