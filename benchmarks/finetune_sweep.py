"""Exploration behind the fine-tuning defaults (learning rate, validation guard, short-history rule).

    python benchmarks/finetune_sweep.py run --corpus opendigger --origin 2022-10
    python benchmarks/finetune_sweep.py run --corpus oss-activity --origin 2024-04
    python benchmarks/finetune_sweep.py summarize   # -> benchmarks/results/finetune-sweep.md

For every evaluation project of the cross-project split with a scored window at ``origin``: the
global tsfuse model (trained on the split's training projects before ``origin``) as is, and
fine-tuned on the project's months before ``origin`` (whole history, or its last 12 months) at
three learning rates with the guard off, recording each fine-tune's validation loss and the
pretrained model's, so guarded variants (keep the global model unless validation improves) are
derived afterwards. Results: benchmarks/results/finetune-sweep-<corpus>.csv.

The sweep ran on the code before the short-history rule (fine-tuning then also ran on 12-month
histories; today those are skipped, so re-running gives the global model there). Its projects are
the transfer table's evaluation projects, so choosing defaults from it is optimistic for (b): the
note in benchmarks/results/finetune-sweep.md says what was chosen and why.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.common import REPO, load_named_corpus, load_split, quiet_logs  # noqa: E402
from benchmarks.transfer import score_backtest  # noqa: E402
from tsfuse.eval.baselines import before  # noqa: E402
from tsfuse.data.schema import DS, ID  # noqa: E402
from tsfuse.text.versions import texts_for  # noqa: E402
from tsfuse.data.windows import make_windows  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
RATES = {"ft": None, "lr1e4": 1e-4, "lr3e5": 3e-5}  # None: TrainConfig.finetune_lr at the time (5e-4)


def run(corpus_name: str, origin: pd.Timestamp) -> pd.DataFrame:
    from tsfuse.estimator import Forecaster
    from tsfuse.text import TextEncoder

    quiet_logs()
    corpus = load_named_corpus(corpus_name)
    split, _ = load_split(corpus)
    train, test = corpus.restrict(split["train"]), corpus.restrict(split["eval"])
    train_cfg = {"seed": 0, "progress_bar": False, "logger": "none"}
    glob = Forecaster.pretrain(before(train.panel, origin), train.texts, corpus.task, before=origin, train=train_cfg,
                               text_encoder=TextEncoder("all-MiniLM-L6-v2"))
    windows = make_windows(test.panel, corpus.task, [origin])

    def mase(model, given, window, uid) -> float:
        rows = score_backtest("sweep", model, given, origin, window, texts_for(test.texts, uid), test.panel,
                              corpus.task)
        return float(rows["mase"].iloc[0])

    rows = []
    for uid in sorted(set(windows.unique_id)):
        window = windows.subset(np.flatnonzero(windows.unique_id == uid))
        project = test.panel[test.panel[ID] == uid]
        texts = texts_for(test.texts, uid)
        for slice_name, months in (("full", None), ("short", 12)):
            given = project if months is None else project[project[DS] >= origin - pd.DateOffset(months=months)]
            history = before(given, origin)
            row = {"uid": uid, "slice": slice_name, "global": mase(glob, given, window, uid)}
            for name, lr in RATES.items():
                tuned = glob.finetune(history, texts, guard=False, lr=lr)
                info = tuned.info["finetune"]
                if info.get("skipped"):
                    break
                row[name] = mase(tuned, given, window, uid)
                row[f"{name}_pre"], row[f"{name}_best"] = info["pretrained_val_loss"], info["best_val_loss"]
            rows.append(row)
            print(row, flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(RESULTS / f"finetune-sweep-{corpus_name}.csv", index=False, float_format="%.6g")
    return table


def summary_rows(table: pd.DataFrame) -> list[dict]:
    """Mean MASE per slice: global, each rate unguarded and guarded (global kept unless validation improves)."""
    out = []
    for slice_name, d in table.groupby("slice", sort=False):
        row = {"slice": slice_name, "projects": len(d), "global": d["global"].mean()}
        for name in RATES:
            row[name] = d[name].fillna(d["global"]).mean()
            improved = d[f"{name}_best"] < d[f"{name}_pre"]
            row[f"{name} guarded"] = np.where(improved, d[name], d["global"]).mean()
        out.append(row)
    return out


def summarize() -> Path:
    lines = ["# Fine-tuning sweep (exploration behind the defaults)", "",
             "Command: `python benchmarks/finetune_sweep.py run --corpus opendigger --origin 2022-10`, "
             "`... --corpus oss-activity --origin 2024-04`, then `python benchmarks/finetune_sweep.py summarize`. "
             "Mean MASE over the cross-project evaluation projects with a window at that origin; `ft` = the old "
             "default learning rate 5e-4; `guarded` = keep the global model unless the fine-tune's best "
             "validation loss beats the global model's on the project's held-out last months.", ""]
    for corpus in ("oss-activity", "opendigger"):
        path = RESULTS / f"finetune-sweep-{corpus}.csv"
        if not path.is_file():
            continue
        rows = summary_rows(pd.read_csv(path))
        cols = list(rows[0])
        lines += [f"## {corpus}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |"
                  for r in rows]
        lines.append("")
    lines += ["## What was chosen", "",
              "- `finetune_lr` 5e-4 -> 1e-4: 5e-4 made opendigger worse than the global model on both slices "
              "(and the guard did not rescue it); 1e-4 guarded beat the global model on the full histories of both "
              "corpora.",
              "- The guard stays on (early stopping picks the epoch; the global model is kept when no epoch beats it).",
              "- Histories without a validation window whose whole horizon is observed (under 24 months for H = 6, "
              "e.g. the 12-month slice) are not fine-tuned: there, guarded fine-tuning helped oss-activity a little "
              "and hurt opendigger; with three partial validation windows the guard cannot tell.",
              "- Caveat: these are the transfer table's evaluation projects, at one origin, so the choice is "
              "optimistic for (b) in that table.", ""]
    out = RESULTS / "finetune-sweep.md"
    out.write_text("\n".join(lines))
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--corpus", required=True)
    r.add_argument("--origin", required=True)
    sub.add_parser("summarize")
    args = p.parse_args(argv)
    if args.cmd == "run":
        run(args.corpus, pd.Timestamp(args.origin))
    else:
        print(f"wrote {summarize()}")


if __name__ == "__main__":
    main()
