"""Transfer (many -> one), BENCHMARK.md v1: for each evaluation project, on its last window,

(a) ``global``: the tsfuse model trained on the other projects (before O), applied as is;
(b) ``fine-tuned``: that model fine-tuned on the project's own months before O (held-out last
    months pick the epoch; if fine-tuning does not beat the global model there, it is kept as is);
(c) ``alone``: the same architecture (preset, budgets) trained on the project's months before O only;

each given the project's whole history before O (``full``), only its last 12 months (``short``,
BENCHMARK.md's short-history slice) or only its last 6 months (``cold``: the cold start, README +
6 months). A slice too short to train on reports n/a for (c); (b) then keeps the global model.
Scores always use the benchmark window (targets, labels and MASE scale of the whole history), so
the slices differ only in what the methods were given. Cross-project mode only: in-corpus, the
global model has seen the project.
"""

from __future__ import annotations

import logging
import time

import sys

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from benchmarks.methods import Context, _tsfuse_output
from benchmarks.report import score_windows
from tsfuse.eval.baselines import before
from tsfuse.data.schema import DS, ID
from tsfuse.data.windows import WindowSet
from tsfuse.text.versions import texts_for
from tsfuse.eval.metrics import summarize

log = logging.getLogger("benchmarks")
VARIANTS = ("global", "fine-tuned", "alone")
DESCRIPTION = ("Each evaluation project's last window: (a) the tsfuse model trained on the other projects, as is; "
               "(b) fine-tuned on the project's own months before the origin (its last months held out pick the "
               "epoch; where fine-tuning does not beat (a) there, (a) is kept: 'kept'); (c) the same architecture "
               "trained on the project alone. 'full': the project's whole history before the origin is given; "
               "'last 12': only its last 12 months; 'cold (6)': only its last 6 months (the cold start: README + "
               "6 months). n/a: too few months to train on. Scores use the benchmark window (MASE scale of the "
               "whole history).")
SLICES = {"full": None, "short": 12, "cold": 6}  # months of history given (None: all)
SLICE_LABELS = {"full": "full", "short": "last 12", "cold": "cold (6)"}


def run_transfer(ctx: Context, windows_by_origin: dict[pd.Timestamp, WindowSet]) -> tuple[pd.DataFrame, dict]:
    """Per-window rows (``variant``, ``slice``) for every evaluation project's last window."""
    from tsfuse.estimator import Forecaster

    last: dict[str, pd.Timestamp] = {}
    for origin in sorted(windows_by_origin):
        for uid in windows_by_origin[origin].unique_id:
            last[str(uid)] = origin
    rows, missing, seconds = [], {}, {v: 0.0 for v in VARIANTS}
    b = ctx.budgets
    for uid, origin in tqdm(sorted(last.items()), desc="transfer", unit="project", file=sys.stderr):
        model, _ = ctx.models[("tsfuse", f"{origin:%Y-%m}")]
        w_all = windows_by_origin[origin]
        window = w_all.subset(np.flatnonzero(w_all.unique_id == uid))
        project = ctx.eval_panel[ctx.eval_panel[ID] == uid]
        texts = texts_for(ctx.eval_texts, uid)
        for slice_name, months in SLICES.items():
            given = project if months is None else project[project[DS] >= origin - pd.DateOffset(months=months)]
            history = before(given, origin)
            for variant in VARIANTS:
                t0 = time.perf_counter()
                if variant == "global":
                    fitted = model
                elif variant == "fine-tuned":
                    ctx.record_fit(f"transfer-fine-tuned:{uid}", origin, history)
                    fitted = model.finetune(history, texts, **b.finetune)
                else:
                    ctx.record_fit(f"transfer-alone:{uid}", origin, history)
                    try:
                        fitted = Forecaster.pretrain(history, texts, ctx.task, preset=b.preset, before=origin,
                                                     model=dict(b.tsfuse_model), train=dict(b.tsfuse_train),
                                                     text_encoder=ctx.text_encoder if model.model_config.text_model else None)
                    except ValueError as error:  # too little history to train on the project alone
                        missing.setdefault(f"{variant}/{slice_name}", []).append(uid)
                        log.info("transfer: %s %s %s: %s", uid, variant, slice_name, error)
                        continue
                r = score_backtest(f"transfer-{variant}", fitted, given, origin, window, texts, ctx.eval_panel,
                                   ctx.task, min_history=min(months or 12, 12))
                seconds[variant] += time.perf_counter() - t0
                r["variant"], r["slice"] = variant, slice_name
                if variant == "fine-tuned":
                    ft = fitted.info.get("finetune", {})
                    r["finetune_skipped"] = bool(ft.get("skipped"))
                    r["kept_pretrained"] = bool(ft.get("skipped") or ft.get("kept_pretrained"))
                rows.append(r)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return table, {"projects": len(last), "not_trainable": missing, "seconds": seconds}


def score_backtest(name: str, model, given: pd.DataFrame, origin: pd.Timestamp, window: WindowSet,
                   texts: dict[str, str], eval_panel: pd.DataFrame, task, *, min_history: int | None = None
                   ) -> pd.DataFrame:
    """``model``'s forecast at ``origin`` from the rows ``given`` of the projects of the benchmark ``window``,
    scored on it (a project without a benchmark window, e.g. too young for it, is not forecast even when a
    smaller ``min_history`` would give it one)."""
    given = given[given[ID].isin(set(map(str, window.unique_id)))]
    got, out = model.backtest(given, [origin], texts, min_history=min_history)
    o = _tsfuse_output(model, window, got, out, 0, 0)
    return score_windows(name, eval_panel, window, o.forecast, task, o.trend_pred, o.level_pred, o.quantiles)


def transfer_summary(table: pd.DataFrame, n_projects: int) -> dict:
    """variant -> slice -> MASE mean / median, trend / level macro-F1, windows (n/a where none)."""
    out = {}
    for variant in VARIANTS:
        for slice_name in SLICES:
            w = table[(table["variant"] == variant) & (table["slice"] == slice_name)] if len(table) else table
            s = summarize(w) if len(w) else {}
            entry = {k: s.get(k) for k in ("mase_mean", "mase_median", "trend_f1", "level_f1", "windows")}
            entry["of_projects"] = n_projects
            if variant == "fine-tuned" and len(w):
                entry["kept_pretrained"] = int(w["kept_pretrained"].sum())
            out.setdefault(variant, {})[slice_name] = entry
    return out


def transfer_markdown(summary: dict) -> str:
    cols = ["MASE mean", "MASE median", "level F1", "windows"]
    head = " | ".join(f"{c} ({SLICE_LABELS[s]})" for s in SLICES for c in cols)
    lines = [f"| variant | {head} |", "|---|" + "---:|" * (len(cols) * len(SLICES))]
    labels = {"global": "(a) global model, as is", "fine-tuned": "(b) fine-tuned on the project",
              "alone": "(c) trained on the project alone"}
    for variant, slices in summary.items():
        cells = []
        for s in SLICES:
            e = slices[s]
            if not e.get("windows"):
                cells += ["n/a", "n/a", "n/a", f"0 of {e['of_projects']}"]
                continue
            cells += [f"{e['mase_mean']:.3f}", f"{e['mase_median']:.3f}", f"{e['level_f1']:.3f}",
                      f"{e['windows']} of {e['of_projects']}"
                      + (f" ({e['kept_pretrained']} kept)" if e.get("kept_pretrained") else "")]
        lines.append(f"| {labels[variant]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
