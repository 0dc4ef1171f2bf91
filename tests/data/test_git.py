"""from_git on a small repository built in tmp_path with known commits, dates, a merge and tags."""

import hashlib
import logging
import io
import os
import subprocess

import pandas as pd
import pytest

from tsfuse.data.sources.git import from_git
from tsfuse.data.sources.readme_history import read_readme_versions
from tsfuse.data.sources.repository import choose_readme, guess_id, last_update, read_commits, read_readme
from tsfuse.data.schema import PanelError

README = "# Demo\n\nA tiny project.\n"


pytestmark = pytest.mark.usefixtures("isolated_git")  # tests/conftest.py


def git(repo, *args, who="Alice <alice@example.com>", when=None):
    name, email = who[:-1].split(" <")
    env_date = {} if when is None else {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
           "GIT_COMMITTER_EMAIL": email, **env_date}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **env})


def commit(repo, files, who, when, message="change"):
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message, who=who, when=when)


ALICE, BOB, CAROL, DAVE, EVE = ("Alice <alice@example.com>", "Bob <bob@example.com>", "Carol <carol@example.com>",
                                "Dave <dave@example.com>", "Eve <eve@example.com>")


@pytest.fixture
def repo(tmp_path):
    """2023-01: alice (README + .mailmap, +4), bob (+3), tag v1 | 2023-02: nothing |
    2023-03: alice on a branch (+1), carol (+4), merge by dave, annotated tag v2 on the merge (tagged in June) |
    2023-04: bob under an old e-mail mapped by .mailmap (+1 -1) | 2023-05: eve (in the snapshot month)."""
    r = tmp_path / "demo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    commit(r, {"README.md": README, ".mailmap": "Bob <bob@example.com> <BOB@old.example>\n"}, ALICE,
           "2023-01-15T10:00:00+00:00")
    commit(r, {"a.txt": "1\n2\n3\n"}, BOB, "2023-01-20T10:00:00+00:00")
    git(r, "tag", "v1")
    git(r, "checkout", "-q", "-b", "feature")
    commit(r, {"a.txt": "1\n2\n3\n4\n"}, ALICE, "2023-03-05T10:00:00+00:00")
    git(r, "checkout", "-q", "main")
    commit(r, {"b.txt": "a\nb\nc\nd\n"}, CAROL, "2023-03-10T10:00:00+00:00")
    git(r, "merge", "-q", "--no-ff", "-m", "merge feature", "feature", who=DAVE, when="2023-03-12T10:00:00+00:00")
    git(r, "tag", "-a", "v2", "-m", "release 2", who=DAVE, when="2023-06-01T10:00:00+00:00")
    commit(r, {"a.txt": "1\n2\n3\nfour\n"}, "Bob <BOB@old.example>", "2023-04-02T10:00:00+00:00")
    commit(r, {"c.txt": "x\n"}, EVE, "2023-05-03T10:00:00+00:00")
    return r


def test_from_git_gives_exactly_the_expected_months(repo):
    panel, readme = from_git(repo, snapshot="2023-05-20T00:00:00Z", unique_id="demo/demo")
    assert readme == README
    assert set(panel["unique_id"]) == {"demo/demo"}
    assert panel["ds"].dt.strftime("%Y-%m").tolist() == ["2023-01", "2023-02", "2023-03", "2023-04"]
    expected = {
        "y": [2, 0, 2, 1],
        "authors": [2, 0, 2, 1],  # dave only merged; bob's old e-mail is mapped to bob
        "new_authors": [2, 0, 2, 0],  # carol and dave (first commit is a merge); bob is not new in April
        "churn": [7, 0, 5, 2],  # README 3 lines + .mailmap 1 + a.txt 3 | 1 + 4 | 1 + 1
        "merges": [0, 0, 1, 0],
        "releases": [1, 0, 1, 0],  # v2 dated by its commit (March), not by the tagging (June)
    }
    assert {c: panel[c].tolist() for c in expected} == expected


