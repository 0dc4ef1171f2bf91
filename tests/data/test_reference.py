"""The data layer reproduces BENCHMARK.md's reference window counts and naive baselines exactly,
recomputed here with plain numpy on the public corpora as published (../shared/data: the shipped
copies leave out the reserved projects, the reference includes them)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsfuse.data.corpus import load_corpus
from tsfuse.data.windows import make_windows

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

REFERENCE = {  # BENCHMARK.md v1, "Reference numbers"
    "oss-activity": {"per_origin": {"2023-04": 246, "2023-10": 210, "2024-04": 205}, "trend": [230, 230, 201],
                     "level": [153, 218, 187, 97, 6],
                     "mase": {"naive": (0.776, 0.524), "seasonal_naive": (0.865, 0.571), "mean3": (0.724, 0.473)}},
    "opendigger": {"per_origin": {"2021-10": 209, "2022-04": 214, "2022-10": 221}, "trend": [182, 339, 123],
                   "level": [128, 151, 162, 120, 83],
                   "mase": {"naive": (1.509, 1.189), "seasonal_naive": (2.379, 1.765), "mean3": (1.530, 1.167)}},
}


@pytest.fixture(scope="module", params=sorted(REFERENCE))
def benchmark_windows(request):
    if not (SHARED / request.param).is_dir():
        pytest.skip(f"the public corpus {SHARED / request.param} is not beside this checkout")
    corpus = load_corpus(SHARED / request.param)
    # context long enough to hold every month before the origin (the MASE scale uses the whole history)
    return request.param, make_windows(corpus.panel, corpus.task, corpus.task.origins, context_length=400)


def test_window_counts(benchmark_windows):
    name, w = benchmark_windows
    ref = REFERENCE[name]
    per_origin = pd.Series(w.origin.astype(str)).value_counts().sort_index().to_dict()
    assert per_origin == ref["per_origin"]
    assert len(w) == sum(ref["per_origin"].values())
    assert np.bincount(w.trend, minlength=3).tolist() == ref["trend"]
    assert np.bincount(w.level, minlength=5).tolist() == ref["level"]


def mase(w, forecast):
    """Mean absolute error over the 6 months / mean absolute lag-1 difference of the window's history (0 -> 1)."""
    error = np.abs(w.target - np.clip(forecast, 0, None)).mean(axis=1)
    scale = np.array([np.abs(np.diff(h[m > 0])).mean() for h, m in zip(w.context, w.mask)])
    return error / np.where(scale > 0, scale, 1.0)


def test_deterministic_baselines(benchmark_windows):
    name, w = benchmark_windows
    last, h = w.context[:, -1:], w.context
    forecasts = {"naive": np.repeat(last, 6, axis=1), "seasonal_naive": h[:, -12:-6],
                 "mean3": np.repeat(h[:, -3:].mean(axis=1, keepdims=True), 6, axis=1)}
    for method, (mean, median) in REFERENCE[name]["mase"].items():
        scores = mase(w, forecasts[method])
        assert (round(scores.mean(), 3), round(float(np.median(scores)), 3)) == (mean, median), method
