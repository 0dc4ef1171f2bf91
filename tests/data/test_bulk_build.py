"""tsfuse.data.sources.bulk: many repositories -> partitioned Parquet, on the local and dask engines, resumably."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data.test_git import set_mtimes
from tsfuse.app.cli import main
from tsfuse.data.sources import bulk
from tsfuse.data.sources.bulk import build_bulk, load_built, load_readme_versions, read_sources
from tsfuse.data.corpus import EMBEDDED_ROOT
from tsfuse.data.sources.git import from_git, read_git
from tsfuse.data.sources.opendigger import from_opendigger
from tsfuse.data.sources.readme_history import read_readme_versions

SNAPSHOT = "2024-01-15T00:00:00Z"
REPOS = {  # name -> months with one commit each
    "alpha": ["2023-01", "2023-02", "2023-05"],
    "beta": ["2023-03", "2023-04"],
    "gamma": ["2022-11", "2023-06", "2023-07", "2023-12"],
    "delta": ["2023-08"],
}


pytestmark = pytest.mark.usefixtures("isolated_git")  # tests/conftest.py


def make_repo(path, months: list[str]) -> None:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    for i, month in enumerate(months):
        (path / "README.md").write_text(f"# {path.name}\n\nrelease {i}\n")
        when = f"{month}-10T10:00:00+00:00"
        env = {**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com", "GIT_COMMITTER_NAME": "A",
               "GIT_COMMITTER_EMAIL": "a@example.com", "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        for args in (["add", "-A"], ["commit", "-q", "-m", f"c{i}"]):
            subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, env=env)


@pytest.fixture
def repo_list(tmp_path):
    """A list file: the four repositories (relative paths), a comment, a blank line and a missing path."""
    for name, months in REPOS.items():
        make_repo(tmp_path / "repos" / name, months)
    listing = tmp_path / "repos.txt"
    listing.write_text("# corpus\nrepos/alpha\nrepos/beta\n\nrepos/gone\nrepos/gamma\nrepos/delta\nrepos/alpha/\n")
    return listing


def build(repo_list, out, **kwargs):
    return build_bulk(repo_list, out, snapshot=SNAPSHOT, progress=False, **kwargs)


def output_files(out) -> dict[str, bytes]:
    """Panel, README and README version files of a build, by relative path."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for part in ("panel", "readme", "readme_versions")
            for p in sorted((out / part).rglob("*")) if p.is_file()}


def test_list_file_paths_are_relative_to_it_and_kept_once(repo_list, tmp_path, caplog):
    entries = read_sources(repo_list)
    assert [e.source for e in entries] == [str(tmp_path / "repos" / n) for n in ("alpha", "beta", "gone", "gamma",
                                                                                   "delta")]
    assert f"{repo_list} names 1 path(s) more than once; each is built once" in caplog.text
    assert entries[0].name == f"repos__alpha-{entries[0].key}"
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ValueError, match=f"repository list {empty} names no repository"):
        read_sources(empty)