def test_commit_rows_follow_the_corpus_format(repo):
    commits = read_commits(repo)
    assert len(commits) == 7 and commits["is_merge"].sum() == 1
    alice = hashlib.sha1(b"alice@example.com").hexdigest()[:12]
    bob = hashlib.sha1(b"bob@example.com").hexdigest()[:12]
    assert set(commits["author_id"]) >= {alice, bob}
    assert commits["author_id"].nunique() == 5
    assert commits.loc[commits["is_merge"] == 1, ["insertions", "deletions"]].sum().sum() == 0


def test_default_snapshot_is_now_and_default_id_is_the_folder(repo):
    panel, _ = from_git(repo)
    assert set(panel["unique_id"]) == {"demo"}
    assert panel["ds"].min().strftime("%Y-%m") == "2023-01"
    assert panel["y"].sum() == 6  # every commit is in a complete month by now


def test_id_from_origin_remote(repo):
    git(repo, "remote", "add", "origin", "git@github.com:someone/demo-project.git")
    panel, _ = from_git(repo, snapshot="2023-05-20")
    assert set(panel["unique_id"]) == {"someone/demo-project"}


def test_readme_choice(tmp_path):
    r = tmp_path / "r"
    r.mkdir()
    git(r, "init", "-q")
    commit(r, {"docs/README.md": "docs", "Readme.textile": "textile"}, ALICE, "2023-01-01T00:00:00+00:00")
    assert read_readme(r) == "docs"
    commit(r, {"README.rst": "rst"}, ALICE, "2023-01-02T00:00:00+00:00")
    assert read_readme(r) == "rst"
    git(r, "rm", "-q", "README.rst", "docs/README.md")
    git(r, "commit", "-q", "-m", "rm", when="2023-01-03T00:00:00+00:00")
    assert read_readme(r) == "textile"


def test_errors(tmp_path, repo):
    with pytest.raises(PanelError, match="does not exist"):
        from_git(tmp_path / "nope")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(PanelError, match="not a git repository"):
        from_git(plain)
    with pytest.raises(PanelError, match="not its root"):
        (repo / "sub").mkdir()
        from_git(repo / "sub")
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(PanelError, match="no commits"):
        from_git(empty)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", repo.as_uri(), str(shallow)], check=True, capture_output=True)
    with pytest.raises(PanelError, match="git fetch --unshallow"):
        from_git(shallow)


def set_mtimes(repo, when: str) -> None:
    """Date every file of the git folder of ``repo`` (bare or not) at ``when``, as a clone last fetched then."""
    git_dir = repo / ".git" if (repo / ".git").exists() else repo
    stamp = pd.Timestamp(when).timestamp()
    for path in git_dir.rglob("*"):
        os.utime(path, (stamp, stamp))


def bare_clone(source, target, *args):
    """A bare clone of ``source`` without its origin remote, like the corpus snapshots."""
    subprocess.run(["git", "clone", "-q", "--bare", *args, source.as_uri(), str(target)], check=True,
                   capture_output=True)
    git(target, "remote", "remove", "origin")
    return target


def test_series_ends_before_the_last_update_of_a_stale_clone_and_says_so(repo, caplog):
    set_mtimes(repo, "2023-06-10T12:00:00Z")
    assert last_update(repo) == pd.Timestamp("2023-06-10T12:00:00Z")
    with caplog.at_level(logging.INFO):
        panel, _ = from_git(repo)
    assert panel["ds"].max() == pd.Timestamp("2023-05-01")  # not today's month with zeros since June 2023
    assert panel["y"].tolist() == [2, 0, 2, 1, 1]
    assert ("demo: history read up to 2023-06-10T12:00:00Z (last update of the clone); series ends 2023-05"
            in caplog.messages)
    stale = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(stale) == 1 and f"`git -C {repo} fetch`" in stale[0].getMessage()
    assert "until='YYYY-MM'" in stale[0].getMessage()


