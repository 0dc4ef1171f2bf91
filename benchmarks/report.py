"""Scores, tables, verdicts, the text-ablation comparison and the per-horizon plot of a benchmark run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from tsfuse.eval.baselines import past_values
from tsfuse.data.schema import ID
from tsfuse.data.tasks import TaskSpec
from tsfuse.data.windows import WindowSet
from tsfuse.eval.metrics import macro_f1, mase_scale, paired_bootstrap_ci, score, summarize

# column -> (header, higher is better, decimals)
COLUMNS = {
    "mase_mean": ("MASE mean", False, 3), "mase_median": ("MASE median", False, 3),
    "smape": ("sMAPE", False, 2), "rmsle": ("RMSLE", False, 3),
    "trend_f1": ("trend F1", True, 3), "trend_acc": ("trend acc", True, 3),
    "level_f1": ("level F1", True, 3), "level_acc": ("level acc", True, 3),
    "sql_mean": ("SQL mean", False, 3), "sql_median": ("SQL median", False, 3),
    "coverage": ("p10-p90 cover", None, 3),
    "fit_s": ("fit s", False, 1), "predict_s": ("predict s", False, 1),
    "windows": ("windows", None, 0), "projects": ("projects", None, 0),
}
QUALITY = ("mase_mean", "mase_median", "smape", "rmsle", "trend_f1", "trend_acc", "level_f1", "level_acc")
N_BOOT = 2000
# ------------------------------------------------------------------------------ scoring
def score_windows(method: str, panel: pd.DataFrame, windows: WindowSet, forecast: np.ndarray, task: TaskSpec,
                  trend_pred=None, level_pred=None, quantiles=None) -> pd.DataFrame:
    """Per-window rows of :func:`tsfuse.eval.metrics.score` plus the absolute error of each horizon step
    (``ae_1..ae_H``) and the window's MASE scale, for per-horizon curves; with ``quantiles`` [N, H, 3]
    also SQL and the per-step p10-p90 hits (BENCHMARK.md v2)."""
    fc = np.clip(np.asarray(forecast, float), 0, None)
    if not np.isfinite(fc).all():
        raise ValueError(f"{method}: {int((~np.isfinite(fc)).sum())} non-finite forecast values")
    rows = score(panel, windows, fc, task, trend_pred=trend_pred, level_pred=level_pred, quantiles=quantiles)
    rows.insert(0, "method", method)
    rows["scale"] = [mase_scale(h) for h in past_values(panel, windows)]
    for h in range(fc.shape[1]):
        rows[f"ae_{h + 1}"] = np.abs(fc[:, h] - windows.target[:, h])
    return rows


def summary_table(per_window: pd.DataFrame, timings: dict[str, dict[str, float]], order: list[str]) -> pd.DataFrame:
    """Method x report numbers (fit / predict seconds summed over origins)."""
    rows = {}
    for m in order:
        w = per_window[per_window["method"] == m]
        if len(w):
            rows[m] = {k: v for k, v in {**summarize(w), **timings.get(m, {})}.items() if k != "coverage_per_step"}
    table = pd.DataFrame.from_dict(rows, orient="index")
    return table[[c for c in COLUMNS if c in table.columns]]


def per_origin(per_window: pd.DataFrame, order: list[str]) -> dict:
    out = {}
    for origin, w in per_window.groupby("origin"):
        out[f"{pd.Timestamp(origin):%Y-%m}"] = {m: summarize(g) for m, g in w.groupby("method") if m in order}
    return out


def per_horizon(per_window: pd.DataFrame, order: list[str]) -> dict[str, dict[str, list[float]]]:
    """Per method, MAE and MASE (error / window scale, averaged over windows) of each horizon step."""
    steps = sorted((c for c in per_window.columns if c.startswith("ae_")), key=lambda c: int(c[3:]))
    out = {}
    for m in order:
        w = per_window[per_window["method"] == m]
        if len(w):
            out[m] = {"mae": [float(w[c].mean()) for c in steps],
                      "mase": [float((w[c] / w["scale"]).mean()) for c in steps],
                      **({"coverage_per_step": summarize(w)["coverage_per_step"]} if "sql" in w and w["sql"].notna().any()
                         else {})}
    return out


# ------------------------------------------------------------------------- comparisons
def _paired(w: pd.DataFrame, a: str, b: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of methods ``a`` and ``b`` on the same windows, aligned."""
    key = [ID, "origin"]
    left = w[w["method"] == a].set_index(key).sort_index()
    right = w[w["method"] == b].set_index(key).sort_index()
    common = left.index.intersection(right.index)
    return left.loc[common], right.loc[common]


