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

To choose fine-tuning settings without looking at evaluation projects, ``--projects validation``
sweeps the split's *training* projects instead: the 20% of them first in
:func:`tsfuse.train.inputs.held_out_projects` order are fine-tuned and scored, the model is pretrained
on the other 80% (evaluation projects are never read). ``--tsfuse-model`` / ``--tsfuse-train`` give
the pretraining recipe, ``--variants`` the fine-tuning settings (JSON: name -> ``lr``, ``max_epochs``,
``freeze_epochs``), ``--name`` the CSV's name (``finetune-sweep-<name>.csv``, in ``--out``):

    python benchmarks/finetune_sweep.py run --corpus oss-activity --origin 2024-04 --projects validation \
      --tsfuse-model '{"class_loss_shapes_values": false, "text_gate": true}' \
      --tsfuse-train '{"value_loss_mase_weight": 0.5, "text_dropout": 0.5, "ema_epochs": 1.0, "calibrate": true}' \
      --variants '{"lr1e4": {}, "lr1e3": {"lr": 1e-3}}' --name oss-validation --out /tmp/sweep
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.common import RESULTS_DIR, load_named_corpus, load_split, quiet_logs  # noqa: E402
from benchmarks.transfer import score_backtest  # noqa: E402
from tsfuse.eval.baselines import before  # noqa: E402
from tsfuse.data.schema import DS, ID  # noqa: E402
from tsfuse.text.versions import texts_for  # noqa: E402
from tsfuse.data.windows import make_windows  # noqa: E402
from tsfuse.train.inputs import held_out_projects  # noqa: E402

# The published sweep's settings; "ft" ran at TrainConfig.finetune_lr of the time (5e-4).
RATES = {"ft": {"lr": 5e-4}, "lr1e4": {"lr": 1e-4}, "lr3e5": {"lr": 3e-5}}
VALIDATION_SHARE = 0.2


def sweep_projects(split: dict, projects: str) -> tuple[list[str], list[str]]:
    """(pretraining projects, swept projects): the split's training / evaluation projects, or with
    ``projects="validation"`` the training projects alone, the held-out 20% swept."""
    if projects == "eval":
        return list(split["train"]), list(split["eval"])
    swept = set(held_out_projects(split["train"], VALIDATION_SHARE))
    return [u for u in split["train"] if u not in swept], sorted(swept)


def run(corpus_name: str, origin: pd.Timestamp, *, projects: str = "eval", model: dict | None = None,
        train_overrides: dict | None = None, variants: dict[str, dict] | None = None,
        out: Path = RESULTS_DIR, name: str | None = None) -> pd.DataFrame:
    """Pretrain once, then fine-tune every swept project with a scored window at ``origin`` with each
    variant (guard off; the guarded result is derived from the recorded validation losses)."""
    from tsfuse.estimator import Forecaster
    from tsfuse.text import TextEncoder

    quiet_logs()
    variants = RATES if variants is None else variants
    # Forecaster.finetune's keyword settings; the sweep sets the guard itself
    allowed = {n for n, a in inspect.signature(Forecaster.finetune).parameters.items()
               if a.kind is a.KEYWORD_ONLY} - {"guard"}
    for variant, settings in variants.items():
        unknown = set(settings) - allowed
        if unknown:
            raise SystemExit(f"--variants {variant!r}: unknown setting(s) {sorted(unknown)}; "
                             f"allowed: {sorted(allowed)}")
    corpus = load_named_corpus(corpus_name)
    split, _ = load_split(corpus)
    fit_ids, swept_ids = sweep_projects(split, projects)
    train, test = corpus.restrict(fit_ids), corpus.restrict(swept_ids)
    train_cfg = {"seed": 0, "progress_bar": False, "logger": "none", **(train_overrides or {})}
    glob = Forecaster.pretrain(before(train.panel, origin), train.texts, corpus.task, before=origin, model=model,
                               train=train_cfg, text_encoder=TextEncoder("all-MiniLM-L6-v2"))
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
            for variant, settings in variants.items():
                tuned = glob.finetune(history, texts, guard=False, **settings)
                info = tuned.info["finetune"]
                if info.get("skipped"):
                    break
                row[variant] = mase(tuned, given, window, uid)
                row[f"{variant}_pre"], row[f"{variant}_best"] = info["pretrained_val_loss"], info["best_val_loss"]
            rows.append(row)
            print(row, flush=True)
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / f"finetune-sweep-{name or corpus_name}.csv", index=False, float_format="%.6g")
    return table


def variant_names(table: pd.DataFrame) -> list[str]:
    """The fine-tuning variants of a sweep table (the columns with a recorded pretrained validation loss)."""
    return [c[:-len("_pre")] for c in table.columns if c.endswith("_pre")]


def summary_rows(table: pd.DataFrame) -> list[dict]:
    """Mean MASE per slice: global, each variant unguarded and guarded (global kept unless validation improves)."""
    out = []
    for slice_name, d in table.groupby("slice", sort=False):
        row = {"slice": slice_name, "projects": len(d), "global": d["global"].mean()}
        for name in variant_names(table):
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
        path = RESULTS_DIR / f"finetune-sweep-{corpus}.csv"
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
    out = RESULTS_DIR / "finetune-sweep.md"
    out.write_text("\n".join(lines))
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--corpus", required=True)
    r.add_argument("--origin", required=True)
    r.add_argument("--projects", choices=("eval", "validation"), default="eval",
                   help="sweep the split's evaluation projects (the published sweep) or 20%% of its training "
                        "projects, pretraining on the rest (default: eval)")
    r.add_argument("--tsfuse-model", type=json.loads, default=None, metavar="JSON", help="ModelConfig overrides")
    r.add_argument("--tsfuse-train", type=json.loads, default=None, metavar="JSON", help="training overrides")
    r.add_argument("--variants", type=json.loads, default=None, metavar="JSON",
                   help="fine-tuning variants: name -> {lr, max_epochs, freeze_epochs} (default: the published "
                        "sweep's three learning rates)")
    r.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder of the CSV (default benchmarks/results)")
    r.add_argument("--name", default=None, help="CSV name finetune-sweep-<name>.csv (default: the corpus)")
    sub.add_parser("summarize")
    args = p.parse_args(argv)
    if args.cmd == "run":
        table = run(args.corpus, pd.Timestamp(args.origin), projects=args.projects, model=args.tsfuse_model,
                    train_overrides=args.tsfuse_train, variants=args.variants, out=args.out, name=args.name)
        for row in summary_rows(table):
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
    else:
        print(f"wrote {summarize()}")


if __name__ == "__main__":
    main()