def test_a_fresh_clone_is_not_warned_about(repo, caplog):
    with caplog.at_level(logging.INFO):
        from_git(repo)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_last_update_is_the_newest_ref_fetch_head_or_pack_of_a_bare_clone(repo, tmp_path):
    bare = bare_clone(repo, tmp_path / "bare.git")
    set_mtimes(bare, "2024-01-01T00:00:00Z")
    assert last_update(bare) == pd.Timestamp("2024-01-01T00:00:00Z")
    for name, when in (("FETCH_HEAD", "2024-02-01T00:00:00Z"), ("refs/tags/v1", "2024-03-01T00:00:00Z"),
                       (next((bare / "objects" / "pack").glob("*.pack")), "2024-04-01T00:00:00Z")):
        path = bare / name
        path.touch()
        os.utime(path, (pd.Timestamp(when).timestamp(),) * 2)
        assert last_update(bare) == pd.Timestamp(when)
    (bare / "objects" / "loose-file").write_text("not a ref")  # other files do not count
    assert last_update(bare) == pd.Timestamp("2024-04-01T00:00:00Z")


def test_until_is_the_last_month_and_must_be_covered_by_the_clone(repo):
    set_mtimes(repo, "2023-06-10T12:00:00Z")
    for until in ("2023-03", pd.Timestamp("2023-03-31T23:00:00Z"), pd.Timestamp("2023-03-15")):
        panel, _ = from_git(repo, until=until)
        assert panel["ds"].max() == pd.Timestamp("2023-03-01")
    assert from_git(repo, until="2023-05")[0]["ds"].max() == pd.Timestamp("2023-05-01")
    with pytest.raises(PanelError, match="until='2023-06' asks for 2023-06, but .* last updated 2023-06-10 12:00 "
                                         "UTC, so its last complete month is 2023-05; update it"):
        from_git(repo, until="2023-06")
    with pytest.raises(PanelError, match="until='soon' is not a date; use 'YYYY-MM'"):
        from_git(repo, until="soon")
    with pytest.raises(ValueError, match="not both"):
        from_git(repo, until="2023-03", snapshot="2023-04-01")


def test_a_snapshot_after_the_last_update_is_cut_at_the_update(repo):
    set_mtimes(repo, "2023-06-10T12:00:00Z")
    assert from_git(repo, snapshot="2023-05-20")[0]["ds"].max() == pd.Timestamp("2023-04-01")
    assert from_git(repo, snapshot="2025-01-01")[0]["ds"].max() == pd.Timestamp("2023-05-01")


@pytest.mark.parametrize("url", ["https://github.com/owner/name.git", "https://github.com/owner/name",
                                 "https://github.com/owner/name/", "https://github.com/owner/name.git/",
                                 "git@github.com:owner/name.git", "git@github.com:owner/name",
                                 "ssh://git@github.com/owner/name.git", "file:///srv/mirrors/owner/name.git"])
def test_id_from_origin_url_forms(repo, url):
    git(repo, "remote", "add", "origin", url)
    assert guess_id(repo) == "owner/name"


def test_id_of_a_corpus_snapshot_folder(repo, tmp_path):
    assert guess_id(bare_clone(repo, tmp_path / "pallets+flask" / "repo")) == "pallets/flask"
    assert guess_id(bare_clone(repo, tmp_path / "pallets+click" / "repo.git")) == "pallets/click"
    assert guess_id(bare_clone(repo, tmp_path / "plain" / "repo")) == "repo"
    assert guess_id(bare_clone(repo, tmp_path / "a+b" / "mirror")) == "mirror"
    panel, _ = from_git(tmp_path / "pallets+flask" / "repo", snapshot="2023-05-20", unique_id="me/mine")
    assert set(panel["unique_id"]) == {"me/mine"}
    work = tmp_path / "tj+co" / "repo"  # a snapshot with a work tree, read through its .git folder
    subprocess.run(["git", "clone", "-q", repo.as_uri(), str(work)], check=True, capture_output=True)
    (work / ".git" / "config").write_text("[core]\n\trepositoryformatversion = 0\n")  # no origin remote
    assert guess_id(work / ".git") == "tj/co"


