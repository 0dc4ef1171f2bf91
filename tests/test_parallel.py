"""tsfuse.io.parallel: engines run every item and leave the caller's process as they found it."""

from __future__ import annotations

import os

import pytest

from tsfuse.io.parallel import preserved_environ, run_tasks


def _square(x: int) -> int:
    return x * x


def test_the_dask_engine_leaves_the_callers_environment_as_it_found_it(monkeypatch):
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TSFUSE_TEST_MARKER", "kept")
    before = dict(os.environ)
    results = {item: result for item, result, error in run_tasks(_square, [1, 2, 3], engine="dask", workers=1)}
    assert results == {1: 1, 2: 4, 3: 9}
    assert dict(os.environ) == before  # LocalCluster(processes=True) sets OMP_NUM_THREADS=1 & co. in the parent


def test_preserved_environ_removes_added_and_restores_changed_keys(monkeypatch):
    monkeypatch.setenv("TSFUSE_TEST_CHANGED", "before")
    monkeypatch.delenv("TSFUSE_TEST_ADDED", raising=False)
    with preserved_environ():
        os.environ["TSFUSE_TEST_CHANGED"] = "inside"
        os.environ["TSFUSE_TEST_ADDED"] = "inside"
        del os.environ["HOME"]
    assert os.environ["TSFUSE_TEST_CHANGED"] == "before"
    assert "TSFUSE_TEST_ADDED" not in os.environ and "HOME" in os.environ


@pytest.mark.parametrize("workers", [1, 2])
def test_local_engine_runs_every_item_and_reports_errors_per_item(workers):
    out = {item: (result, error) for item, result, error in run_tasks(_square, [2, "x"], workers=workers)}
    assert out[2] == (4, None)
    assert isinstance(out["x"][1], TypeError)
