"""Hyperparameter search for tsfuse with Optuna, on the training projects' own windows only.

    python benchmarks/search.py run --corpus oss-activity --trials 20 [--timeout-min 120] [--origins 2023-04,2023-10]
    python benchmarks/search.py summarize --corpus oss-activity      # -> benchmarks/results/search-<corpus>.md
    python benchmarks/search.py run --quick --trials 2 --journal /tmp/s.journal   # smoke run: 12 projects a side

The evaluation projects of ``benchmarks/splits/<corpus>.json`` are never loaded: the cross-project
split's **training** projects are split again by the same sha256 rule (every 5th in sha256 order) into
search-fit and search-validation projects. A trial pretrains tsfuse (without the refit, to halve its
cost) on the search-fit projects' months before each origin and scores the search-validation projects' windows at that origin (the
BENCHMARK.md windows and MASE); its value is the mean MASE over those windows, all origins pooled.

After each origin the trial reports its running mean MASE, and Optuna's median pruner stops a trial
whose running mean is worse than the median of earlier trials at the same origin. The candidate
recipe of the exploration is queued once as a reference trial (`REFERENCE`). Trials are kept in
an Optuna journal file (``benchmarks/search/<corpus>.journal``, committed): a stopped search
continues where it stopped, and ``summarize`` rebuilds the table from it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as in run.py: LightGBM-free, but torch shares the CPU

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

if __package__ in (None, ""):  # `python benchmarks/search.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks import report  # noqa: E402
from benchmarks.common import (  # noqa: E402
    REPO, RESULTS_DIR, BenchmarkError, check_disjoint, command_line, git_state, load_named_corpus, load_split, make_split, month,
    quiet_logs, seed_everything, task_origins,
)
from benchmarks.methods import Budgets, Context, run_tsfuse  # noqa: E402
from benchmarks.run import QUICK_PROJECTS, limit_projects, text_encoder_for  # noqa: E402
from tsfuse.data.schema import ID  # noqa: E402
from tsfuse.data.windows import make_windows  # noqa: E402
from tsfuse.eval.metrics import summarize as summarize_rows  # noqa: E402

SEARCH_DIR = REPO / "benchmarks" / "search"
# fixed in every trial: the recipe the exploration kept (benchmarks/exploration/issue14/README.md)
FIXED_MODEL = {"class_loss_shapes_values": False, "text_gate": True}
# no refit on the validation windows after early stopping: it doubles a fit's cost and is not searched
FIXED_TRAIN = {"refit": False}
# the exploration's candidate recipe in the search space's terms: queued once as a reference trial, so
# the table shows where the searched settings stand against it on the same search-validation windows
REFERENCE = {"hidden_size": 64, "num_layers": 2, "fusion_size": 64, "dropout": 0.1, "context_length": 24,
             "centre": "mean12", "history_features": False, "lr": 2e-3, "weight_decay": 1e-4, "batch_size": 256,
             "value_loss_mase_weight": 0.5, "text_dropout": 0.5, "ema_epochs": 0.0, "trend_weight": 0.3,
             "level_weight": 0.3}


def suggest(trial) -> tuple[dict[str, Any], dict[str, Any]]:
    """One trial's ModelConfig and TrainConfig overrides: the search space."""
    model = {
        **FIXED_MODEL,
        "hidden_size": trial.suggest_categorical("hidden_size", [32, 64, 128]),
        "num_layers": trial.suggest_int("num_layers", 1, 2),
        "fusion_size": trial.suggest_categorical("fusion_size", [32, 64, 128]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.3),
        "context_length": trial.suggest_categorical("context_length", [24, 36]),
        "centre": trial.suggest_categorical("centre", ["mean12", "last"]),
        "history_features": trial.suggest_categorical("history_features", [False, True]),
    }
    train = {
        "lr": trial.suggest_float("lr", 3e-4, 5e-3, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512]),
        "value_loss_mase_weight": trial.suggest_float("value_loss_mase_weight", 0.0, 1.0),
        "text_dropout": trial.suggest_float("text_dropout", 0.0, 0.8),
        "ema_epochs": trial.suggest_categorical("ema_epochs", [0.0, 1.0, 3.0]),
        "loss_weights": [1.0, trial.suggest_float("trend_weight", 0.1, 1.0), trial.suggest_float("level_weight", 0.1, 1.0)],
    }
    return model, train


