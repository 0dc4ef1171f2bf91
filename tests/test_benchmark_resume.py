"""The run store of benchmarks/resume.py (a stopped run resuming end to end: tests/test_benchmark.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.methods import Output
from benchmarks.resume import RunStore

ORIGIN = pd.Timestamp("2023-04-01")


def _output(seed: int) -> Output:
    rng = np.random.default_rng(seed)
    return Output(rng.random((3, 6)), 1.5, 0.25, np.array([0, 1, 2]), None, rng.random((3, 6, 3)),
                  info={"skipped": np.int64(2), "weights": np.array([0.5, 0.5])})


def test_a_unit_round_trips_and_a_store_of_another_command_is_discarded(tmp_path):
    store = RunStore(tmp_path / "s", ["--corpus", "oss-activity"])
    assert store.enabled and store.load(ORIGIN, "ridge") is None
    out = _output(0)
    store.save(ORIGIN, "ridge", out, [{"method": "ridge", "projects": 3}])
    got, audit, model = RunStore(tmp_path / "s", ["--corpus", "oss-activity"]).load(ORIGIN, "ridge")
    np.testing.assert_array_equal(got.forecast, out.forecast)
    np.testing.assert_array_equal(got.quantiles, out.quantiles)
    np.testing.assert_array_equal(got.trend_pred, out.trend_pred)
    assert got.level_pred is None and model is None
    assert (got.fit_s, got.predict_s, got.info) == (1.5, 0.25, {"skipped": 2, "weights": [0.5, 0.5]})
    assert audit == [{"method": "ridge", "projects": 3}]
    assert RunStore(tmp_path / "s", ["--corpus", "opendigger"]).load(ORIGIN, "ridge") is None
    assert not list((tmp_path / "s").glob("*-ridge.*"))


def test_a_store_that_must_not_keep_anything_keeps_nothing(tmp_path):
    store = RunStore(tmp_path / "s", ["--blend"], why_not="--blend")
    store.save(ORIGIN, "ridge", _output(0), [])
    assert not store.enabled and store.load(ORIGIN, "ridge") is None and not (tmp_path / "s").exists()
