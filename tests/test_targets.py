"""benchmarks/targets.py: issue 14's targets read from the pages' numbers and windows, pass or fail."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks import targets

METHODS = ("naive", "lightgbm", "tsfuse", "tsfuse-ft")


def _windows(mase_factor: dict[str, float], n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Scored windows: each method's MASE is naive's times its factor (plus noise); classes right for the
    tsfuse rows, half right for the others."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.5, 1.5, n)
    truth = rng.integers(0, 3, n)
    frames = []
    for m in METHODS:
        pred = truth if m.startswith("tsfuse") else np.where(np.arange(n) % 2 == 0, truth, (truth + 1) % 3)
        frames.append(pd.DataFrame({"method": m, "unique_id": [f"o/p{i}" for i in range(n)], "origin": "2023-04",
                                    "mase": base * mase_factor[m] + rng.normal(0, 0.01, n),
                                    "trend_true": truth, "trend_pred": pred, "level_true": truth, "level_pred": pred}))
    return pd.concat(frames, ignore_index=True)


def _results(w: pd.DataFrame, coverage: list[float], sql: dict[str, float | None]) -> dict:
    out = {}
    for m, rows in w.groupby("method"):
        out[m] = {"mase_mean": float(rows["mase"].mean()), "trend_f1": _macro(rows, "trend"),
                  "level_f1": _macro(rows, "level"),
                  "sql_mean": sql[m], "coverage_per_step": coverage}
    return out


def _macro(rows: pd.DataFrame, kind: str) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(rows[f"{kind}_true"], rows[f"{kind}_pred"], average="macro"))


def test_the_value_targets_pass_only_with_a_margin_and_an_interval_below_zero():
    sql = {"naive": 0.9, "lightgbm": 0.5, "tsfuse": 0.45, "tsfuse-ft": 0.44}
    far = _windows({"naive": 1.0, "lightgbm": 0.8, "tsfuse": 0.79, "tsfuse-ft": 0.7})
    rows = targets.value_targets(_results(far, [0.8] * 6, sql), far, full=True)
    assert rows[0].met and "lightgbm" in rows[0].target  # 0.7 <= 0.95 x 0.8, the interval below 0
    assert rows[1].met  # global tsfuse ahead of LightGBM: at least a tie
    assert all(r.met for r in rows[2:])  # the tsfuse rows classify every window right
    near = _windows({"naive": 1.0, "lightgbm": 0.8, "tsfuse": 0.85, "tsfuse-ft": 0.79})
    rows = targets.value_targets(_results(near, [0.8] * 6, sql), near, full=True)
    assert not rows[0].met  # 0.79 is ahead of 0.8, but not 5% ahead
    assert not rows[1].met  # 0.85 against 0.8 on the same windows: worse, the interval above 0
    # opendigger: below the best baseline is enough
    assert targets.value_targets(_results(near, [0.8] * 6, sql), near, full=False)[0].met


def test_coverage_must_hold_at_every_step_and_sql_must_beat_every_baseline_with_intervals():
    w = _windows({"naive": 1.0, "lightgbm": 0.8, "tsfuse": 0.79, "tsfuse-ft": 0.7})
    sql = {"naive": 0.9, "lightgbm": None, "tsfuse": 0.85, "tsfuse-ft": 0.95}  # LightGBM: no intervals here
    rows = {r.target.split(" ", 1)[0] + (" sql" if "quantile" in r.target else " cover"): r
            for r in targets.interval_targets(_results(w, [0.75, 0.8, 0.85, 0.8, 0.8, 0.8], sql))}
    assert rows["tsfuse cover"].met and rows["tsfuse-ft cover"].met  # 0.75 and 0.85 are inside 0.80 +- 0.05
    assert rows["tsfuse sql"].met and "naive 0.900" in rows["tsfuse sql"].target
    assert not rows["tsfuse-ft sql"].met
    off = targets.interval_targets(_results(w, [0.8, 0.8, 0.8, 0.8, 0.86, 0.8], sql))[0]
    assert not off.met and "step 5 0.8600" in off.measured


def test_slice_effects_read_the_sign_of_each_metric():
    by_slice = {"cold-3": {"differences": {"tsfuse-text-empty": {
        "windows": 10, "mase": [0.02, 0.01, 0.03],  # removing the README raises MASE: it helps
        "trend_f1": [-0.01, -0.05, 0.03],  # interval includes 0: no effect
        "level_f1": [0.05, 0.01, 0.1]}}}}  # removing it raises level F1: it hurts
    (row,) = targets.slice_effects(by_slice)
    assert row["variant"] == 'README → ""' and row["text_helps"] == ["MASE"] and row["text_hurts"] == ["level F1"]


def test_the_page_names_its_sources_counts_the_targets_and_lists_unpublished_pages(tmp_path):
    w = _windows({"naive": 1.0, "lightgbm": 0.8, "tsfuse": 0.79, "tsfuse-ft": 0.7})
    sql = {"naive": 0.9, "lightgbm": 0.5, "tsfuse": 0.45, "tsfuse-ft": 0.44}
    page = {"results": _results(w, [0.8] * 6, sql), "git": {"commit": "abc1234def"}, "text_ablation_by_slice": {}}
    (tmp_path / "oss-activity-cross-project.json").write_text(json.dumps(page))
    w.to_csv(tmp_path / "oss-activity-cross-project-windows.csv.gz", index=False)
    assert targets.main(["--results", str(tmp_path)]) == 0
    text = (tmp_path / "cross-project-targets.md").read_text()
    n = len(targets.value_targets(page["results"], w, True)) + len(targets.interval_targets(page["results"]))
    assert f"**{n} of {n} targets met.**" in text and "(commit abc1234)" in text
    assert "`oss-activity-v2-cross-project` is not published yet." in text
    assert "`opendigger-cross-project` is not published yet." in text
    saved = json.loads((tmp_path / "cross-project-targets.json").read_text())
    assert saved["corpora"]["opendigger"] is None and saved["corpora"]["oss-activity"]["windows"] == 60


def test_a_page_without_its_rows_or_its_windows_is_refused_by_name(tmp_path):
    page = tmp_path / "oss-activity-cross-project.json"
    page.write_text(json.dumps({"results": {"naive": {}}}))
    with pytest.raises(SystemExit, match=r"has no \['tsfuse-ft', 'tsfuse'\] rows"):
        targets.check_page(tmp_path, "oss-activity")
    page.write_text(json.dumps({"results": {m: {} for m in METHODS}}))
    with pytest.raises(SystemExit, match="no scored windows beside it \\(oss-activity-cross-project-windows.csv.gz\\)"):
        targets.check_page(tmp_path, "oss-activity")
