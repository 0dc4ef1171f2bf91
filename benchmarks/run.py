"""Benchmark runner of BENCHMARK.md v1: every method on the same windows, in the same run.

    python benchmarks/run.py --corpus oss-activity [--mode in-corpus|cross-project]
        [--methods naive,mean3,...,tsfuse] [--finetune] [--quick] [--seed 0] [--out benchmarks/results]
    python benchmarks/run.py --train-dir DIR --eval-dir DIR [...]

Per origin O of the task, the evaluation windows are ``make_windows(eval_panel, task, [O])`` (the
scored windows only); global methods (lightgbm, ridge, ens, tft, nhits, tsfuse) are fitted on the
training panel's rows with ds < O. ``in-corpus`` trains and scores all projects of the corpus;
``cross-project`` trains on the projects of ``benchmarks/splits/<corpus>.json``'s ``train`` list and
scores its ``eval`` list (or: trains on --train-dir, scores --eval-dir; a project in both is refused).

Writes ``<out>/<stem>.md`` / ``.json`` (``<stem>`` = ``<corpus>-<mode>``), ``<stem>-horizon.png``
(per-horizon MAE / MASE) and ``<stem>-windows.csv.gz`` (one row per method and window).
"""

from __future__ import annotations

import os

# LightGBM (2 OpenMP threads) spin-waits between parallel regions; on a shared, busy CPU that made a
# 50-tree fit take a minute instead of a second. Passive waiting must be set before OpenMP loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):  # `python benchmarks/run.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from benchmarks import report  # noqa: E402
from benchmarks.protocol import protocol_check  # noqa: E402
from benchmarks.resume import RunStore  # noqa: E402
from benchmarks.common import (  # noqa: E402
    RAW_DATA_DIR, REPO, RESULTS_DIR, BenchmarkError, check_disjoint, command_line, corpus_from_build, corpus_from_repos, eligible_projects,
    git_state, is_bulk_build, listed_projects, load_named_corpus, nested_sample,
    load_split, machine, month, quiet_logs, seed_everything, task_origins, versions,
)
from benchmarks.methods import (  # noqa: E402
    ABLATION_METHODS, ALL_METHODS, BLEND, BLEND_MEMBERS, ENS_MEMBERS, SELECTABLE_METHODS, Budgets, Context, Output,
    blend_of, ensemble_of, runner,
)
from tsfuse.data.schema import ID  # noqa: E402
from tsfuse.text.versions import has_text as has_any_text  # noqa: E402
from tsfuse.data.tasks import TREND_CLASSES  # noqa: E402
from tsfuse.data.windows import make_windows  # noqa: E402