@pytest.mark.parametrize("committer_zone", ["+0000", "--700"])  # boto/boto: both dates carry the zone "--700"
def test_a_commit_with_a_malformed_date_zone_is_dated_from_its_header(tmp_path, caplog, committer_zone):
    r = tmp_path / "r"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    commit(r, {"README.md": "# A project\n\nIt does a thing.\n"}, ALICE, "2023-01-10T10:00:00+00:00")
    tree = subprocess.run(["git", "-C", str(r), "rev-parse", "HEAD^{tree}"], capture_output=True, text=True).stdout.strip()
    head = subprocess.run(["git", "-C", str(r), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    raw = (f"tree {tree}\nparent {head}\nauthor A <a@example.com> 1675000000 --700\n"
           f"committer A <a@example.com> 1675000100 {committer_zone}\n\nbroken date\n")
    sha = subprocess.run(["git", "-C", str(r), "hash-object", "-t", "commit", "-w", "--literally", "--stdin"],
                         input=raw, capture_output=True, text=True, check=True).stdout.strip()
    git(r, "update-ref", "refs/heads/main", sha)
    with caplog.at_level(logging.WARNING):
        commits = read_commits(r)
    assert len(commits) == 2 and "date git cannot read" in caplog.text
    broken = commits[commits["sha"] == sha[:12]].iloc[0]
    assert broken["authored_at"] == pd.Timestamp(1675000000, unit="s", tz="UTC")
    assert broken["committed_at"] == pd.Timestamp(1675000100, unit="s", tz="UTC")
    versions = read_readme_versions(r, until="2023-06")  # the README history reads the same dates
    assert len(versions) == 1 and versions["text"].iloc[0].startswith("# A project")


@pytest.mark.parametrize("english", ["README.en.md", "README-EN.md", "README_EN.md", "readme.en.rst", "Readme_en.md"])
def test_an_english_readme_is_preferred_and_named_in_the_log(tmp_path, english, caplog):
    r = tmp_path / "r"
    r.mkdir()
    git(r, "init", "-q")
    commit(r, {"README.md": "# 项目\n\n一个小项目。\n", english: "# Project\n\nA small project.\n"}, ALICE,
           "2023-01-01T00:00:00+00:00")
    with caplog.at_level(logging.INFO):
        assert read_readme(r) == "# Project\n\nA small project.\n"
    assert f"{r}: README read from {english} at HEAD" in caplog.messages


def test_readme_choice_without_an_english_variant():
    assert choose_readme({"README.md", "README.zh.md", "README.de.md"}) == "README.md"
    assert choose_readme({"README.zh.md", "README.de.md"}) == "README.de.md"
    assert choose_readme({"README.en.md.orig", "README.txt"}) == "README.txt"
    assert choose_readme({"setup.py"}) is None


def test_a_bare_clone_reads_like_its_source(repo, tmp_path):
    bare = bare_clone(repo, tmp_path / "demo.git")
    expected, readme = from_git(repo, snapshot="2023-05-20")
    panel, bare_readme = from_git(bare, snapshot="2023-05-20", unique_id="demo")
    pd.testing.assert_frame_equal(panel, expected)
    assert bare_readme == readme


def test_cli_fit_takes_until_and_name_for_a_git_repository(repo, capsys):
    from tsfuse.app.cli import main

    set_mtimes(repo, "2023-06-20")
    assert main(["fit", "--git", str(repo), "--until", "2023-04", "--name", "me/demo", "--format", "csv",
                 "--pretrained", "oss-activity"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(table["unique_id"]) == {"me/demo"} and table["ds"].iloc[0] == "2023-05-01"  # after April
    assert main(["fit", "--git", str(repo), "--until", "2023-09"]) == 2
    assert "last complete month is 2023-05" in capsys.readouterr().err


def test_a_binary_readme_file_is_read_as_no_readme_with_a_warning(tmp_path, caplog):
    r = tmp_path / "own+bin" / "repo"
    r.mkdir(parents=True)
    git(r, "init", "-q", "-b", "main")
    for month in ("2023-01", "2023-02", "2023-03"):
        commit(r, {"a.txt": month}, ALICE, f"{month}-10T10:00:00+00:00")
    (r / "README.md").write_bytes(b"# title\x00\x01binary")
    git(r, "add", "README.md")
    git(r, "commit", "-q", "-m", "binary readme", when="2023-03-20T10:00:00+00:00")
    with caplog.at_level(logging.WARNING):
        panel, readme = from_git(r, snapshot="2023-04-15")
    assert readme == "" and len(panel) == 3  # the history is read; the README is not
    assert "README.md at" in caplog.text and "looks binary, not text: it is read as no README" in caplog.text
