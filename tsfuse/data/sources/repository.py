"""Reading one local git repository without ever fetching: checks, last update, commits, tags, README.


- commits: ``git log HEAD --no-renames --shortstat`` (all parents); merges (more than one parent)
  get no diff, so 0 insertions/deletions; ``author_id`` = first 12 hex of sha1 of the lower-cased
  author e-mail after ``.mailmap`` (``%aE``);
- tags: every ref under ``refs/tags``, dated by the committer date of the commit it points to
  (through an annotated tag), else by the tag's creator date;
- end of the series: a clone knows the history up to its own last update (:func:`last_update`:
  the newest mtime of ``HEAD``, ``packed-refs``, ``FETCH_HEAD``, the files under ``refs/`` and the
  pack files; a ``git gc`` counts as an update too), so the series ends at the last complete month
  before it, or at ``until=`` (:func:`series_end`); a clone last updated more than
  :data:`STALE_AFTER` ago is warned about, since months after its update would otherwise read as zeros;
- objects: a partial (``--filter``) clone is refused, and so is a copy that lacks the tree of HEAD or
  more than :data:`MAX_MISSING_SHARE` of its blobs (:func:`check_objects`); a few missing blobs (the
  corpus snapshots leave out files of 4 MiB or more) count as changed with 0 lines. No git call here
  can fetch from the network: every one runs with ``GIT_ALLOW_PROTOCOL=none``, so git's lazy fetch
  of a missing object fails at once instead of downloading it;
- README: at a revision, an English variant (:data:`ENGLISH_README`, e.g. ``README.en.md``) if the
  top level has one, else the first of :data:`README_NAMES`, else any top-level file whose name
  starts with "readme" (any case); decoded as UTF-8 (bad bytes replaced, as in the corpus, with a
  warning), then checked by :func:`tsfuse.text.clean.prepare_readme` (cut to 20,000 characters; a
  binary file is read as no README, with a warning). Its history over time: :mod:`tsfuse.data.sources.readme_history`;
- name: ``owner/name`` from the ``origin`` remote URL, else from a corpus snapshot folder
  ``<owner>+<name>/repo``, else the folder name (:func:`guess_id`).

The series rules themselves are :func:`tsfuse.data.sources.commits.from_commits`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import tempfile
import zlib
from pathlib import Path

import pandas as pd

from tsfuse.data.schema import PanelError
from tsfuse.errors import TextInputError
from tsfuse.text.clean import prepare_readme

README_NAMES = ("README.md", "README.rst", "README.txt", "readme.md", "README", "docs/README.md")
ENGLISH_README = re.compile(r"readme[._-]en\.(md|rst)", re.IGNORECASE)
SNAPSHOT_FOLDERS = ("repo", "repo.git")  # <owner>+<name>/repo: how the corpus snapshots are stored
STALE_AFTER = pd.Timedelta(days=31)
MAX_MISSING_SHARE = 0.2  # of the blobs reachable from HEAD
log = logging.getLogger(__name__)
_RECORD, _FIELD = "\x1e", "\x1f"
_STAT = re.compile(r"(\d+) (file|insertion|deletion)")
_OWNER_NAME = re.compile(r"([A-Za-z0-9_.-]+)\+([A-Za-z0-9_.-]+)")
# No transport is allowed, so a lazy fetch of a missing object fails at once (git < 2.44 has no
# GIT_NO_LAZY_FETCH; it is set too, for newer gits, which then do not even try).
_NO_FETCH = {"GIT_ALLOW_PROTOCOL": "none", "GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0"}
_PLACEHOLDER = zlib.compress(b"blob 1\0\0")  # a 1-byte binary blob: "changed, 0 lines" in a diffstat


def check_repository(path: str | Path) -> Path:
    """``path`` as a complete (non-shallow) git repository with commits, else a clear PanelError."""
    repo = Path(path).expanduser()
    if not repo.exists():
        raise PanelError(f"{repo} does not exist; pass the folder of a git clone")
    try:
        top = run_git(repo, "rev-parse", "--show-toplevel").strip()
    except PanelError as exc:
        if run_git(repo, "rev-parse", "--is-bare-repository", check=False).strip() != "true":
            raise PanelError(f"{repo} is not a git repository; clone it first (git clone <url>). {exc}") from None
        top = str(repo)
    if Path(top).resolve() != repo.resolve():
        raise PanelError(f"{repo} is inside the git repository {top}, not its root; pass {top}")
    if run_git(repo, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise PanelError(f"{repo} is a shallow clone, so its history is cut; run `git fetch --unshallow` "
                         "in it (or clone without --depth) first")
    if not run_git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False).strip():
        raise PanelError(f"{repo} has no commits yet (HEAD does not point to a commit)")
    return repo


def last_update(repo: str | Path) -> pd.Timestamp:
    """When the clone at ``repo`` last changed (UTC): the newest mtime of its refs and packs.

    Args:
        repo: a git repository, bare or not.

    Returns:
        The newest modification time among ``HEAD``, ``packed-refs``, ``FETCH_HEAD``, the files
        under ``refs/`` and ``objects/pack/*.pack`` of its git folder(s).
    """
    folders = {Path(p) for p in run_git(Path(repo), "rev-parse", "--path-format=absolute", "--absolute-git-dir",
                                     "--git-common-dir").split("\n") if p}
    files = [f for folder in folders for f in (
        folder / "HEAD", folder / "packed-refs", folder / "FETCH_HEAD",
        *(p for p in (folder / "refs").rglob("*") if p.is_file()), *(folder / "objects" / "pack").glob("*.pack"))
        if f.is_file()]
    return pd.Timestamp(max(f.stat().st_mtime for f in files), unit="s", tz="UTC")


def series_end(repo: Path, updated: pd.Timestamp, *, until: str | pd.Timestamp | None = None,
               snapshot: str | pd.Timestamp | None = None, name: str | None = None) -> pd.Timestamp:
    """The last month (its first day, tz-naive) of the series read from ``repo``; logs it.

    Args:
        repo: a checked repository (:func:`check_repository`), named in the messages.
        updated: its :func:`last_update`.
        until: the last month wanted; PanelError when the clone's history does not cover it yet
            (its month is in or after the month of :func:`last_update`).
        snapshot: the series ends the month before it or before the last update, whichever is earlier.
        name: the series name, for the log lines (default: the folder).

    Logs one INFO line (where the history ends), and a WARNING when the series ends at a last
    update more than :data:`STALE_AFTER` ago (fetch, or pass ``until``).
    """
    if until is not None and snapshot is not None:
        raise ValueError("pass until= (the last month) or snapshot= (when the history was read), not both")
    update_month = _month_start(updated)
    name = name or repo.name
    if until is not None:
        last = _month_start(_timestamp(until, "until"))
        if last >= update_month:
            raise PanelError(
                f"until={until!r} asks for {last:%Y-%m}, but {repo} was last updated {updated:%Y-%m-%d %H:%M} UTC, "
                f"so its last complete month is {update_month - pd.offsets.MonthBegin(1):%Y-%m}; update it "
                f"(`git -C {repo} fetch`) or pass an earlier until")
    else:
        cut = updated if snapshot is None else min(_timestamp(snapshot, "snapshot"), updated)
        last = _month_start(cut) - pd.offsets.MonthBegin(1)
        age = pd.Timestamp.now(tz="UTC") - updated
        if cut == updated and age > STALE_AFTER:
            log.warning("%s: %s was last updated %s, %d days ago, so its series ends %s; months since then would "
                        "read as silence. Update the clone (`git -C %s fetch`) or pass until='YYYY-MM' to "
                        "say where the series ends", name, repo, f"{updated:%Y-%m-%d}", age.days, f"{last:%Y-%m}",
                        repo)
    log.info("%s: history read up to %s (last update of the clone); series ends %s", name,
             f"{updated:%Y-%m-%dT%H:%M:%SZ}", f"{last:%Y-%m}")
    return last


def check_objects(repo: Path) -> frozenset[str]:
    """The blobs reachable from HEAD that ``repo`` lacks; PanelError when it lacks too much.

    Refused: a partial clone (``git clone --filter``: ``remote.<name>.promisor`` or
    ``extensions.partialClone`` set) that lacks any object, and any repository that lacks a commit
    or tree, or more than :data:`MAX_MISSING_SHARE` of its blobs. A few missing blobs (a corpus
    snapshot without the files of 4 MiB or more) are logged and returned.

    Args:
        repo: a checked repository (:func:`check_repository`).
    """
    objects, missing = _walk(repo)
    if not missing:
        return frozenset()
    others, missing_others = _walk(repo, "--filter=blob:none")
    blobs, missing_blobs = objects - others, missing - missing_others
    promisor = _promisor_settings(repo)
    if promisor:
        raise PanelError(
            f"{repo} is a partial clone ({', '.join(promisor)}): {len(missing)} of its {objects} objects are not "
            "in it, and git would download each one it needs; make it complete with "
            f"`git -C {repo} fetch --refetch --no-filter origin` (git >= 2.36) or clone it again without --filter")
    if missing_others or len(missing_blobs) > MAX_MISSING_SHARE * blobs:
        raise PanelError(
            f"{repo} is incomplete: it lacks {len(missing_others)} commit(s)/tree(s) and {len(missing_blobs)} of its "
            f"{blobs} blobs; copy or clone the repository again in full")
    log.warning("%s lacks %d of its %d blobs (e.g. %s; a corpus snapshot leaves out files of 4 MiB or more); "
                "changes to them count as changed files with 0 lines", repo, len(missing_blobs), blobs,
                min(missing_blobs))
    return frozenset(missing_blobs)


def read_commits(repo: Path, missing: frozenset[str] = frozenset()) -> pd.DataFrame:
    """One row per commit reachable from HEAD, columns as the corpus's commits.csv.gz.

    Args:
        repo: a checked repository.
        missing: blobs the repository lacks (:func:`check_objects`): a change to one counts as a
            changed file with 0 lines (git reads a 1-byte binary stand-in, written to a temporary
            folder, never into the repository).
    """
    fmt = _FIELD.join(["%H", "%P", "%aE", "%at", "%ct"])
    args = ("log", "HEAD", "--no-renames", "--shortstat", "--no-color", "--no-show-signature", "--no-ext-diff",
            f"--format={_RECORD}{fmt}")
    if missing:
        with tempfile.TemporaryDirectory(prefix="tsfuse-missing-blobs-") as folder:
            out = run_git(repo, *args, env=_stand_ins(Path(folder), missing))
    else:
        out = run_git(repo, *args)
    ids: dict[str, str] = {}
    rows, undated = [], 0
    for record in out.split(_RECORD)[1:]:
        header, _, stat = record.partition("\n")
        sha, parents, email, authored, committed = header.split(_FIELD)
        if email not in ids:
            ids[email] = hashlib.sha1(email.lower().encode("utf-8")).hexdigest()[:12]
        counts = {kind: int(n) for n, kind in _STAT.findall(stat)}
        if not authored or not committed:  # a malformed date (e.g. zone "--700"): git prints nothing for it
            undated += 1
            authored, committed = header_times(repo, sha, authored, committed)
        rows.append((sha[:12], int(authored), int(committed), ids[email], int(len(parents.split()) > 1),
                     counts.get("file", 0), counts.get("insertion", 0), counts.get("deletion", 0)))
    if undated:
        log.warning("%s: %d commit(s) have an author or committer date git cannot read (a malformed time "
                    "zone): read from the commit's own header, the author's missing one from the committer's",
                    repo, undated)
    df = pd.DataFrame(rows, columns=["sha", "authored_at", "committed_at", "author_id", "is_merge",
                                     "files_changed", "insertions", "deletions"])
    for col in ("authored_at", "committed_at"):
        df[col] = pd.to_datetime(df[col], unit="s", utc=True)
    return df


_RAW_DATE = re.compile(r"^(author|committer) .* (\d+) \S*$")


def header_times(repo: Path, sha: str, authored: str = "", committed: str = "") -> tuple[str, str]:
    """The author and committer times (epoch seconds, as text) of commit ``sha`` where git printed none
    (``authored`` / ``committed`` empty): read from the commit object's header lines, whose seconds stand
    even when the zone after them is malformed; an author time still missing is the committer's (and the
    other way round).

    Raises:
        PanelError: neither time can be read.
    """
    raw = {}
    for line in run_git(repo, "cat-file", "commit", sha).split("\n\n", 1)[0].splitlines():
        if m := _RAW_DATE.match(line):
            raw[m.group(1)] = m.group(2)
    authored, committed = authored or raw.get("author", ""), committed or raw.get("committer", "")
    if not (authored or committed):
        raise PanelError(f"{repo}: commit {sha} has no author or committer time that can be read; repair the "
                         "history (e.g. git replace) or leave the repository out")
    return authored or committed, committed or authored


def read_tags(repo: Path) -> pd.DataFrame:
    """One row per tag: ``tag`` and ``tagged_at`` (UTC), dated as in the module docstring."""
    fmt = _FIELD.join(["%(refname:strip=2)", "%(objecttype)", "%(committerdate:unix)",
                       "%(*objecttype)", "%(*committerdate:unix)", "%(creatordate:unix)"])
    rows = []
    for line in run_git(repo, "for-each-ref", "refs/tags", f"--format={fmt}").splitlines():
        name, kind, date, target_kind, target_date, created = line.split(_FIELD)
        when = date if kind == "commit" else target_date if target_kind == "commit" else created
        rows.append((name, int(when)))
    df = pd.DataFrame(rows, columns=["tag", "tagged_at"])
    df["tagged_at"] = pd.to_datetime(df["tagged_at"], unit="s", utc=True)
    return df


def read_readme(repo: Path) -> str:
    """README text at HEAD ("" when there is none); logs which file was read."""
    file, text = readmes_at(repo, ["HEAD"])["HEAD"]
    log.info("%s: README %s", repo, f"read from {file} at HEAD" if file else "absent at HEAD")
    return text


def readmes_at(repo: Path, revisions: list[str]) -> dict[str, tuple[str, str]]:
    """revision -> (file, text) of its README (``("", "")`` when there is none), in two git calls.

    Args:
        repo: a checked repository.
        revisions: commits (shas or names such as ``HEAD``).
    """
    revisions = list(dict.fromkeys(revisions))
    trees = _cat_file(repo, [spec for rev in revisions for spec in (f"{rev}^{{tree}}", f"{rev}:docs")])
    files = {}
    for i, rev in enumerate(revisions):
        top, docs = trees[2 * i], trees[2 * i + 1]
        if top is None or top[0] != "tree":
            raise PanelError(f"the tree of {rev} is missing from {repo}; copy or clone the repository again in full")
        blobs = _tree_blobs(top[1])
        docs_blobs = _tree_blobs(docs[1]) if docs is not None and docs[0] == "tree" else {}
        if "README.md" in docs_blobs:
            blobs["docs/README.md"] = docs_blobs["README.md"]
        name = choose_readme(set(blobs))
        files[rev] = (name, blobs[name]) if name else ("", "")
    shas = sorted({sha for _, sha in files.values() if sha})
    raw = dict(zip(shas, _cat_file(repo, shas)))
    texts = {}
    for rev, (name, sha) in files.items():
        if not name:
            texts[rev] = ("", "")
            continue
        if raw[sha] is None:
            raise PanelError(f"{name} at {rev} (blob {sha}) is missing from {repo}; copy or clone the repository "
                             "again in full")
        texts[rev] = (name, _decode(raw[sha][1], f"{name} at {rev} of {repo}"))
    return texts


def choose_readme(names: set[str]) -> str | None:
    """The README among the file paths ``names`` of a tree (top level and ``docs/README.md``), or None.

    Args:
        names: paths of the blobs at the top level (and ``docs/README.md`` when there is one).
    """
    english = sorted(n for n in names if ENGLISH_README.fullmatch(n))
    preferred = [n for n in README_NAMES if n in names]
    others = sorted(n for n in names if n.lower().startswith("readme"))
    return next(iter(english + preferred + others), None)


def guess_id(repo: Path) -> str:
    """``owner/name`` from the ``origin`` remote URL, else from a folder ``<owner>+<name>/repo``, else the folder.

    Args:
        repo: a git repository.
    """
    url = run_git(repo, "config", "--get", "remote.origin.url", check=False).strip()
    parts = [p for p in re.split(r"[/:]", url.rstrip("/").removesuffix(".git")) if p]
    if len(parts) >= 2:
        return "/".join(parts[-2:])
    folder = repo.resolve()
    if folder.name == ".git":  # the git folder of a clone: name it by the clone
        folder = folder.parent
    snapshot = _OWNER_NAME.fullmatch(folder.parent.name) if folder.name.lower() in SNAPSHOT_FOLDERS else None
    return f"{snapshot[1]}/{snapshot[2]}" if snapshot else folder.name


def _decode(raw: bytes, source: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        log.warning("%s is not valid UTF-8 (byte 0x%02x at offset %d); undecodable bytes are replaced by U+FFFD, "
                    "as in the oss-activity corpus", source, raw[exc.start], exc.start)
        text = raw.decode("utf-8", errors="replace")
    try:
        return prepare_readme(text, source)
    except TextInputError:  # a repository's binary README file is not the caller's error: no README
        log.warning("%s looks binary, not text: it is read as no README (the model's no-README vector)", source)
        return ""


def _tree_blobs(tree: bytes) -> dict[str, str]:
    """name -> sha of the files (regular, executable, symlink) in a raw tree object."""
    blobs, pos = {}, 0
    while pos < len(tree):
        space, nul = tree.index(b" ", pos), tree.index(b"\0", pos)
        if tree[pos:space] != b"40000" and not tree[pos:space].startswith(b"160"):
            blobs[tree[space + 1:nul].decode("utf-8", errors="replace")] = tree[nul + 1:nul + 21].hex()
        pos = nul + 21
    return blobs


def _cat_file(repo: Path, specs: list[str]) -> list[tuple[str, bytes] | None]:
    """``(type, content)`` of each object named in ``specs`` (None where missing), one ``git cat-file --batch``."""
    if not specs:
        return []
    out = _git_bytes(repo, "cat-file", "--batch", stdin="".join(f"{s}\n" for s in specs).encode("utf-8"))
    objects, pos = [], 0
    for _ in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode("utf-8", errors="replace").rsplit(" ", 2)
        pos = end + 1
        if header[-1] in ("missing", "ambiguous"):
            objects.append(None)
            continue
        size = int(header[2])
        objects.append((header[1], out[pos:pos + size]))
        pos += size + 1
    return objects


def _walk(repo: Path, *args: str) -> tuple[int, set[str]]:
    """(objects reachable from HEAD, the missing ones), never fetching any."""
    lines = run_git(repo, "rev-list", "--objects", "--missing=print", *args, "HEAD").splitlines()
    return len(lines), {line[1:] for line in lines if line.startswith("?")}


def _promisor_settings(repo: Path) -> list[str]:
    """The config entries that make ``repo`` a partial clone (``key=value``)."""
    listing = run_git(repo, "config", "--get-regexp", r"^(extensions\.partialclone|remote\..*\.promisor)$", check=False)
    entries = [line.split(" ", 1) for line in listing.splitlines() if " " in line]
    return [f"{key}={value}" for key, value in entries
            if not key.endswith(".promisor") or value.lower() in ("true", "yes", "on", "1")]


def _stand_ins(folder: Path, missing: frozenset[str]) -> dict[str, str]:
    """Write a 1-byte binary loose object under each missing sha in ``folder``; the env that lends it to git."""
    for sha in missing:
        (folder / sha[:2]).mkdir(exist_ok=True)
        (folder / sha[:2] / sha[2:]).write_bytes(_PLACEHOLDER)
    extra = os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES")
    return {"GIT_ALTERNATE_OBJECT_DIRECTORIES": os.pathsep.join([str(folder), *([extra] if extra else [])])}


def _timestamp(value: str | pd.Timestamp, what: str) -> pd.Timestamp:
    """``value`` as a UTC timestamp (naive = UTC); PanelError naming ``what`` when it is not a date."""
    try:
        ts = pd.Timestamp(value)
        ts = (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).as_unit("ns")
    except (ValueError, TypeError):  # also OutOfBoundsDatetime: 'June' parses as June of year 1
        ts = pd.NaT
    if pd.isna(ts):
        raise PanelError(f"{what}={value!r} is not a date; use 'YYYY-MM' (e.g. '2026-08') or a timestamp")
    return ts


def _month_start(ts: pd.Timestamp) -> pd.Timestamp:
    """The first day (tz-naive, UTC) of the month of ``ts``."""
    return ts.tz_convert("UTC").tz_localize(None).to_period("M").to_timestamp()


def run_git(repo: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    """``git -C repo args`` as text (never fetches: see :data:`_NO_FETCH`); a PanelError when it fails and ``check``."""
    return _git_bytes(repo, *args, check=check, env=env).decode("utf-8", errors="replace")


def _git_bytes(repo: Path, *args: str, check: bool = True, env: dict[str, str] | None = None,
               stdin: bytes | None = None) -> bytes:
    full_env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C", "GIT_PAGER": "cat", **_NO_FETCH, **(env or {})}
    try:
        proc = subprocess.run(["git", "-C", str(repo), "-c", "core.quotepath=off", *args],
                              capture_output=True, env=full_env, input=stdin)
    except FileNotFoundError:
        raise PanelError("git is not installed or not on PATH; install git to read a repository") from None
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", errors="replace").strip()
        raise PanelError(f"`git {' '.join(args[:2])}` failed in {repo}: {msg}")
    return proc.stdout
