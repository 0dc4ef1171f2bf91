"""The deterministic baselines reproduce BENCHMARK.md's reference table on the embedded corpora."""

import pytest

from tsfuse.eval.baselines import forecast_windows, make_baseline
from tsfuse.data import make_windows
from tsfuse.eval.metrics import score, summarize

corpus = pytest.importorskip("tsfuse.data.corpus", reason="tsfuse.data.corpus (the corpus loader) is not there yet")

# corpus -> windows, method -> (MASE mean, MASE median, trend macro-F1, level macro-F1)
REFERENCE = {
    "oss-activity": (661, {
        "naive": (0.776, 0.524, 0.420, 0.641),
        "seasonal_naive": (0.865, 0.571, 0.528, 0.543),
        "mean3": (0.724, 0.473, 0.172, 0.683),
    }),
    "opendigger": (644, {
        "naive": (1.509, 1.189, 0.453, 0.725),
        "seasonal_naive": (2.379, 1.765, 0.356, 0.527),
        "mean3": (1.530, 1.167, 0.230, 0.727),
    }),
}


def _load(name: str):
    manifest = corpus.embedded_dir(name) / corpus.MANIFEST_FILE
    if not manifest.is_file():
        pytest.skip(f"embedded corpus {name!r} is not built yet ({manifest} missing)")
    return corpus.load_corpus(name)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_reference_table(name):
    c = _load(name)
    n_windows, expected = REFERENCE[name]
    windows = make_windows(c.panel, c.task, c.task.origin_timestamps())
    assert len(windows) == n_windows
    for method, numbers in expected.items():
        forecasts = forecast_windows(make_baseline(method, c.task), c.panel, windows).forecasts
        s = summarize(score(c.panel, windows, forecasts, c.task))
        got = tuple(round(s[k], 3) for k in ("mase_mean", "mase_median", "trend_f1", "level_f1"))
        assert got == pytest.approx(numbers, abs=1e-9), f"{name} {method}"
