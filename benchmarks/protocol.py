"""BENCHMARK.md v1's reference numbers and the check that this code reproduces them.

The reference is defined on the public corpora as published (``../shared/data``: 254 oss-activity
and 225 opendigger projects). The shipped copies and every training set leave out the projects
of ``reserved-projects.txt``, so the check reads the raw public folder itself and scores only the
deterministic baselines on it (nothing is trained): windows per origin, true class counts and
MASE mean / median / trend F1 / level F1 of ``naive``, ``seasonal_naive`` and ``mean3``, which must
match to 3 decimals.
"""

from __future__ import annotations

from pathlib import Path

from tsfuse.data.corpus import load_corpus
from tsfuse.data.tasks import TREND_CLASSES
from tsfuse.data.windows import make_windows
from tsfuse.eval.baselines import forecast_windows, make_baseline
from tsfuse.eval.metrics import score, summarize

REFERENCE = {
    "oss-activity": {
        "windows": {"2023-04": 246, "2023-10": 210, "2024-04": 205},
        "trend": [230, 230, 201], "level": [153, 218, 187, 97, 6],
        "naive": (0.776, 0.524, 0.420, 0.641), "seasonal_naive": (0.865, 0.571, 0.528, 0.543),
        "mean3": (0.724, 0.473, 0.172, 0.683)},
    "opendigger": {
        "windows": {"2021-10": 209, "2022-04": 214, "2022-10": 221},
        "trend": [182, 339, 123], "level": [128, 151, 162, 120, 83],
        "naive": (1.509, 1.189, 0.453, 0.725), "seasonal_naive": (2.379, 1.765, 0.356, 0.527),
        "mean3": (1.530, 1.167, 0.230, 0.727)},
}
METHODS = ("naive", "seasonal_naive", "mean3")
METRICS = ("mase_mean", "mase_median", "trend_f1", "level_f1")


def protocol_check(name: str, raw_dir: Path) -> dict | None:
    """Each reference number of corpus ``name`` recomputed from the raw public folder
    ``raw_dir/<name>``: ``{check: {"got", "expected", "ok"}}``; None without a reference or a folder."""
    ref, folder = REFERENCE.get(name), Path(raw_dir) / name
    if ref is None or not folder.is_dir():
        return None
    corpus = load_corpus(folder)
    windows = make_windows(corpus.panel, corpus.task, corpus.task.origin_timestamps())
    origins = windows.origin.astype("datetime64[M]").astype(str)
    checks = {"windows": ({o: int((origins == o).sum()) for o in sorted(set(origins))}, ref["windows"]),
              "trend classes": ([int((windows.trend == i).sum()) for i in range(len(TREND_CLASSES))], ref["trend"]),
              "level classes": ([int((windows.level == i).sum()) for i in range(len(ref["level"]))], ref["level"])}
    for method in METHODS:
        forecasts = forecast_windows(make_baseline(method, corpus.task), corpus.panel, windows).forecasts
        summary = summarize(score(corpus.panel, windows, forecasts, corpus.task))
        checks[method] = (tuple(round(float(summary[k]), 3) for k in METRICS), ref[method])
    same = lambda a, b: a == b if isinstance(a, dict) else list(a) == list(b)  # noqa: E731
    return {k: {"got": got, "expected": exp, "ok": same(got, exp)} for k, (got, exp) in checks.items()}
