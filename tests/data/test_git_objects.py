"""Partial clones and copies with missing objects: refused or read, and never fetched from."""

import json
import logging
import subprocess

import pandas as pd
import pytest

from tests.data.test_git import ALICE, BOB, bare_clone, commit, git
from tsfuse.data.sources.git import from_git, read_git
from tsfuse.data.sources.repository import check_objects, check_repository, read_commits
from tsfuse.data.schema import PanelError

pytestmark = pytest.mark.usefixtures("isolated_git")  # tests/conftest.py
BIG = bytes(range(256)) * 20_480  # 5 MiB, binary: over the 4 MiB the corpus snapshots leave out


@pytest.fixture
def source(tmp_path):
    return make_source(tmp_path)


def make_source(tmp_path):
    """Ten small files over four months and one big binary file; serves partial clones (file://)."""
    r = tmp_path / "source"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    git(r, "config", "uploadpack.allowFilter", "true")
    git(r, "config", "uploadpack.allowAnySHA1InWant", "true")
    commit(r, {"README.md": "# Demo\n", **{f"f{i}.txt": f"{i}\n" for i in range(5)}}, ALICE, "2023-01-10T10:00:00Z")
    commit(r, {f"f{i}.txt": f"{i}\n{i}\n" for i in range(5, 10)}, BOB, "2023-02-10T10:00:00Z")
    (r / "big.bin").write_bytes(BIG)
    commit(r, {"f1.txt": "1\nchanged\n"}, BOB, "2023-03-10T10:00:00Z")
    git(r, "add", "big.bin")
    git(r, "commit", "-q", "-m", "big", when="2023-03-11T10:00:00+00:00")
    commit(r, {"f2.txt": "2\nchanged\n"}, ALICE, "2023-04-10T10:00:00Z")
    return r


def without_promisor_config(repo):
    """Remove what makes ``repo`` a partial clone in its config, keeping its .promisor pack: a corpus snapshot."""
    subprocess.run(["git", "-C", str(repo), "config", "--unset-all", "extensions.partialClone"], capture_output=True)
    subprocess.run(["git", "-C", str(repo), "config", "--remove-section", "remote.origin"], capture_output=True)
    assert list((repo / "objects" / "pack").glob("*.promisor"))
    return repo


def fetches(trace) -> list:
    """The ``git fetch`` processes a GIT_TRACE2_EVENT file records."""
    events = [json.loads(line) for line in trace.read_text().splitlines()] if trace.exists() else []
    return [e["argv"] for e in events if e.get("event") == "start" and "fetch" in e.get("argv", [])]


def check_objects_count(repo) -> int:
    """Objects reachable from HEAD that ``repo`` lacks, counted by git itself."""
    lines = subprocess.run(["git", "-C", str(repo), "rev-list", "--objects", "--missing=print", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    return sum(line.startswith("?") for line in lines)


def test_a_blobless_clone_is_refused_without_any_fetch(source, tmp_path, monkeypatch):
    clone = tmp_path / "blobless"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", source.as_uri(), str(clone)], check=True,
                   capture_output=True)
    trace = tmp_path / "trace.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    with pytest.raises(PanelError, match=r"is a partial clone \(remote.origin.promisor=true\): .* objects are not in "
                                         r"it, .*`git -C .* fetch --refetch --no-filter origin` \(git >= 2.36\) or "
                                         r"clone it again without --filter"):
        from_git(clone)
    assert fetches(trace) == []
    missing = check_objects_count(clone)
    with pytest.raises(PanelError, match="(?s)`git log HEAD` failed in .*blobless: .*could not fetch"):
        read_commits(check_repository(clone))  # even a read that needs the missing blobs downloads nothing
    assert check_objects_count(clone) == missing > 0


def test_a_partial_clone_that_was_completed_is_read(source, tmp_path):
    clone = bare_clone(source, tmp_path / "limited.git", "--filter=blob:limit=4m")
    assert check_objects_count(clone) == 1
    subprocess.run(["git", "-C", str(clone), "config", "remote.origin.url", source.as_uri()], check=True)
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", "--refetch", "--no-filter", "origin"], check=True,
                   capture_output=True)
    assert check_objects(clone) == frozenset()


def test_a_snapshot_without_its_big_files_reads_like_the_full_clone(source, tmp_path, caplog):
    full = bare_clone(source, tmp_path / "owner+full" / "repo")
    snapshot = without_promisor_config(bare_clone(source, tmp_path / "owner+snap" / "repo", "--filter=blob:limit=4m"))
    with caplog.at_level(logging.WARNING):
        got = read_git(snapshot, snapshot="2023-05-15", unique_id="x/y")
    assert got.missing_blobs == 1
    assert "lacks 1 of its 14 blobs" in caplog.text and "count as changed files with 0 lines" in caplog.text
    expected = read_git(full, snapshot="2023-05-15", unique_id="x/y")
    assert expected.missing_blobs == 0
    pd.testing.assert_frame_equal(got.panel, expected.panel)
    pd.testing.assert_frame_equal(got.commits, expected.commits)  # big.bin: a changed file, 0 lines, in both
    assert got.commits.loc[got.commits["authored_at"] == pd.Timestamp("2023-03-11T10:00:00Z"),
                           ["files_changed", "insertions"]].values.tolist() == [[1, 0]]
    assert check_objects_count(snapshot) == 1  # the stand-in was never written into the snapshot


def test_a_copy_missing_most_blobs_is_refused(source, tmp_path):
    copy = without_promisor_config(bare_clone(source, tmp_path / "copy.git", "--filter=blob:none"))
    with pytest.raises(PanelError, match=r"copy.git is incomplete: it lacks 0 commit\(s\)/tree\(s\) and 14 of its "
                                         r"14 blobs; copy or clone the repository again in full"):
        from_git(copy)
