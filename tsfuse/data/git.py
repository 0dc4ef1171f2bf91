"""A local git repository -> monthly panel + README, read the way the oss-activity corpus was built.

- commits: ``git log HEAD --no-renames --shortstat`` (all parents); merges (more than one parent)
  get no diff, so 0 insertions/deletions; ``author_id`` = first 12 hex of sha1 of the lower-cased
  author e-mail after ``.mailmap`` (``%aE``);
- tags: every ref under ``refs/tags``, dated by the committer date of the commit it points to
  (through an annotated tag), else by the tag's creator date;
- README: the first of :data:`README_NAMES` at HEAD, else any top-level file whose name starts
  with "readme" (any case); decoded as UTF-8 (bad bytes replaced, as in the corpus, with a warning),
  then checked by :func:`tsfuse.text.clean.prepare_readme` (binary refused, cut to 20,000 characters).

The series rules themselves are :func:`tsfuse.data.commits.from_commits`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
from pathlib import Path

import pandas as pd

from tsfuse.data.commits import from_commits
from tsfuse.data.schema import PanelError
from tsfuse.text.clean import prepare_readme

README_NAMES = ("README.md", "README.rst", "README.txt", "readme.md", "README", "docs/README.md")
log = logging.getLogger(__name__)
_RECORD, _FIELD = "\x1e", "\x1f"
_STAT = re.compile(r"(\d+) (file|insertion|deletion)")


def from_git(path: str | Path, *, snapshot: str | pd.Timestamp | None = None,
             unique_id: str | None = None) -> tuple[pd.DataFrame, str]:
    """Panel (see :mod:`tsfuse.data.commits`) and README text of the repository at ``path``.

    ``snapshot`` defaults to now (UTC), so the current, incomplete month is dropped.
    ``unique_id`` defaults to ``owner/name`` from the ``origin`` remote URL, else the folder name.
    """
    repo = check_repository(path)
    commits = read_commits(repo)
    snap = pd.Timestamp.now(tz="UTC") if snapshot is None else snapshot
    panel = from_commits(commits, read_tags(repo), snapshot=snap, unique_id=unique_id or _guess_id(repo))
    return panel, read_readme(repo)


def check_repository(path: str | Path) -> Path:
    """``path`` as a complete (non-shallow) git repository with commits, else a clear PanelError."""
    repo = Path(path).expanduser()
    if not repo.exists():
        raise PanelError(f"{repo} does not exist; pass the folder of a git clone")
    try:
        top = _git(repo, "rev-parse", "--show-toplevel").strip()
    except PanelError as exc:
        if _git(repo, "rev-parse", "--is-bare-repository", check=False).strip() != "true":
            raise PanelError(f"{repo} is not a git repository; clone it first (git clone <url>). {exc}") from None
        top = str(repo)
    if Path(top).resolve() != repo.resolve():
        raise PanelError(f"{repo} is inside the git repository {top}, not its root; pass {top}")
    if _git(repo, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise PanelError(f"{repo} is a shallow clone, so its history is cut; run `git fetch --unshallow` "
                         "in it (or clone without --depth) first")
    if not _git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False).strip():
        raise PanelError(f"{repo} has no commits yet (HEAD does not point to a commit)")
    return repo


def read_commits(repo: Path) -> pd.DataFrame:
    """One row per commit reachable from HEAD, columns as the corpus's commits.csv.gz."""
    fmt = _FIELD.join(["%H", "%P", "%aE", "%at", "%ct"])
    out = _git(repo, "log", "HEAD", "--no-renames", "--shortstat", "--no-color", "--no-show-signature",
               "--no-ext-diff", f"--format={_RECORD}{fmt}")
    ids: dict[str, str] = {}
    rows = []
    for record in out.split(_RECORD)[1:]:
        header, _, stat = record.partition("\n")
        sha, parents, email, authored, committed = header.split(_FIELD)
        if email not in ids:
            ids[email] = hashlib.sha1(email.lower().encode("utf-8")).hexdigest()[:12]
        counts = {kind: int(n) for n, kind in _STAT.findall(stat)}
        rows.append((sha[:12], int(authored), int(committed), ids[email], int(len(parents.split()) > 1),
                     counts.get("file", 0), counts.get("insertion", 0), counts.get("deletion", 0)))
    df = pd.DataFrame(rows, columns=["sha", "authored_at", "committed_at", "author_id", "is_merge",
                                     "files_changed", "insertions", "deletions"])
    for col in ("authored_at", "committed_at"):
        df[col] = pd.to_datetime(df[col], unit="s", utc=True)
    return df


def read_tags(repo: Path) -> pd.DataFrame:
    """One row per tag: ``tag`` and ``tagged_at`` (UTC), dated as in the module docstring."""
    fmt = _FIELD.join(["%(refname:strip=2)", "%(objecttype)", "%(committerdate:unix)",
                       "%(*objecttype)", "%(*committerdate:unix)", "%(creatordate:unix)"])
    rows = []
    for line in _git(repo, "for-each-ref", "refs/tags", f"--format={fmt}").splitlines():
        name, kind, date, target_kind, target_date, created = line.split(_FIELD)
        when = date if kind == "commit" else target_date if target_kind == "commit" else created
        rows.append((name, int(when)))
    df = pd.DataFrame(rows, columns=["tag", "tagged_at"])
    df["tagged_at"] = pd.to_datetime(df["tagged_at"], unit="s", utc=True)
    return df


def read_readme(repo: Path) -> str:
    """README text at HEAD ("" when there is none)."""
    listing = _git(repo, "ls-tree", "-z", "HEAD") + _git(repo, "ls-tree", "-z", "HEAD", "--", "docs/README.md")
    blobs = {name for info, _, name in (entry.partition("\t") for entry in listing.split("\0") if entry)
             if info.split()[1] == "blob"}
    names = [n for n in README_NAMES if n in blobs] or sorted(n for n in blobs if n.lower().startswith("readme"))
    if not names:
        return ""
    raw = _git_bytes(repo, "cat-file", "blob", f"HEAD:{names[0]}")
    source = f"{names[0]} at HEAD of {repo}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        log.warning("%s is not valid UTF-8 (byte 0x%02x at offset %d); undecodable bytes are replaced by U+FFFD, "
                    "as in the oss-activity corpus", source, raw[exc.start], exc.start)
        text = raw.decode("utf-8", errors="replace")
    return prepare_readme(text, source)


def _guess_id(repo: Path) -> str:
    url = _git(repo, "config", "--get", "remote.origin.url", check=False).strip()
    parts = [p for p in re.split(r"[/:]", url.removesuffix(".git").removesuffix("/")) if p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else repo.resolve().name


def _git(repo: Path, *args: str, check: bool = True) -> str:
    return _git_bytes(repo, *args, check=check).decode("utf-8", errors="replace")


def _git_bytes(repo: Path, *args: str, check: bool = True) -> bytes:
    env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C", "GIT_PAGER": "cat"}
    try:
        proc = subprocess.run(["git", "-C", str(repo), "-c", "core.quotepath=off", *args],
                              capture_output=True, env=env)
    except FileNotFoundError:
        raise PanelError("git is not installed or not on PATH; install git to read a repository") from None
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", errors="replace").strip()
        raise PanelError(f"`git {' '.join(args[:2])}` failed in {repo}: {msg}")
    return proc.stdout