def test_local_build_writes_one_partitioned_parquet_per_repository_and_records_failures(repo_list, tmp_path):
    out = tmp_path / "out"
    summary = build(repo_list, out)
    assert (summary.sources, summary.skipped, summary.built, summary.failed) == (5, 0, 4, 1)
    panel, texts = load_built(out)
    for name in REPOS:
        expected, readme = from_git(tmp_path / "repos" / name, snapshot=SNAPSHOT)
        got = panel[panel.unique_id == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
        assert texts[name] == readme
        entry = bulk.Entry(str(tmp_path / "repos" / name))
        assert entry.path(out, "panel", ".parquet").is_file()
        assert entry.path(out, "panel", ".parquet").parent.name == f"bucket={entry.key[:2]}"
    failures = pd.read_csv(out / "failures.csv")
    gone = tmp_path / "repos" / "gone"
    assert failures.to_dict("records") == [
        {"source": str(gone), "error": f"PanelError: {gone} does not exist; pass the folder of a git clone"}]
    manifest = pd.read_csv(out / "manifest.csv")
    assert manifest["unique_id"].tolist() == ["alpha", "beta", "delta", "gamma"]
    assert manifest["months"].tolist() == [12, 10, 5, 14]  # first commit .. 2023-12 (snapshot month cut)
    assert json.loads((out / "build.json").read_text()) == {"kind": "git", "snapshot": SNAPSHOT}


def test_killed_build_resumes_without_recomputing_and_equals_an_uninterrupted_build(repo_list, tmp_path,
                                                                                    monkeypatch):
    calls = []

    def reader(path, **kwargs):
        calls.append(path.name)
        if stop_after is not None and len(calls) > stop_after:
            raise KeyboardInterrupt  # a kill between two repositories
        return read_git(path, **kwargs)

    monkeypatch.setattr(bulk, "read_git", reader)
    out = tmp_path / "out"
    stop_after = 2
    with pytest.raises(KeyboardInterrupt):
        build(repo_list, out)
    assert calls == ["alpha", "beta", "gone"]
    finished = {p: p.stat().st_mtime_ns for p in (out / "done").rglob("*.json")}
    assert len(finished) == 2 and not (out / "manifest.csv").exists()  # killed before the summary

    calls.clear()
    stop_after = None
    summary = build(repo_list, out)
    assert calls == ["gone", "gamma", "delta"]  # alpha and beta are not read again
    assert (summary.skipped, summary.built, summary.failed) == (2, 2, 1)
    assert all(p.stat().st_mtime_ns == t for p, t in finished.items())

    calls.clear()
    (next((out / "done").rglob("repos__gamma-*.json"))).unlink()  # killed after the panel, before the marker
    assert build(repo_list, out).built == 1 and calls == ["gone", "gamma"]

    whole = tmp_path / "whole"
    build(repo_list, whole)
    assert output_files(out) == output_files(whole)
    pd.testing.assert_frame_equal(load_built(out)[0], load_built(whole)[0])
    assert load_built(out)[1] == load_built(whole)[1]


def test_dask_build_on_a_two_worker_local_cluster_equals_the_local_build(repo_list, tmp_path):
    from dask.distributed import LocalCluster

    local = tmp_path / "local"
    build(repo_list, local)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        out = tmp_path / "dask"
        summary = build(repo_list, out, engine="dask", scheduler=cluster.scheduler_address)
        assert (summary.built, summary.failed) == (4, 1)
        assert len(cluster.scheduler.workers) == 2
        assert build(repo_list, out, engine="dask", scheduler=cluster.scheduler_address).skipped == 4
    assert output_files(out) == output_files(local)
    pd.testing.assert_frame_equal(pd.read_csv(out / "failures.csv"), pd.read_csv(local / "failures.csv"))


@pytest.mark.slow
def test_dask_engine_starts_its_own_cluster_of_worker_processes(repo_list, tmp_path):
    summary = build(repo_list, tmp_path / "dask", engine="dask", workers=2)
    assert (summary.built, summary.failed) == (4, 1)
    local = tmp_path / "local"
    build(repo_list, local)
    assert output_files(tmp_path / "dask") == output_files(local)


def test_snapshot_and_kind_are_fixed_by_the_first_run(repo_list, tmp_path):
    out = tmp_path / "out"
    build(repo_list, out)
    assert build_bulk(repo_list, out, progress=False).skipped == 4  # no snapshot given: the saved one
    with pytest.raises(ValueError, match=f"{out} was built with snapshot {SNAPSHOT} "):
        build_bulk(repo_list, out, snapshot="2024-02-01", progress=False)
    with pytest.raises(ValueError, match=f"{out} holds a git build"):
        build_bulk(repo_list, out, kind="opendigger", progress=False)
    with pytest.raises(ValueError, match="engine must be one of \\['local', 'dask'\\], got 'ray'"):
        build_bulk(repo_list, tmp_path / "other", engine="ray", progress=False)
    assert not (tmp_path / "other").exists()  # refused before anything is written


def test_opendigger_folders(tmp_path):
    for owner, repo, values in (("o1", "r1", {"2022-01": 1.5, "2022-02": 2.0}), ("o2", "r2", {"2021-12": 3.0})):
        folder = tmp_path / "od" / owner / repo
        folder.mkdir(parents=True)
        (folder / "activity.json").write_text(json.dumps(values))
    make_repo(tmp_path / "repos" / "alpha", ["2023-01"])
    listing = tmp_path / "od.txt"
    listing.write_text("od/o1/r1\nod/o2/r2\nrepos/alpha\n")
    out = tmp_path / "out"
    summary = build_bulk(listing, out, kind="opendigger", snapshot="2022-04-10", progress=False)
    assert (summary.built, summary.failed) == (2, 1)
    panel, texts = load_built(out)
    expected = from_opendigger(tmp_path / "od" / "o1" / "r1", end="2022-03")[0]
    pd.testing.assert_frame_equal(panel[panel.unique_id == "o1/r1"].reset_index(drop=True), expected,
                                  check_dtype=False)
    assert panel.groupby("unique_id").ds.max().dt.strftime("%Y-%m").tolist() == ["2022-03", "2022-03"]
    assert texts == {"o1/r1": "", "o2/r2": ""}
    assert "is a git repository, but this build holds OpenDigger folders" in (out / "failures.csv").read_text()


def test_embeddings_in_batches_and_cached(repo_list, tmp_path, tiny_bert_dir, monkeypatch):
    from tsfuse.text.encoder import TextEncoder

    encoded = []
    real = TextEncoder._embed

    def counting(self, texts, show_progress):
        encoded.append(len(texts))
        return real(self, texts, show_progress)

    monkeypatch.setattr(TextEncoder, "_embed", counting)
    out = tmp_path / "out"
    summary = build(repo_list, out, embed=str(tiny_bert_dir), embed_batch=3)
    assert summary.embedded == 4 and encoded == [3, 1, 2, 1, 2]  # 4 READMEs, then 9 versions (4 already cached)
    table = pd.read_parquet(out / "text_embeddings.parquet")
    assert table["unique_id"].tolist() == ["alpha", "beta", "delta", "gamma"] and table["present"].all()
    assert {len(v) for v in table["vector"]} == {32}
    encoded.clear()
    assert build(repo_list, out, embed=str(tiny_bert_dir), embed_batch=3).embedded == 4
    assert encoded == [0, 0, 0, 0, 0]  # every README and version came from the cache
    versions = pd.read_parquet(out / "readme_version_embeddings.parquet")
    assert list(versions.columns) == ["unique_id", "valid_from", "sha256", "present", "embedding"]
    assert len(versions) == 9 and versions["sha256"].is_unique and versions["present"].all()
    assert {(v.dtype, len(v)) for v in versions["embedding"]} == {(np.dtype("float16"), 32)}


def test_cli_builds_from_a_list_and_keeps_the_old_build_without_it(repo_list, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    argv = ["data", "build", "--repos", str(repo_list), "--out", str(out), "--workers", "1", "--snapshot", SNAPSHOT]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "5 sources: 4 built, 0 already done, 1 failed in " in printed
    assert f"failures: {out / 'failures.csv'}" in printed
    assert main(argv) == 0
    assert "5 sources: 0 built, 4 already done, 1 failed" in capsys.readouterr().out

    assert main(["data", "build", "--engine", "dask"]) == 2
    assert "--engine can only be used with --repos LIST" in capsys.readouterr().err
    assert main(["data", "build", "--repos", str(repo_list)]) == 2
    assert "--out DIR is required with --repos" in capsys.readouterr().err

    seen = []
    monkeypatch.setattr("tsfuse.data.build.build", lambda shared, out: seen.append((shared, out)) or {})
    assert main(["data", "build"]) == 0
    assert seen == [(Path("../shared/data"), EMBEDDED_ROOT)]


def test_manifest_records_what_each_clone_is_and_the_readme_versions(repo_list, tmp_path):
    out = tmp_path / "out"
    build(repo_list, out)
    manifest = pd.read_csv(out / "manifest.csv").set_index("unique_id")
    gamma = tmp_path / "repos" / "gamma"
    history = read_git(gamma, snapshot=SNAPSHOT)
    row = manifest.loc["gamma"]
    assert row["last_update"] == bulk._iso(history.last_update)
    assert row["missing_blobs"] == 0 and row["n_commits"] == 4
    assert row["root_commit"] == history.root_commits[0] and len(row["root_commit"]) == 40
    assert (row["first_commit_at"], row["last_commit_at"]) == ("2022-11-10T10:00:00Z", "2023-12-10T10:00:00Z")
    versions = load_readme_versions(out)
    pd.testing.assert_frame_equal(versions[versions.unique_id == "gamma"].drop(columns="unique_id")
                                  .reset_index(drop=True), read_readme_versions(gamma, until="2023-12"))
    assert versions.groupby("unique_id").size().to_dict() == {"alpha": 2, "beta": 2, "delta": 1, "gamma": 4}


def test_a_stale_clone_ends_at_its_last_update_and_a_partial_clone_is_a_recorded_failure(repo_list, tmp_path):
    set_mtimes(tmp_path / "repos" / "beta", "2023-06-10T00:00:00Z")
    subprocess.run(["git", "-C", str(tmp_path / "repos" / "alpha"), "config", "uploadpack.allowFilter", "true"],
                   check=True)
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", "--no-checkout",
                    (tmp_path / "repos" / "alpha").as_uri(), str(tmp_path / "repos" / "partial")], check=True,
                   capture_output=True)
    listing = tmp_path / "more.txt"
    listing.write_text("repos/beta\nrepos/partial\n")
    out = tmp_path / "out"
    summary = build_bulk(listing, out, snapshot=SNAPSHOT, progress=False)
    assert (summary.built, summary.failed) == (1, 1)
    manifest = pd.read_csv(out / "manifest.csv")
    assert manifest[["unique_id", "last_month", "last_update"]].values.tolist() == [
        ["beta", "2023-05", "2023-06-10T00:00:00Z"]]  # not 2023-12 with seven months of zeros
    failure = pd.read_csv(out / "failures.csv")["error"].iloc[0]
    assert failure.startswith("PanelError: ") and "is a partial clone (remote.origin.promisor=true)" in failure
