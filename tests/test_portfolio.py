"""Many projects at once: tsfuse.forecast and `tsfuse forecast`, resumable, with machine-readable output."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import tsfuse
from tsfuse.data.synthetic import generate_panel


@pytest.fixture()
def three_projects() -> pd.DataFrame:
    panel = generate_panel(3, 30, covariates=("authors",), seed=2, start="2021-01")
    return panel.assign(unique_id=panel["unique_id"].map(lambda u: f"org/{u}"))


def test_cli_forecast_writes_clean_csv_of_every_project_to_stdout(three_projects, tmp_path):
    csv = tmp_path / "three.csv"
    three_projects.to_csv(csv, index=False)
    done = subprocess.run([sys.executable, "-m", "tsfuse.app.cli", "forecast", "--csv", str(csv), "--no-finetune",
                           "--format", "csv"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(io.StringIO(done.stdout))  # stdout is the CSV and nothing else
    assert sorted(table["unique_id"].unique()) == sorted(three_projects["unique_id"].unique())
    assert len(table) == 3 * 6
    for column in ("ds", "p10", "p50", "p90", "trend", "trend_up", "level", "level_label", "level_4"):
        assert column in table.columns
    assert (table["p10"] <= table["p90"]).all()


def test_forecast_resumes_from_its_folder_and_reports_failures(three_projects, tmp_path):
    first = tsfuse.forecast(three_projects, finetune=False, out=tmp_path / "fc", progress=False)
    assert first.attrs["failures"] == {} and first["unique_id"].nunique() == 3
    written = sorted((tmp_path / "fc").glob("*.csv"))
    stamps = [p.stat().st_mtime_ns for p in written]
    short = pd.DataFrame({"unique_id": "org/short", "ds": pd.date_range("2024-01-01", periods=2, freq="MS"), "y": 1.0,
                          "authors": 1.0})
    again = tsfuse.forecast(pd.concat([three_projects, short]), finetune=False, out=tmp_path / "fc", progress=False)
    assert [p.stat().st_mtime_ns for p in written] == stamps  # the finished projects were not forecast again
    assert "org/short" in again.attrs["failures"] and "at least 3" in again.attrs["failures"]["org/short"]
    pd.testing.assert_frame_equal(again, first, check_dtype=False)


def test_forecast_fine_tunes_each_project_in_worker_processes(three_projects):
    table = tsfuse.forecast(three_projects, workers=2, progress=False, max_epochs=1)
    assert table["unique_id"].nunique() == 3 and np.isfinite(table[["p10", "p50", "p90"]].to_numpy()).all()