def search_projects(corpus) -> tuple[list[str], list[str], dict]:
    """(search-fit ids, search-validation ids, description): the cross-project training side, split again."""
    split, path = load_split(corpus)
    inner = make_split(split["train"])
    check_disjoint(inner["train"] + inner["eval"], split["eval"], "search and evaluation")
    return inner["train"], inner["eval"], {
        "outer_split": str(path.relative_to(REPO)), "rule": "the outer split's training projects, " + inner["rule"],
        "fit_projects": len(inner["train"]), "validation_projects": len(inner["eval"]),
        "evaluation_projects_excluded": len(split["eval"])}


def objective_for(args, corpus, fit_ids: list[str], val_ids: list[str]):
    """The Optuna objective: mean MASE of the search-validation windows (pruned per origin)."""
    import optuna

    task = corpus.task
    origins = task_origins(task, args.origins.split(",") if args.origins else None, args.quick)
    fit, val = corpus.restrict(fit_ids), corpus.restrict(val_ids)
    if args.quick:  # as run.py --quick: the first projects a side with a scored window at the first origin
        fit, val = limit_projects(fit, val, "cross-project", origins[0], QUICK_PROJECTS)
    fit_side = set(fit.panel[ID].unique())
    # the same scored windows in every trial
    windows_by_origin = {o: w for o in origins if len(w := make_windows(val.panel, task, [o]))}

    def objective(trial) -> float:
        model, train = suggest(trial)
        budgets = Budgets.make(seed=args.seed, quick=args.quick, preset="balanced", tsfuse_model=model,
                               tsfuse_train={**FIXED_TRAIN, **train, **({"max_epochs": 1} if args.quick else {})})
        ctx = Context(task=task, train_panel=fit.panel, eval_panel=val.panel, train_texts=fit.texts,
                      eval_texts=val.texts, budgets=budgets, text_encoder=args.encoder)
        scored, fit_s = [], 0.0
        for step, (origin, windows) in enumerate(windows_by_origin.items()):
            seed_everything(args.seed)
            out = run_tsfuse("tsfuse", ctx, origin, windows)
            seen = {u for a in ctx.audit for u in a["unique_ids"]}
            if seen - fit_side:
                raise BenchmarkError(f"a search fit saw projects outside the search-fit side: {sorted(seen - fit_side)[:3]}")
            fit_s += out.fit_s
            scored.append(report.score_windows("tsfuse", val.panel, windows, out.forecast, task, out.trend_pred,
                                               out.level_pred, out.quantiles))
            running = float(pd.concat(scored)["mase"].mean())
            trial.report(running, step)
            print(f"trial {trial.number} {month(origin)}: MASE so far {running:.4f} ({out.fit_s:.0f} s)", file=sys.stderr)
            if trial.should_prune():
                trial.set_user_attr("fit_s", fit_s)
                raise optuna.TrialPruned()
        rows = pd.concat(scored)
        summary = summarize_rows(rows)
        for key in ("mase_median", "trend_f1", "level_f1", "sql_mean", "coverage"):
            if key in summary:
                trial.set_user_attr(key, float(summary[key]))
        trial.set_user_attr("fit_s", fit_s)
        trial.set_user_attr("windows", int(len(rows)))
        trial.set_user_attr("fit_projects", len(seen))
        return float(rows["mase"].mean())

    return objective


