"""README versions over time (first-parent line, UTC quarter starts) and the no-look-ahead rule of readme_at."""

import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.data.test_git import ALICE, BOB, bare_clone, commit, git
from tsfuse.data.sources.git import from_git
from tsfuse.data.sources.readme_history import VERSION_COLUMNS, read_readme_versions, readme_at

pytestmark = pytest.mark.usefixtures("isolated_git")  # tests/conftest.py


@pytest.fixture
def repo(tmp_path):
    """No README in 2022 | v1 in January 2023 | v2 at 2023-04-01 01:30 UTC (still March 31 at -02:00) |
    "branch" from a feature branch, merged in August | "exact" at 2023-10-01 00:00 UTC | README removed on
    the last second of 2023 | README.rst in February 2024."""
    r = tmp_path / "demo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    commit(r, {"a.txt": "a\n"}, ALICE, "2022-11-05T10:00:00+00:00")
    commit(r, {"README.md": "v1\n"}, ALICE, "2023-01-20T10:00:00+00:00")
    commit(r, {"README.md": "v2\n"}, ALICE, "2023-03-31T23:30:00-02:00")
    git(r, "checkout", "-q", "-b", "feature")
    commit(r, {"README.md": "branch\n"}, BOB, "2023-05-01T10:00:00+00:00")
    git(r, "checkout", "-q", "main")
    commit(r, {"b.txt": "b\n"}, ALICE, "2023-06-01T10:00:00+00:00")
    git(r, "merge", "-q", "--no-ff", "-m", "merge", "feature", when="2023-08-15T10:00:00+00:00")
    commit(r, {"README.md": "exact\n"}, ALICE, "2023-10-01T00:00:00+00:00")
    git(r, "rm", "-q", "README.md")
    git(r, "commit", "-q", "-m", "rm", when="2023-12-31T23:59:59+00:00")
    commit(r, {"README.rst": "rst\n"}, ALICE, "2024-02-10T10:00:00+00:00")
    return r


EXPECTED = [("2023-04-01", "2023-01-20T10:00:00Z", "README.md", "v1\n"),
            ("2023-07-01", "2023-06-01T10:00:00Z", "README.md", "v2\n"),  # day 2023-04-01 sees v1 (UTC)
            ("2023-10-01", "2023-08-15T10:00:00Z", "README.md", "branch\n"),  # the merge, not the commit at 00:00
            ("2024-01-01", "2023-12-31T23:59:59Z", "", ""),  # removed
            ("2024-04-01", "2024-02-10T10:00:00Z", "README.rst", "rst\n")]  # 2024-07-01 and -10-01 repeat it


def as_tuples(versions: pd.DataFrame) -> list[tuple]:
    return [(f"{r.valid_from:%Y-%m-%d}", f"{r.commit_at:%Y-%m-%dT%H:%M:%SZ}", r.file, r.text)
            for r in versions.itertuples()]


def test_versions_at_quarter_starts_from_the_first_parent_line(repo):
    versions = read_readme_versions(repo, until="2024-09")
    assert tuple(versions.columns) == VERSION_COLUMNS
    assert as_tuples(versions) == EXPECTED
    assert (versions["commit_at"] < versions["valid_from"].dt.tz_localize("UTC")).all()
    assert versions["sha256"].str.fullmatch("[0-9a-f]{64}").all() and versions["sha256"].is_unique
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert versions["commit"].iloc[-1] == head.strip()


def test_monthly_days_and_an_earlier_end(repo):
    versions = read_readme_versions(repo, until="2023-06", every="MS")
    assert [v[0] for v in as_tuples(versions)] == ["2023-02-01", "2023-05-01"]


def test_a_bare_clone_has_the_same_versions(repo, tmp_path):
    bare = bare_clone(repo, tmp_path / "demo.git")
    pd.testing.assert_frame_equal(read_readme_versions(bare, until="2024-09"), read_readme_versions(repo,
                                                                                                    until="2024-09"))


def test_from_git_returns_the_versions_up_to_the_series_end(repo):
    panel, versions = from_git(repo, until="2024-09", readme_history=True)
    assert panel["ds"].max() == pd.Timestamp("2024-09-01")
    pd.testing.assert_frame_equal(versions, read_readme_versions(repo, until="2024-09"))
    assert isinstance(from_git(repo, until="2024-09")[1], str)


def test_readme_at_uses_only_versions_read_by_the_origin(repo):
    versions = read_readme_versions(repo, until="2024-09")
    assert readme_at(versions, "2023-03-01") == ""
    assert readme_at(versions, "2023-04-01") == "v1\n"
    assert readme_at(versions, "2023-06-01") == "v1\n"  # v2 exists since April 1, but is read only in July
    assert readme_at(versions, pd.Timestamp("2023-07-01T00:00:00Z")) == "v2\n"
    assert readme_at(versions, "2024-02-01") == ""
    assert readme_at(versions, "2030-01-01") == "rst\n"


def test_a_repository_without_a_readme_has_no_versions(tmp_path):
    r = tmp_path / "r"
    r.mkdir()
    git(r, "init", "-q")
    commit(r, {"a.txt": "a\n"}, ALICE, "2023-01-05T00:00:00+00:00")
    versions = read_readme_versions(r, until="2023-12")
    assert versions.empty and tuple(versions.columns) == VERSION_COLUMNS
    assert readme_at(versions, "2024-01-01") == ""


CHANGES = st.lists(st.tuples(st.integers(0, 900), st.integers(-12, 12), st.sampled_from(["edit", "rm", "none"])),
                   min_size=1, max_size=6)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES, origins=st.lists(st.integers(0, 1000), min_size=1, max_size=5))
def test_readme_at_never_uses_a_commit_dated_at_or_after_the_origin(changes, origins):
    """Random commit dates (any order, any time zone) and README edits; random origins (month starts)."""
    start = pd.Timestamp("2021-01-01T00:00:00Z")
    with tempfile.TemporaryDirectory() as folder:
        r = Path(folder)
        git(r, "init", "-q", "-b", "main")
        for i, (day, hours, kind) in enumerate(changes):
            when = (start + pd.Timedelta(days=day)).tz_convert(f"Etc/GMT{-hours:+d}" if hours else "UTC")
            files = {"README.md": f"version {i}\n"} if kind == "edit" else {f"f{i}.txt": "x\n"}
            if kind == "rm" and (r / "README.md").exists():
                git(r, "rm", "-q", "README.md")
            commit(r, files, ALICE, when.isoformat())
        versions = read_readme_versions(r, until="2024-06")
        for offset in origins:
            origin = (start + pd.Timedelta(days=offset)).tz_localize(None).to_period("M").to_timestamp()
            text = readme_at(versions, origin)
            used = versions[versions["valid_from"] <= origin]
            if text:
                assert used["commit_at"].iloc[-1] < origin.tz_localize("UTC")
            day = origin.to_period("Q").to_timestamp()  # the latest quarter start at or before the origin
            source = subprocess.run(["git", "-C", str(r), "rev-list", "-1", "--first-parent",
                                     f"--before={(day - pd.Timedelta(seconds=1)).isoformat()}Z", "HEAD"],
                                    capture_output=True, text=True, check=True).stdout.strip()
            shown = subprocess.run(["git", "-C", str(r), "show", f"{source}:README.md"], capture_output=True,
                                   text=True) if source else None
            assert text == (shown.stdout if shown is not None and shown.returncode == 0 else "")