log = logging.getLogger("benchmarks")
QUICK_PROJECTS = 12
QUICK_MIN_MONTHS = 24  # a quick run keeps projects with at least this many months before the origin


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="oss-activity", help="oss-activity | opendigger | a raw export folder")
    p.add_argument("--mode", choices=("in-corpus", "cross-project"), default="in-corpus")
    p.add_argument("--train-dir", help="raw folder of the training projects (with --eval-dir; cross-project)")
    p.add_argument("--eval-dir", help="raw folder of the scored projects (with --train-dir)")
    p.add_argument("--eval-repos", help="file listing local git repositories (or bare snapshots), one a line, to "
                                        "score: built with tsfuse's data layer, README as of each origin; trained "
                                        "on --train-dir, else on the whole --corpus (BENCHMARK.md v2)")
    p.add_argument("--methods", default=",".join(ALL_METHODS),
                   help=f"comma-separated, from {','.join(SELECTABLE_METHODS)} (default: all but tsfuse-ssl)")
    p.add_argument("--finetune", action="store_true", help="add tsfuse-ft: tsfuse fine-tuned per evaluation project "
                                                           "on its own months before the origin (costly)")
    p.add_argument("--blend", action="store_true", help=f"add {BLEND} (an extra row, not the headline): tsfuse and "
                   "the global LightGBM blended with a weight chosen on the training projects' validation windows")
    p.add_argument("--transfer", action="store_true", help="cross-project only: the transfer table (global / "
                   "fine-tuned / trained alone, full and last-12-months history) on each project's last window (costly)")
    p.add_argument("--no-ablation", action="store_true", help="skip the text ablation (two extra tsfuse variants)")
    p.add_argument("--slices", action="store_true", help="BENCHMARK.md v2 history slices for the text question: the "
                   "trained tsfuse models (and the text ablation's) given only the last 3, 6, 12 months or the full "
                   "history (predictions only)")
    p.add_argument("--train-fraction", type=float, metavar="F",
                   help="cross-project: train every global method on the first ceil(F x n) training projects in "
                        "sha256 order (nested samples: a smaller F keeps a subset of a larger F's projects; the "
                        "learning curve, benchmarks/learning_curve.py); the evaluation projects stay all")
    p.add_argument("--train-projects", metavar="FILE",
                   help="cross-project: train the global methods on the training projects listed in FILE only "
                        "(one unique_id a line; e.g. datasets/corpus_v2/v1-projects.txt: v2 scored by v1-trained "
                        "models); the scored projects are unchanged")
    p.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_PROJECTS} projects, the first origin, "
                                                        "tiny budgets for every learned method")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(RESULTS_DIR), help="results folder")
    p.add_argument("--origins", help="comma-separated YYYY-MM subset of the task's origins")
    p.add_argument("--max-projects", type=int, help=f"keep the first N eligible projects per side in sha256 order "
                                                    f"(default: all; {QUICK_PROJECTS} with --quick)")
    p.add_argument("--preset", help="tsfuse preset (default balanced; light with --quick)")
    p.add_argument("--max-epochs", type=int, help="tsfuse max_epochs override")
    p.add_argument("--tsfuse-model", type=json.loads, default={}, metavar="JSON",
                   help='tsfuse ModelConfig overrides, e.g. \'{"class_loss_shapes_values": false}\'')
    p.add_argument("--tsfuse-train", type=json.loads, default={}, metavar="JSON",
                   help='tsfuse training overrides (flat names), e.g. \'{"lr": 1e-3}\'')
    p.add_argument("--tsfuse-seeds", type=int, default=1, metavar="K",
                   help="each tsfuse row (and its variants) is the mean of K models trained with seeds "
                        "seed..seed+K-1 (an ensemble; K times the cost)")
    p.add_argument("--jobs", type=int, help="statsforecast processes (default 2; 1 with --quick)")
    p.add_argument("--name", help="output file stem (default <corpus>-<mode>; <corpus>-cross-project-dirs with "
                                  "--train-dir/--eval-dir)")
    args = p.parse_args(argv)
    if args.eval_dir and not args.train_dir:
        p.error("--eval-dir needs --train-dir")
    if args.train_dir and not (args.eval_dir or args.eval_repos):
        p.error("--train-dir needs --eval-dir or --eval-repos")
    if args.eval_dir and args.eval_repos:
        p.error("--eval-dir and --eval-repos: give one")
    if args.train_fraction is not None and not 0 < args.train_fraction <= 1:
        p.error(f"--train-fraction must be in (0, 1], got {args.train_fraction}")
    return args


