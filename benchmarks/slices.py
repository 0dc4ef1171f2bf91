"""History slices (BENCHMARK.md v2) for the text question: does the README help when history is short?

The same scored windows as the main table; at each origin the trained tsfuse models are given only
each evaluation project's last k months before the origin (k = 3 and 6: the cold start, README +
k months; k = 12; or the full history), with the README as of the origin or with none:

- ``tsfuse``: the model with its README;
- ``tsfuse-text-empty``: the same model, README replaced by "";
- ``tsfuse-no-text-tower``: the model trained without a text tower (when the text ablation ran).

Scores always use the benchmark window (targets, labels and the MASE scale of the whole history),
so the slices differ only in what the models were given. Nothing is trained here.
"""

from __future__ import annotations

import pandas as pd

from benchmarks.methods import Context
from benchmarks.report import compare
from benchmarks.transfer import score_backtest
from tsfuse.data.schema import DS
from tsfuse.data.windows import WindowSet
from tsfuse.eval.metrics import summarize

SLICES = {"cold-3": 3, "cold-6": 6, "last-12": 12, "full": None}  # months of history given (None: all)
VARIANTS = ("tsfuse", "tsfuse-text-empty", "tsfuse-no-text-tower")


def run_slices(ctx: Context, windows_by_origin: dict[pd.Timestamp, WindowSet]) -> pd.DataFrame:
    """Per-window rows (``method``, ``slice``) of every variant whose model this run trained."""
    rows = []
    for origin, windows in windows_by_origin.items():
        models = {v: ctx.models.get((m, f"{origin:%Y-%m}"))
                  for v, m in (("tsfuse", "tsfuse"), ("tsfuse-text-empty", "tsfuse"),
                               ("tsfuse-no-text-tower", "tsfuse-no-text-tower"))}
        for slice_name, months in SLICES.items():
            # the panel from k months before the origin on: the forecast reads only the months before the
            # origin; the months after it are what backtest pairs the forecast with (scores use the benchmark window)
            given = ctx.eval_panel if months is None else \
                ctx.eval_panel[ctx.eval_panel[DS] >= origin - pd.DateOffset(months=months)]
            for variant, entry in models.items():
                if entry is None:
                    continue
                texts = dict.fromkeys(map(str, windows.unique_id), "") if variant == "tsfuse-text-empty" \
                    else ctx.eval_texts
                r = score_backtest(variant, entry[0], given, origin, windows, texts, ctx.eval_panel, ctx.task,
                                   min_history=min(months or 12, 12))
                rows.append(r.assign(slice=slice_name))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def slice_summary(table: pd.DataFrame, seed: int = 0) -> dict:
    """slice -> variant -> MASE mean / median, trend / level F1, windows; and per slice the paired
    differences (variant - tsfuse, 95% CI) of the two README-less variants."""
    out = {}
    for slice_name in SLICES:
        part = table[table["slice"] == slice_name] if len(table) else table
        entry = {}
        for variant in VARIANTS:
            w = part[part["method"] == variant] if len(part) else part
            if len(w):
                s = summarize(w)
                entry[variant] = {k: s.get(k) for k in ("mase_mean", "mase_median", "trend_f1", "level_f1", "windows")}
        entry["differences"] = {v: compare(part, v, "tsfuse", seed) for v in VARIANTS[1:] if v in entry}
        out[slice_name] = entry
    return out


def slice_markdown(summary: dict) -> list[str]:
    """The slice table: per slice and variant the scores, and the README-less variants' paired
    difference to tsfuse on MASE (negative: the README hurts there)."""
    lines = ["| history given | variant | windows | MASE mean | trend F1 | level F1 | MASE − tsfuse [95% CI] |",
             "|---|---|---:|---:|---:|---:|---|"]
    for slice_name, entry in summary.items():
        for variant in VARIANTS:
            if variant not in entry:
                continue
            r, d = entry[variant], entry["differences"].get(variant, {})
            ci = f"{d['mase'][0]:+.3f} [{d['mase'][1]:+.3f}, {d['mase'][2]:+.3f}]" if d else "–"
            lines.append(f"| {slice_name} | {variant} | {r['windows']} | {r['mase_mean']:.3f} | {r['trend_f1']:.3f} | "
                         f"{r['level_f1']:.3f} | {ci} |")
    return lines