def fast_macro_f1(true: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """scikit-learn's macro-F1 (classes present in the truth or the predictions, zero_division=0) from a
    confusion matrix: the same number, about 100x faster, for the bootstrap's many resamples."""
    cm = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diag(cm).astype(float)
    support, predicted = cm.sum(1), cm.sum(0)
    present = (support + predicted) > 0
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1[present].mean()) if present.any() else 0.0


def bootstrap_f1_diff(true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, seed: int = 0,
                      n_boot: int = N_BOOT) -> tuple[float, float, float]:
    """macro-F1(a) - macro-F1(b) on the same windows and its paired percentile bootstrap 95% interval
    (windows resampled with replacement, both F1 recomputed on each resample)."""
    true, pred_a, pred_b = (np.asarray(x, np.int64) for x in (true, pred_a, pred_b))
    k_classes = int(max(true.max(), pred_a.max(), pred_b.max())) + 1
    rng = np.random.default_rng(seed)
    n = len(true)
    diffs = np.empty(n_boot)
    for k in range(n_boot):
        i = rng.integers(0, n, n)
        diffs[k] = fast_macro_f1(true[i], pred_a[i], k_classes) - fast_macro_f1(true[i], pred_b[i], k_classes)
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    return macro_f1(true, pred_a) - macro_f1(true, pred_b), float(lo), float(hi)


def compare(w: pd.DataFrame, a: str, b: str, seed: int = 0) -> dict:
    """a - b on MASE (mean over windows) and trend / level macro-F1, each with a paired bootstrap 95% CI."""
    left, right = _paired(w, a, b)
    if not len(left):
        return {}
    out = {"windows": int(len(left))}
    out["mase"] = paired_bootstrap_ci(left["mase"].to_numpy(), right["mase"].to_numpy(), n_boot=N_BOOT, seed=seed)
    for kind in ("trend", "level"):
        out[f"{kind}_f1"] = bootstrap_f1_diff(left[f"{kind}_true"].to_numpy(), left[f"{kind}_pred"].to_numpy(),
                                              right[f"{kind}_pred"].to_numpy(), seed=seed)
    return out


def verdict(table: pd.DataFrame, per_window: pd.DataFrame, candidate: str, baselines: list[str],
            seed: int = 0) -> dict:
    """Per quality metric: the best baseline, tsfuse's value, whether tsfuse beats it, and for MASE mean
    and the F1 scores the paired bootstrap 95% interval of the difference."""
    if candidate not in table.index:
        return {}
    base = [b for b in baselines if b in table.index]
    if not base:
        return {}
    out = {}
    for col in QUALITY:
        higher = COLUMNS[col][1]
        values = table.loc[base, col]
        best = values.idxmax() if higher else values.idxmin()
        mine, theirs = float(table.loc[candidate, col]), float(values[best])
        beats = mine > theirs if higher else mine < theirs
        out[col] = {"best_baseline": best, "baseline": theirs, "tsfuse": mine,
                    "beats": bool(beats) and not math.isclose(mine, theirs, rel_tol=0, abs_tol=1e-12),
                    "ties": math.isclose(mine, theirs, rel_tol=0, abs_tol=1e-12)}
        if col in ("mase_mean", "trend_f1", "level_f1"):
            diff = compare(per_window, candidate, best, seed)
            key = "mase" if col == "mase_mean" else col
            if diff:
                out[col]["diff_ci95"] = list(diff[key])
    return out