# --------------------------------------------------------------------------------- data
def load_data(args) -> tuple:
    """(train corpus, eval corpus, mode, description of the split)."""
    if args.eval_repos:
        train = (corpus_from_build(args.train_dir) if args.train_dir and is_bulk_build(args.train_dir)
                 else load_named_corpus(args.train_dir or args.corpus))
        test = corpus_from_repos(args.eval_repos)
        if train.name != test.name:
            raise BenchmarkError(f"--eval-repos are git histories ({test.name}) but the training side is {train.name}")
        check_disjoint(train.panel[ID].unique(), test.panel[ID].unique(), "the training projects and --eval-repos")
        return train, test, "cross-project", {"train_dir": str(args.train_dir or args.corpus),
                                              "eval_dir": f"repositories listed in {args.eval_repos}"}
    if args.train_dir:
        train = corpus_from_build(args.train_dir) if is_bulk_build(args.train_dir) else load_named_corpus(args.train_dir)
        test = load_named_corpus(args.eval_dir)
        if train.name != test.name:
            raise BenchmarkError(f"--train-dir is a {train.name} export but --eval-dir a {test.name} export; "
                                 "both must have the same layout (same task)")
        check_disjoint(train.panel[ID].unique(), test.panel[ID].unique(), "--train-dir and --eval-dir")
        return train, test, "cross-project", {"train_dir": str(args.train_dir), "eval_dir": str(args.eval_dir)}
    corpus = load_named_corpus(args.corpus)
    if args.mode == "in-corpus":
        return corpus, corpus, "in-corpus", {"rule": "all projects trained on (before each origin) and scored"}
    named = str(args.corpus) == corpus.name  # a raw folder gets its own split file, named after the folder
    split, path = load_split(corpus, name=corpus.name if named else f"{corpus.name}-{Path(args.corpus).name}")
    desc = {"file": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path), "rule": split["rule"]}
    return corpus.restrict(split["train"]), corpus.restrict(split["eval"]), "cross-project", desc


def limit_projects(train, test, mode: str, origin: pd.Timestamp, n: int):
    """The first ``n`` projects (sha256 order) with a scored window at ``origin`` and enough history."""
    eval_ids = eligible_projects(test, origin, QUICK_MIN_MONTHS)[:n]
    if mode == "in-corpus":
        return train.restrict(eval_ids), test.restrict(eval_ids)
    train_ids = eligible_projects(train, origin, QUICK_MIN_MONTHS)[:n]
    return train.restrict(train_ids), test.restrict(eval_ids)


def method_list(args) -> list[str]:
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in SELECTABLE_METHODS]
    if unknown:
        raise BenchmarkError(f"unknown method(s) {unknown}; choose from {list(SELECTABLE_METHODS)}")
    for flag in ("finetune", "transfer"):
        if getattr(args, flag) and "tsfuse" not in names:
            raise BenchmarkError(f"--{flag} needs tsfuse in --methods")
    if args.blend and not all(m in names for m in BLEND_MEMBERS):
        raise BenchmarkError(f"--blend needs {' and '.join(BLEND_MEMBERS)} in --methods")
    ordered = [m for m in SELECTABLE_METHODS if m in names]
    return ordered + (["tsfuse-ft"] if args.finetune else []) + ([BLEND] if args.blend else [])


def text_encoder_for(budgets: Budgets):
    """The frozen README encoder of the preset (loaded once, shared by every tsfuse fit), or None."""
    from tsfuse.config import get_preset
    from tsfuse.text import TextEncoder

    name = get_preset(budgets.preset, **budgets.tsfuse_model).model.text_model
    return TextEncoder(name) if name else None