def storage_for(corpus_name: str, journal: str | None = None):
    """The study's journal storage: ``journal`` or ``benchmarks/search/<corpus>.journal``."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    path = Path(journal) if journal else SEARCH_DIR / f"{corpus_name}.journal"
    path.parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(path))), path


def run(args, argv: list[str]) -> int:
    import optuna

    quiet_logs()
    corpus = load_named_corpus(args.corpus)
    fit_ids, val_ids, desc = search_projects(corpus)
    storage, path = storage_for(corpus.name, args.journal)
    study = optuna.create_study(study_name=corpus.name, storage=storage, direction="minimize", load_if_exists=True,
                                sampler=optuna.samplers.TPESampler(seed=args.seed, n_startup_trials=args.startup),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=args.startup, n_warmup_steps=0))
    study.set_user_attr("command", command_line("benchmarks/search.py", argv))
    study.set_user_attr("projects", desc)
    args.encoder = text_encoder_for(Budgets.make(seed=args.seed, quick=False, tsfuse_model=FIXED_MODEL))
    if not any(t.params == REFERENCE for t in study.trials):
        study.enqueue_trial(REFERENCE, user_attrs={"reference": True})
    done = [t for t in study.trials if t.state.is_finished()]
    todo = max(0, args.trials - len(done))
    print(f"{corpus.name}: {len(done)} trial(s) in {path}, running {todo} more "
          f"({desc['fit_projects']} fit / {desc['validation_projects']} validation projects)", file=sys.stderr)
    study.optimize(objective_for(args, corpus, fit_ids, val_ids), n_trials=todo,
                   timeout=None if args.timeout_min is None else args.timeout_min * 60,
                   callbacks=[lambda s, t: print(f"trial {t.number}: {t.state.name} {t.value}", file=sys.stderr)])
    return 0


def trials_table(study) -> pd.DataFrame:
    """One row per finished trial: state, value, the user attributes and the parameters."""
    rows = []
    for t in study.trials:
        if not t.state.is_finished():
            continue
        rows.append({"trial": t.number, "state": t.state.name, "mase_mean": t.value, **t.user_attrs, **t.params})
    return pd.DataFrame(rows)


def summarize(args, argv: list[str]) -> int:
    import optuna

    storage, path = storage_for(args.corpus, args.journal)
    study = optuna.load_study(study_name=args.corpus, storage=storage)
    table = trials_table(study)
    if table.empty:
        raise BenchmarkError(f"{path} has no finished trial yet")
    complete = table[table.state == "COMPLETE"].sort_values("mase_mean")
    out = Path(args.out) / f"search-{args.corpus}.md"
    git = git_state()
    lines = [f"# Optuna search of tsfuse on {args.corpus}'s training projects", "",
             f"- search command: `{study.user_attrs.get('command', '?')}`",
             f"- this page: `{command_line('benchmarks/search.py', argv)}` at commit {git.get('commit', '?')}"
             f"{' (uncommitted changes)' if git.get('dirty') else ''}",
             f"- projects: {json.dumps(study.user_attrs.get('projects', {}))}",
             f"- trials: {len(table)} finished ({len(complete)} complete, {int((table.state == 'PRUNED').sum())} pruned); "
             f"journal `{path.relative_to(REPO) if path.is_relative_to(REPO) else path}`",
             f"- fixed in every trial: model `{json.dumps(FIXED_MODEL)}`, training `{json.dumps(FIXED_TRAIN)}`; "
             "sampler TPE, pruner median (per origin)", ""]
    if len(complete):
        best = complete.iloc[0]
        lines += [f"Best trial {int(best.trial)}: search-validation mean MASE {best.mase_mean:.4f}; parameters "
                  f"`{json.dumps({k: _plain(best[k]) for k in study.best_trial.params})}`", ""]
    cols = [c for c in ["trial", "state", "reference", "mase_mean", "mase_median", "trend_f1", "level_f1", "sql_mean", "coverage",
                        "fit_s"] if c in table]
    params = sorted(study.best_trial.params) if len(complete) else []
    shown = pd.concat([complete, table[table.state != "COMPLETE"]])[cols + params]
    lines.append(plain_table(shown))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(out)
    return 0


def plain_table(table: pd.DataFrame) -> str:
    """A Markdown table of ``table`` as it is (floats to 4 significant digits, missing values as –)."""
    def cell(v) -> str:
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            return "–"
        return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run (or continue) the study")
    r.add_argument("--corpus", default="oss-activity")
    r.add_argument("--trials", type=int, default=20, help="total trials of the study (finished ones count)")
    r.add_argument("--timeout-min", type=float, default=None, help="stop starting trials after this many minutes")
    r.add_argument("--origins", default=None, help="comma-separated YYYY-MM subset of the task's origins")
    r.add_argument("--startup", type=int, default=5, help="random trials before TPE and pruning start")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--quick", action="store_true", help="smoke run: 12 projects a side, the first origin, 1 epoch")
    r.add_argument("--journal", default=None, help="journal file (default benchmarks/search/<corpus>.journal)")
    s = sub.add_parser("summarize", help="write benchmarks/results/search-<corpus>.md from the journal")
    s.add_argument("--corpus", default="oss-activity")
    s.add_argument("--journal", default=None, help="journal file (default benchmarks/search/<corpus>.journal)")
    s.add_argument("--out", default=str(RESULTS_DIR), help="folder of the page")
    args = p.parse_args(argv)
    return run(args, argv) if args.command == "run" else summarize(args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
