"""Exploration: which point of the value forecast should the value-implied classes read, and how
much should they weigh against the heads? Offline, from one training per origin.

    python benchmarks/exploration/issue14/class_rules.py dump DIR --corpus C --tsfuse-model JSON --tsfuse-train JSON
    python benchmarks/exploration/issue14/class_rules.py score DIR --corpus C

``dump`` pretrains tsfuse per benchmark origin exactly as ``benchmarks/run.py --mode cross-project``
does (same split, seed and recipe) but with the class rule of the calibration held at the identity
(the band is calibrated as usual), and saves, for the first fit's validation windows and for the
evaluation windows, the calibrated quantiles, the heads' probabilities, the labels and contexts
(``DIR/<origin>.npz``; nothing is written to the repository). ``score`` compares, pooled over the
origins, the heads alone, the calibration's choice on the validation windows and the value-implied
class alone, with the implied class read from the median or from the mean of the forecast.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

import tsfuse.train.calibration as calibration  # noqa: E402
from benchmarks.report import bootstrap_f1_diff  # noqa: E402
from tsfuse.data.labels import labels_from_forecast  # noqa: E402
from tsfuse.data.tasks import TASKS  # noqa: E402
from tsfuse.data.windows import make_windows  # noqa: E402

POINTS = {"median": lambda q: calibration.median(q),
          "mean": lambda q: calibration.expected_value(q, (0.1, 0.5, 0.9))}


def dump(args) -> None:
    from benchmarks import run as R
    from benchmarks.common import seed_everything
    from benchmarks.methods import Budgets, Context, _align, pretrain

    best = calibration._best_rule

    def identity_rule(logits, weights, implied, labels, k):
        """The identity class rule (its validation F1 as before and after), whatever the grid would choose."""
        before = best(logits, weights, implied, labels, k)[1]
        return calibration.ClassRule(), before, before

    calibration._best_rule = identity_rule
    parsed = R.parse_args(["--corpus", args.corpus, "--mode", "cross-project", "--methods", "tsfuse"])
    R.quiet_logs()
    train, test, _, _ = R.load_data(parsed)
    task = test.task
    budgets = Budgets.make(seed=0, quick=False, tsfuse_model=json.loads(args.tsfuse_model),
                           tsfuse_train=json.loads(args.tsfuse_train))
    ctx = Context(task=task, train_panel=train.panel, eval_panel=test.panel, train_texts=train.texts,
                  eval_texts=test.texts, budgets=budgets, text_encoder=R.text_encoder_for(budgets))
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    for origin in task.origin_timestamps():
        seed_everything(0)
        t0 = time.perf_counter()
        model = pretrain(ctx, origin, "tsfuse")
        fit_s = time.perf_counter() - t0
        val_windows, val = model.validation
        windows = make_windows(test.panel, task, [origin])
        got, out = model.backtest(ctx.eval_panel, [origin], ctx.eval_texts)
        idx = _align(windows, got)
        arrays = {}
        for prefix, w, o in (("val", val_windows, val), ("ev", windows, {k: v[idx] for k, v in out.items()})):
            arrays.update({f"{prefix}_q": o["quantiles"], f"{prefix}_trend": o["trend_proba"],
                           f"{prefix}_level": o["level_proba"], f"{prefix}_ctx": w.context,
                           f"{prefix}_trend_y": w.trend, f"{prefix}_level_y": w.level})
        for name in ("trend", "level"):
            arrays[f"w_{name}"] = model.module.net.class_weights(name).numpy()
        np.savez_compressed(Path(args.dir) / f"{origin:%Y-%m}.npz", **arrays)
        print(f"{origin:%Y-%m}: fit {fit_s:.0f} s, {len(val_windows)} validation and {len(windows)} evaluation windows",
              flush=True)


def score(args) -> None:
    task = TASKS[args.corpus]
    rows = {}
    for path in sorted(glob.glob(f"{args.dir}/*.npz")):
        d = np.load(path)
        for point, of in POINTS.items():
            for name, k in calibration.CLASS_TASKS.items():
                implied = {s: dict(zip(calibration.CLASS_TASKS, labels_from_forecast(d[f"{s}_ctx"], of(d[f"{s}_q"]), task)))[name]
                           for s in ("val", "ev")}
                weights = torch.from_numpy(d[f"w_{name}"])
                logits = {s: np.log(d[f"{s}_{name}"]) + np.log(d[f"w_{name}"]) for s in ("val", "ev")}  # identity rule undone
                seen = d[f"val_{name}_y"] >= 0
                chosen = calibration._best_rule(logits["val"][seen], weights, implied["val"][seen],
                                                d[f"val_{name}_y"][seen], k)[0]
                for rule_name, rule in (("heads", calibration.ClassRule()), ("calibrated choice", chosen),
                                        ("implied class only", calibration.ClassRule(1.0, 1.0))):
                    for s in ("val", "ev"):
                        pred = calibration._class_probabilities(logits[s], weights, rule, implied[s], k).argmax(1)
                        y = d[f"{s}_{name}_y"]
                        entry = rows.setdefault((name, point, rule_name, s), ([], []))
                        entry[0].append(y[y >= 0])
                        entry[1].append(pred[y >= 0])
    table = [{"task": name, "implied from": point, "rule": rule, "windows": s,
              "macro-F1": round(f1_score(np.concatenate(y), np.concatenate(p), average="macro"), 3)}
             for (name, point, rule, s), (y, p) in rows.items()]
    frame = pd.DataFrame(table).pivot_table(index=["task", "rule", "implied from"], columns="windows",
                                            values="macro-F1").reset_index()
    print("| task | rule | implied from | evaluation macro-F1 | validation macro-F1 |\n|---|---|---|---:|---:|")
    for r in frame.itertuples(index=False):
        print(f"| {r.task} | {r.rule} | {r[2]} | {r.ev:.3f} | {r.val:.3f} |")
    print("\nEvaluation windows, mean - median, paired bootstrap 95% interval:\n")
    for name in calibration.CLASS_TASKS:
        for rule in ("calibrated choice", "implied class only"):
            y, mean_pred = (np.concatenate(a) for a in rows[(name, "mean", rule, "ev")])
            diff, lo, hi = bootstrap_f1_diff(y, mean_pred, np.concatenate(rows[(name, "median", rule, "ev")][1]))
            print(f"- {name}, {rule}: {diff:+.3f} [{lo:+.3f}, {hi:+.3f}] over {len(y)} windows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("dump", "score"):
        p = sub.add_parser(name)
        p.add_argument("dir")
        p.add_argument("--corpus", default="oss-activity")
        if name == "dump":
            p.add_argument("--tsfuse-model", default="{}")
            p.add_argument("--tsfuse-train", default='{"calibrate": true}')
    args = parser.parse_args()
    dump(args) if args.command == "dump" else score(args)


if __name__ == "__main__":
    main()