# ---------------------------------------------------------------------------------- run
def run(args, argv: list[str]) -> dict:
    quiet_logs()
    seed_everything(args.seed)
    methods = method_list(args)
    t_load = time.perf_counter()
    train, test, mode, split_desc = load_data(args)
    task = test.task
    origins = task_origins(task, args.origins.split(",") if args.origins else None, args.quick)
    if args.train_fraction is not None:
        if mode != "cross-project":
            raise BenchmarkError("--train-fraction needs cross-project mode: in-corpus, training and scored "
                                 "projects are the same")
        kept = nested_sample(train.panel[ID].unique(), args.train_fraction)
        split_desc = {**split_desc, "train_fraction": args.train_fraction,
                      "train_fraction_rule": f"the first ceil({args.train_fraction} x {train.panel[ID].nunique()}) "
                                             f"= {len(kept)} training projects in sha256 order"}
        train = train.restrict(kept)
    if args.train_projects:
        if mode != "cross-project":
            raise BenchmarkError("--train-projects needs cross-project mode: in-corpus, training and scored "
                                 "projects are the same")
        kept, rule = listed_projects(train.panel[ID].unique(), args.train_projects)
        log.warning("--train-projects: %s", rule)
        split_desc = {**split_desc, "train_projects_rule": rule}
        train = train.restrict(kept)
    n_max = args.max_projects or (QUICK_PROJECTS if args.quick else None)
    if n_max:
        train, test = limit_projects(train, test, mode, origins[0], n_max)
    if mode == "cross-project":
        check_disjoint(train.panel[ID].unique(), test.panel[ID].unique())
    elif args.transfer:
        raise BenchmarkError("--transfer needs cross-project mode: in-corpus, the global model has seen every "
                             "scored project")
    load_s = time.perf_counter() - t_load
    budgets = Budgets.make(seed=args.seed, quick=args.quick, preset=args.preset, max_epochs=args.max_epochs,
                           jobs=args.jobs, tsfuse_model=args.tsfuse_model, tsfuse_train=args.tsfuse_train,
                           tsfuse_seeds=args.tsfuse_seeds)
    encoder = text_encoder_for(budgets) if any(m.startswith("tsfuse") for m in methods) else None
    has_text = has_any_text(test.texts, test.panel[ID].unique())
    ablate = "tsfuse" in methods and encoder is not None and has_text and not args.no_ablation
    jobs = methods + (list(ABLATION_METHODS) if ablate else [])
    ctx = Context(task=task, train_panel=train.panel, eval_panel=test.panel, train_texts=train.texts,
                  eval_texts=test.texts, budgets=budgets, text_encoder=encoder)
    derive_ens = "ens" in methods and all(m in methods for m in ENS_MEMBERS)
    store = RunStore(Path(args.out) / f".{page_stem(args, task, mode)}.partial", argv,
                     why_not=f"--blend ({BLEND} reads the tsfuse model's validation forecasts, which a model "
                             "file does not keep)" if BLEND in jobs else None)

    per_window, timings, errors, infos, window_counts, windows_by_origin = [], {}, {}, {}, {}, {}
    bar = tqdm(total=len(origins) * len(jobs), desc="benchmark", unit="run", file=sys.stderr)
    for origin in origins:
        windows = make_windows(test.panel, task, [origin])
        window_counts[month(origin)] = len(windows)
        windows_by_origin[origin] = windows
        if len(windows) == 0:
            log.warning("no scored window at %s; skipping the origin", month(origin))
            bar.update(len(jobs))
            continue
        outputs: dict[str, Output] = {}
        for name in jobs:
            bar.set_description(f"{month(origin)} {name}")
            if name in errors:
                bar.update(1)
                continue
            try:
                if name == "ens" and derive_ens:
                    out = ensemble_of([outputs[m] for m in ENS_MEMBERS])
                elif name == BLEND:
                    missing = [m for m in BLEND_MEMBERS if m not in outputs]
                    if missing:
                        raise RuntimeError(f"{BLEND} needs {missing} at {month(origin)}, which failed")
                    out = blend_of(ctx, origin, *(outputs[m] for m in BLEND_MEMBERS))
                else:
                    out = run_unit(store, ctx, name, origin, windows, args.seed)
                rows = report.score_windows(name, test.panel, windows, out.forecast, task, out.trend_pred,
                                            out.level_pred, out.quantiles)
            except BenchmarkError:
                raise
            except Exception as error:  # a failing method is reported, the others still run
                errors[name] = f"{month(origin)}: {type(error).__name__}: {error}"
                log.error("%s failed at %s:\n%s", name, month(origin), traceback.format_exc())
                bar.update(1)
                continue
            outputs[name] = out
            per_window.append(rows)
            t = timings.setdefault(name, {"fit_s": 0.0, "predict_s": 0.0})
            t["fit_s"] += out.fit_s
            t["predict_s"] += out.predict_s
            if out.info:
                infos.setdefault(name, {})[month(origin)] = out.info
            bar.update(1)
            tqdm.write(f"{month(origin)} {name:>22}: fit {out.fit_s:7.1f}s predict {out.predict_s:6.1f}s "
                       f"MASE {rows['mase'].mean():.3f}", file=sys.stderr)
    bar.close()
    if not per_window:
        raise BenchmarkError(f"nothing was scored (errors: {errors})")
    windows_df = pd.concat(per_window, ignore_index=True)
    leak = leak_check(ctx.audit, test.panel[ID].unique()) if mode == "cross-project" else None
    slices = None
    if args.slices and "tsfuse" not in errors:
        from benchmarks.slices import run_slices, slice_summary

        slices = slice_summary(run_slices(ctx, {o: w for o, w in windows_by_origin.items() if len(w)}), args.seed)
    transfer = None
    if args.transfer and "tsfuse" not in errors:
        from benchmarks.transfer import run_transfer, transfer_summary

        rows, info = run_transfer(ctx, {o: w for o, w in windows_by_origin.items() if len(w)})
        transfer = {"rows": rows, "summary": transfer_summary(rows, info["projects"]), "info": info}
    return {"transfer": transfer, "slices": slices, "leak_check": leak, "args": args, "argv": argv, "mode": mode, "task": task,
            "origins": origins, "methods": methods,
            "ablation_methods": list(ABLATION_METHODS) if ablate else [], "windows": windows_df,
            "timings": timings, "errors": errors, "infos": infos, "window_counts": window_counts,
            "train": train, "eval": test, "split": split_desc, "budgets": budgets, "audit": ctx.audit,
            "load_s": load_s, "encoder": None if encoder is None else encoder.name, "has_text": has_text,
            "store": store}