def verdict_sentences(v: dict, candidate: str = "tsfuse") -> list[str]:
    lines = []
    for col, d in v.items():
        header, higher, dec = COLUMNS[col]
        rel = "beats" if d["beats"] else ("ties with" if d["ties"] else "does not beat")
        ci = ""
        if "diff_ci95" in d:
            m, lo, hi = d["diff_ci95"]
            sig = "excludes 0" if lo > 0 or hi < 0 else "includes 0"
            ci = f"; {candidate} − {d['best_baseline']} = {m:+.{dec}f}, 95% CI [{lo:+.{dec}f}, {hi:+.{dec}f}] ({sig})"
        lines.append(f"- **{header}** ({'higher' if higher else 'lower'} is better): {candidate} {d['tsfuse']:.{dec}f} "
                     f"{rel} the best baseline {d['best_baseline']} {d['baseline']:.{dec}f}{ci}.")
    return lines


def ablation(per_window: pd.DataFrame, seed: int = 0) -> dict:
    """Text ablation: tsfuse with the real README vs (a) the same model with "" as README,
    (b) a model trained without the text tower. Differences = variant − real README."""
    out = {}
    for variant, label in (("tsfuse-text-empty", 'same model, README replaced by ""'),
                           ("tsfuse-no-text-tower", "model trained without the text tower")):
        d = compare(per_window, variant, "tsfuse", seed)
        if d:
            out[variant] = {"label": label, **d}
    return out


# ------------------------------------------------------------------------------- output
def _fmt(value, dec: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{int(value)}" if dec == 0 else f"{value:.{dec}f}"


def markdown_table(table: pd.DataFrame, mark_best: bool = True) -> str:
    cols = list(table.columns)
    lines = ["| method | " + " | ".join(COLUMNS[c][0] for c in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    best = {}
    for c in cols:
        higher = COLUMNS[c][1]
        if mark_best and higher is not None and len(table) > 1:
            col = table[c].astype(float)
            best[c] = _fmt(col.max() if higher else col.min(), COLUMNS[c][2])
    for m, row in table.iterrows():
        cells = []
        for c in cols:
            text = _fmt(row[c], COLUMNS[c][2])
            if c in best and text == best[c]:  # best as displayed: ties at the shown precision all marked
                text = f"**{text}**"
            cells.append(text)
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ablation_markdown(abl: dict, table: pd.DataFrame) -> str:
    if not abl:
        return ""
    lines = ["| variant | MASE mean | trend F1 | level F1 | Δ MASE (95% CI) | Δ trend F1 (95% CI) | Δ level F1 (95% CI) |",
             "|---|---:|---:|---:|---|---|---|"]
    if "tsfuse" in table.index:
        r = table.loc["tsfuse"]
        lines.append(f"| tsfuse, real README | {r['mase_mean']:.3f} | {r['trend_f1']:.3f} | {r['level_f1']:.3f} | – | – | – |")
    for variant, d in abl.items():
        r = table.loc[variant] if variant in table.index else None
        cells = [f"{d['mase'][0]:+.3f} [{d['mase'][1]:+.3f}, {d['mase'][2]:+.3f}]"]
        cells += [f"{d[k][0]:+.3f} [{d[k][1]:+.3f}, {d[k][2]:+.3f}]" for k in ("trend_f1", "level_f1")]
        vals = ["–"] * 3 if r is None else [f"{r['mase_mean']:.3f}", f"{r['trend_f1']:.3f}", f"{r['level_f1']:.3f}"]
        lines.append(f"| {d['label']} | " + " | ".join(vals + cells) + " |")
    return "\n".join(lines)


def plot_horizon(curves: dict[str, dict[str, list[float]]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = plt.get_cmap("tab20").colors
    for k, (m, c) in enumerate(curves.items()):
        steps = np.arange(1, len(c["mae"]) + 1)
        style = dict(lw=2.5, color="black") if m == "tsfuse" else dict(
            lw=1.2, color=colors[(2 * k) % 20 + (k // 10) % 2], ls=("-", "--", ":")[k % 3])
        axes[0].plot(steps, c["mae"], marker="o", ms=3, label=m, **style)
        axes[1].plot(steps, c["mase"], marker="o", ms=3, label=m, **style)
    for ax, what in zip(axes, ("MAE (target units per month)", "MASE (error / window scale)")):
        ax.set_xlabel("horizon step (months after the origin)")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, ncol=2)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def to_jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj


def write_json(path: Path, payload: dict) -> Path:
    path.write_text(json.dumps(to_jsonable(payload), indent=1) + "\n", encoding="utf-8")
    return path