def run_unit(store: RunStore, ctx: Context, name: str, origin: pd.Timestamp, windows, seed: int) -> Output:
    """One method at one origin: restored from ``store`` when a stopped run finished it, else run (seeded
    the same either way) and kept; the tsfuse models later units need travel with their units."""
    kept = store.load(origin, name)
    if kept is not None:
        out, audit, model = kept
        ctx.audit.extend(audit)
        if model is not None:
            ctx.models[(name, month(origin))] = (model, out.fit_s)
        return out
    seed_everything(seed)
    first = len(ctx.audit)
    out = runner(name)(name, ctx, origin, windows)
    model = ctx.models.get((name, month(origin)), (None,))[0]
    store.save(origin, name, out, ctx.audit[first:], model)
    return out


def leak_check(audit: list[dict], eval_ids) -> dict:
    """Cross-project: no global fit (every fit but the per-project fine-tuning / training-alone ones, named
    ``<what>:<project>``) may have seen an evaluation project; checked from the rows each fit was given."""
    global_fits = [a for a in audit if ":" not in a["method"]]
    for a in global_fits:
        check_disjoint(a["unique_ids"], eval_ids, f"{a['method']} training (origin {a['origin']}) and evaluation")
    return {"global_fits": len(global_fits), "evaluation_projects_seen_by_global_fits": 0,
            "per_project_fits": len(audit) - len(global_fits)}


# ------------------------------------------------------------------------------- output
def write_outputs(res: dict) -> dict[str, Path]:
    args, task, w = res["args"], res["task"], res["windows"]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = page_stem(args, task, res["mode"])
    main_rows = [m for m in res["methods"] if m not in res["errors"]]
    table = report.summary_table(w, res["timings"], main_rows)
    full = report.summary_table(w, res["timings"], main_rows + res["ablation_methods"])
    baselines = [m for m in main_rows if not m.startswith("tsfuse")]
    verdict = report.verdict(table, w, "tsfuse", baselines, args.seed)
    abl = report.ablation(w, args.seed)
    curves = report.per_horizon(w, main_rows)
    paths = {"md": out_dir / f"{stem}.md", "json": out_dir / f"{stem}.json",
             "png": out_dir / f"{stem}-horizon.png", "windows": out_dir / f"{stem}-windows.csv.gz"}
    if res["transfer"] is not None:
        paths["transfer"] = out_dir / f"{stem}-transfer-windows.csv.gz"
        t = res["transfer"]["rows"]
        t.assign(origin=t["origin"].dt.strftime("%Y-%m")).to_csv(paths["transfer"], index=False, float_format="%.6g")
    report.plot_horizon(curves, paths["png"], f"{task.name} {res['mode']}: error by horizon step")
    w.assign(origin=w["origin"].dt.strftime("%Y-%m")).to_csv(paths["windows"], index=False, float_format="%.6g")
    truth = w[w["method"] == w["method"].iloc[0]]
    classes = {"trend": {c: int((truth["trend_true"] == i).sum()) for i, c in enumerate(TREND_CLASSES)},
               "level": {str(i): int((truth["level_true"] == i).sum()) for i in range(len(task.level_edges) + 1)}}
    payload = {
        "benchmark": "BENCHMARK.md v1 + v2 probabilistic metrics", "corpus": task.name, "mode": res["mode"], "quick": bool(args.quick),
        "command": command_line("benchmarks/run.py", res["argv"]), "seed": args.seed,
        "origins": [month(o) for o in res["origins"]], "windows_per_origin": res["window_counts"],
        "classes": classes, "split": res["split"],
        "projects": {"train": int(res["train"].panel[ID].nunique()), "eval": int(res["eval"].panel[ID].nunique())},
        "data_source": {"train": res["train"].panel.attrs.get("source"), "eval": res["eval"].panel.attrs.get("source")},
        "text_encoder": res["encoder"], "budgets": res["budgets"].to_dict(),
        "results": {m: {**row, **({"coverage_per_step": curves[m]["coverage_per_step"]}
                                  if "coverage_per_step" in curves.get(m, {}) else {})}
                    for m, row in table.to_dict(orient="index").items()},
        "per_origin": report.per_origin(w, main_rows),
        "leak_check": res["leak_check"], "verdict": verdict, "text_ablation": abl,
        "text_ablation_by_slice": res["slices"],
        "reference_check": (protocol_check(task.name, RAW_DATA_DIR)
                            if res["mode"] == "in-corpus" and not n_limited(args) else None),
        "text_ablation_rows": full.loc[[m for m in res["ablation_methods"] if m in full.index]].to_dict(orient="index"),
        "transfer": None if res["transfer"] is None else {"summary": res["transfer"]["summary"],
                                                          **res["transfer"]["info"]},
        "per_horizon": curves, "errors": res["errors"], "method_info": res["infos"],
        "training_audit": [{k: v for k, v in a.items() if k != "unique_ids"} for a in res["audit"]],
        "load_seconds": res["load_s"], "versions": versions(), "machine": machine(), "git": git_state(),
        "files": {k: p.name for k, p in paths.items()},
    }
    report.write_json(paths["json"], payload)
    paths["md"].write_text(markdown(payload, table, full, paths), encoding="utf-8")
    return paths


def page_stem(args, task, mode: str) -> str:
    """The file stem of the run's pages: ``--name``, else ``<corpus>-<mode>`` (+ ``-repos`` / ``-dirs``)."""
    return args.name or f"{task.name}-{mode}" + ("-repos" if args.eval_repos else "-dirs" if args.train_dir else "")


def n_limited(args) -> bool:
    """A run on a subset of projects or origins (a smoke test: the protocol check is skipped)."""
    return bool(args.quick or args.max_projects or args.origins)


def markdown(p: dict, table: pd.DataFrame, full: pd.DataFrame, paths: dict[str, Path]) -> str:
    lines = [f"# tsfuse benchmark: {p['corpus']}, {p['mode']} (BENCHMARK.md v1)", ""]
    if p["quick"]:
        lines += ["> **QUICK RUN** (smoke test: few projects, one origin, tiny training budgets). "
                  "These numbers say nothing about the methods.", ""]
    wpo = ", ".join(f"{o}: {n}" for o, n in p["windows_per_origin"].items())
    lines += [f"- command: `{p['command']}`", f"- seed: {p['seed']}", f"- origins: {', '.join(p['origins'])}",
              f"- windows: {sum(p['windows_per_origin'].values())} ({wpo}); projects: train {p['projects']['train']}, "
              f"eval {p['projects']['eval']}",
              f"- true trend down/flat/up: {'/'.join(str(v) for v in p['classes']['trend'].values())}; "
              f"level 0..4: {'/'.join(str(v) for v in p['classes']['level'].values())}",
              f"- split: {p['split'].get('rule', '')}" + (f" (`{p['split']['file']}`)" if "file" in p["split"] else "")
              + (f" train `{p['split']['train_dir']}`, eval `{p['split']['eval_dir']}`" if "train_dir" in p["split"] else "")
              + (f"; trained on {p['split']['train_fraction_rule']}" if "train_fraction_rule" in p["split"] else "")
              + (f"; trained on {p['split']['train_projects_rule']}" if "train_projects_rule" in p["split"] else ""),
              *([f"- leak check: {p['leak_check']['global_fits']} global fits, none saw an evaluation project "
                 f"(from the rows each fit was given)"] if p.get("leak_check") else []),
              f"- data: {p['data_source']['train']}" + (f" / {p['data_source']['eval']}"
                                                        if p['data_source']['eval'] != p['data_source']['train'] else ""),
              "", "## Results (all origins pooled)", "", report.markdown_table(table), "",
              "Best value per column in **bold**. MASE: MAE over the 6 months / mean |lag-1 difference| of the window's "
              "history (mean and median over windows); sMAPE 0..200; RMSLE per window, averaged; trend (down/flat/up) "
              "and level (5 classes) macro-F1 and accuracy: tsfuse from its heads, value forecasters from their "
              "forecast. Fit / predict seconds are summed over origins (ens: its members' times added; tsfuse-ft: "
              "pretraining + every per-project fine-tuning).", ""]
    if p["reference_check"]:
        ok = all(c["ok"] for c in p["reference_check"].values())
        lines += ["## Protocol check (BENCHMARK.md reference numbers)", "",
                  "On the public corpus as published (`../shared/data`, reserved projects included; only the "
                  "deterministic baselines run on it, nothing is trained), windows, true classes and the "
                  "deterministic baselines (MASE mean / median / trend F1 / level F1) "
                  + ("**match** the reference exactly." if ok else "**DO NOT match** the reference: a rule is read "
                     "differently."), ""]
        lines += [f"- {k}: {'ok' if c['ok'] else 'MISMATCH'}: got {c['got']}, expected {c['expected']}"
                  for k, c in p["reference_check"].items()] + [""]
    lines += ["## Does tsfuse beat the best baseline?", ""]
    if p["verdict"]:
        beats = [k for k, d in p["verdict"].items() if d["beats"]]
        names = ", ".join(report.COLUMNS[k][0] for k in beats) or "none of the metrics"
        lines += [f"tsfuse beats the best baseline on: {names} "
                  f"({len(beats)} of {len(p['verdict'])}); per metric:", ""]
        lines += report.verdict_sentences(p["verdict"])
    else:
        lines += ["Not applicable: tsfuse or every baseline is missing from this run."]
    lines += [""]
    if BLEND in p["method_info"]:
        weights = ", ".join(f"{o}: {i['tsfuse_weight']:.1f} ({i['validation_windows']} windows)"
                            for o, i in p["method_info"][BLEND].items())
        lines += [f"## {BLEND} (an extra row, not the headline)", "",
                  f"`{BLEND}` = w x tsfuse + (1 - w) x LightGBM (values and p10 / p50 / p90; trend and level from "
                  "tsfuse's heads), w from 0, 0.1, ..., 1 with the lowest mean MASE on the training projects' "
                  "validation windows (tsfuse's first fit, before its refit; LightGBM fitted before them). "
                  f"tsfuse's weight per origin: {weights}.", ""]
    if p["text_ablation"]:
        lines += ["## Text ablation", "",
                  f"Text encoder `{p['text_encoder']}` (frozen). Δ = variant − tsfuse with the real README, over the "
                  "same windows, with a paired bootstrap 95% interval (2000 resamples of windows; for F1 both scores "
                  "recomputed per resample). Δ MASE > 0 or Δ F1 < 0 means the README helped.", "",
                  report.ablation_markdown(p["text_ablation"], full), ""]
    elif p["text_encoder"] is None:
        lines += ["## Text ablation", "", "Not run: tsfuse was not run with a text tower.", ""]
    else:
        lines += ["## Text ablation", "", "Not run (no README text in the evaluation projects, or --no-ablation).", ""]
    if p["text_ablation_by_slice"]:
        from benchmarks.slices import slice_markdown

        lines += ["## Text ablation by history slice (BENCHMARK.md v2)", "",
                  "The same scored windows; the trained models are given only each project's last 3 or 6 months "
                  "(the cold start: README + k months), its last 12 or its full history before the origin, with the "
                  "README as of the origin (tsfuse), with none (text-empty) or without a text tower. Scores use the "
                  "whole history's MASE scale. MASE − tsfuse < 0: the README hurts on that slice (paired bootstrap "
                  "95% interval).", "", *slice_markdown(p["text_ablation_by_slice"]), ""]
    if p["transfer"]:
        from benchmarks.transfer import DESCRIPTION, transfer_markdown

        lines += ["## Transfer (many → one)", "", DESCRIPTION, "",
                  transfer_markdown(p["transfer"]["summary"]), ""]
    lines += ["## Error by horizon step", "", f"![per-horizon MAE and MASE]({paths['png'].name})", ""]
    po = p["per_origin"]
    if len(po) > 1:
        meths = list(table.index)
        lines += ["## MASE mean per origin", "", "| method | " + " | ".join(po) + " |", "|---|" + "---:|" * len(po)]
        lines += [f"| {m} | " + " | ".join(f"{po[o][m]['mase_mean']:.3f}" if m in po[o] else "–" for o in po) + " |"
                  for m in meths]
        lines += [""]
    if p["errors"]:
        lines += ["## Failed methods", ""] + [f"- {m}: {e}" for m, e in p["errors"].items()] + [""]
    v, mch, g = p["versions"], p["machine"], p["git"]
    lines += ["## Environment", "",
              "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
              f"- machine: {mch['platform']}, {mch['processor']}, {mch['cpu_count']} CPUs, torch threads "
              f"{mch['torch_threads']}, CUDA {mch['cuda']}",
              f"- git: {g['commit']}{' (uncommitted changes)' if g['dirty'] else ''}",
              f"- budgets: `{p['budgets']}`",
              f"- files: {', '.join(f'`{n}`' for n in p['files'].values())}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # tsfuse's trainer keeps a temporary log / checkpoint folder per fit (TrainConfig.log_dir=None ->
    # mkdtemp, never removed); route every temporary folder of the run into one that is removed at its end
    previous = tempfile.tempdir
    with tempfile.TemporaryDirectory(prefix="tsfuse-bench-") as scratch:
        tempfile.tempdir = scratch
        try:
            res = run(args, argv)
        finally:
            tempfile.tempdir = previous
    paths = write_outputs(res)
    res["store"].remove()
    for kind, path in paths.items():
        print(f"wrote {path}")
    table = report.summary_table(res["windows"], res["timings"], [m for m in res["methods"] if m not in res["errors"]])
    print(table.round(3).to_string())
    if res["errors"]:
        print(f"FAILED: {res['errors']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
