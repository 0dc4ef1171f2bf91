"""tsfuse vs TFT: fit (pretrain) and predict time, and peak memory, on the same data in the same run.

    python benchmarks/speed.py [--corpus oss-activity] [--origin 2024-04] [--quick] [--seed 0]
        [--recipe corpus|none] [--out benchmarks/results] [--also-nhits]

The parent loads the corpus once, keeps the projects (all; 12 with --quick), writes the panel and
READMEs to a temporary folder and warms the README embedding cache. Then each method runs in its
own fresh Python subprocess (``--worker``), one after the other: load the data, fit on the rows
before the origin (tsfuse: ``Forecaster.pretrain(before=origin)``, its text encoder loaded inside
the timed fit; TFT: ``TFTBaseline.fit``), predict the windows scored at the origin. Each child
reports its own peak resident set size, ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` read in the
child at its end (Linux: KiB; the whole process: interpreter, imports, data, model, training), and
its RSS peak just before fitting, so the difference is what fit + predict added. (The parent's
``getrusage(RUSAGE_CHILDREN)`` is a max over all finished children, so it cannot separate two
sequential children; it is recorded only as a cross-check.) Budgets are run.py's: full, or
``--quick``; tsfuse trains with the corpus recipe the shipped models use
(:func:`tsfuse.config.corpus_recipe`; ``--recipe none``: the preset alone). Writes ``<out>/speed.md`` (and ``speed.json``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see run.py

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsfuse.data.readme_store import read_versions, write_versions  # noqa: E402
from benchmarks.common import (  # noqa: E402
    REPO, RESULTS_DIR, command_line, eligible_projects, git_state, machine, quiet_logs, seed_everything, versions,
)

QUICK_PROJECTS = 12


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default="oss-activity")
    p.add_argument("--origin", help="YYYY-MM, one of the task's origins (default: its last)")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_PROJECTS} projects, tiny budgets")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--recipe", default="corpus", choices=["corpus", "none"],
                   help="tsfuse's training: the corpus recipe of the shipped models (default) or the preset alone")
    p.add_argument("--out", default=str(RESULTS_DIR))
    p.add_argument("--max-projects", type=int)
    p.add_argument("--also-nhits", action="store_true", help="measure N-HiTS too")
    p.add_argument("--worker", choices=("tsfuse", "tft", "nhits"), help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def peak_rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def run_budgets(args, task_name: str):
    """run.py's budgets, tsfuse's with the task's corpus recipe unless ``--recipe none``."""
    from benchmarks.methods import Budgets
    from tsfuse.config import corpus_recipe

    recipe = corpus_recipe(task_name) if args.recipe == "corpus" else {"model": {}, "train": {}}
    return Budgets.make(seed=args.seed, quick=args.quick, tsfuse_model=recipe["model"], tsfuse_train=recipe["train"])


# ------------------------------------------------------------------------------ worker
def worker(args) -> None:
    """One method in this fresh process: fit before the origin, predict the windows at it."""
    import pandas as pd

    from tsfuse.eval.baselines import before, blind
    from tsfuse.data.tasks import get_task
    from tsfuse.data.windows import make_windows

    quiet_logs()
    seed_everything(args.seed)
    data = Path(args.data)
    spec = json.loads((data / "spec.json").read_text())
    panel = pd.read_csv(data / "panel.csv.gz", dtype={"unique_id": str}, parse_dates=["ds"])
    texts = read_versions(data)  # the corpus's stored README embeddings
    task, origin = get_task(spec["task"]), pd.Timestamp(spec["origin"])
    budgets = run_budgets(args, spec["task"])
    windows = make_windows(panel, task, [origin])
    train = before(panel, origin)
    rss_ready = peak_rss_kib()
    if args.worker == "tsfuse":
        from tsfuse.estimator import Forecaster

        t0 = time.perf_counter()
        model = Forecaster.pretrain(train, texts, task, preset=budgets.preset, before=origin,
                                    model=budgets.tsfuse_model, train=budgets.tsfuse_train)
        t1 = time.perf_counter()
        got, out = model.backtest(panel, [origin], texts)
        t2 = time.perf_counter()
        extra = {"epochs": model.info.get("training", {}).get("epochs"), "train_windows":
                 model.info.get("trained_on", {}).get("windows"), "parameters": model.parameter_counts()}
        n = len(got)
    else:
        from tsfuse.eval.baselines.neural import NHiTSBaseline, TFTBaseline

        cls = TFTBaseline if args.worker == "tft" else NHiTSBaseline
        method = cls(horizon=task.horizon, min_history=task.min_history, **budgets.neural)
        t0 = time.perf_counter()
        method.fit(train, origin)
        t1 = time.perf_counter()
        method.predict(train, blind(windows))
        t2 = time.perf_counter()
        extra = {"parameters": {"trainable": sum(p.numel() for p in method._model.parameters())}}
        n = len(windows)
    print("SPEED-RESULT " + json.dumps({
        "method": args.worker, "fit_s": t1 - t0, "predict_s": t2 - t1, "windows": n,
        "rss_before_fit_kib": rss_ready, "peak_rss_kib": peak_rss_kib(), **extra}), flush=True)


# ------------------------------------------------------------------------------ parent
def prepare(args, folder: Path) -> dict:
    import pandas as pd

    from benchmarks.common import load_named_corpus

    corpus = load_named_corpus(args.corpus)
    task = corpus.task
    origin = pd.Timestamp(f"{args.origin or task.origins[-1]}-01")
    n = args.max_projects or (QUICK_PROJECTS if args.quick else None)
    if n:
        corpus = corpus.restrict(eligible_projects(corpus, origin, 24)[:n])
    corpus.panel.to_csv(folder / "panel.csv.gz", index=False, date_format="%Y-%m-%d", float_format="%.15g")
    write_versions(folder, corpus.texts)
    spec = {"task": task.name, "origin": f"{origin:%Y-%m}", "projects": int(corpus.panel["unique_id"].nunique())}
    (folder / "spec.json").write_text(json.dumps(spec))
    return spec


def run_child(args, method: str, folder: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method, "--data", str(folder),
           "--seed", str(args.seed), "--recipe", args.recipe] + (["--quick"] if args.quick else [])
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(REPO))
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("SPEED-RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{method} worker failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(lines[-1][len("SPEED-RESULT "):])
    result["process_wall_s"] = wall
    result["children_maxrss_kib_after"] = int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return result


def ratio_line(what: str, a: float, b: float, unit: str, lower_is: str) -> str:
    r = a / b if b > 0 else float("inf")
    word = ("less" if r < 1 else "more") if lower_is == "memory" else ("faster" if r < 1 else "slower")
    factor = 1 / r if r < 1 else r
    dec = 2 if unit == "s" else 0
    return f"- {what}: tsfuse {a:.{dec}f} {unit} vs TFT {b:.{dec}f} {unit}: " \
           f"ratio tsfuse/TFT = {r:.2f} (tsfuse {factor:.1f}x {word})"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.worker:
        with tempfile.TemporaryDirectory(prefix="tsfuse-speed-") as scratch:  # tsfuse fit logs: removed at the end
            tempfile.tempdir = scratch
            worker(args)
        return 0
    from benchmarks.report import write_json

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    methods = ["tsfuse", "tft"] + (["nhits"] if args.also_nhits else [])
    with tempfile.TemporaryDirectory(prefix="tsfuse-speed-") as tmp:
        spec = prepare(args, Path(tmp))
        results = {}
        for m in methods:
            print(f"running {m} in a fresh process ...", file=sys.stderr, flush=True)
            results[m] = run_child(args, m, Path(tmp))
            r = results[m]
            print(f"  {m}: fit {r['fit_s']:.1f}s predict {r['predict_s']:.2f}s peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB",
                  file=sys.stderr, flush=True)
    ts, tft = results["tsfuse"], results["tft"]
    mib = lambda k: k / 1024  # noqa: E731
    ratios = [ratio_line("fit (pretrain)", ts["fit_s"], tft["fit_s"], "s", "time"),
              ratio_line("predict", ts["predict_s"], tft["predict_s"], "s", "time"),
              ratio_line("peak RSS of the process", mib(ts["peak_rss_kib"]), mib(tft["peak_rss_kib"]), "MiB", "memory"),
              ratio_line("RSS added by fit + predict", mib(ts["peak_rss_kib"] - ts["rss_before_fit_kib"]),
                         mib(tft["peak_rss_kib"] - tft["rss_before_fit_kib"]), "MiB", "memory")]
    payload = {"command": command_line("benchmarks/speed.py", argv), "seed": args.seed, "quick": args.quick,
               "data": spec, "budgets": run_budgets(args, spec["task"]).to_dict(),
               "memory_method": "peak RSS via resource.getrusage(RUSAGE_SELF).ru_maxrss read inside each child "
                                "process at its end (KiB on Linux)",
               "results": results, "ratios": ratios, "versions": versions(), "machine": machine(), "git": git_state()}
    write_json(out_dir / "speed.json", payload)
    lines = ["# tsfuse vs TFT: time and memory (BENCHMARK.md v1 data)", ""]
    if args.quick:
        lines += ["> **QUICK RUN**: 12 projects, tiny budgets; a smoke test, not a measurement.", ""]
    lines += [f"- command: `{payload['command']}`", f"- seed: {args.seed}",
              f"- data: {spec['task']}, {spec['projects']} projects, fit on months before {spec['origin']}, predict the "
              f"{ts['windows']} windows scored at {spec['origin']}; README embeddings read from the corpus "
              "(stored vectors: no encoding is timed)",
              f"- memory: {payload['memory_method']}; every method in its own fresh subprocess, one after the other", "",
              "| method | fit s | predict s | peak RSS MiB | RSS before fit MiB | added MiB | trainable parameters |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for m, r in results.items():
        lines.append(f"| {m} | {r['fit_s']:.1f} | {r['predict_s']:.2f} | {mib(r['peak_rss_kib']):.0f} | "
                     f"{mib(r['rss_before_fit_kib']):.0f} | {mib(r['peak_rss_kib'] - r['rss_before_fit_kib']):.0f} | "
                     f"{r['parameters'].get('trainable', 0):,} |")
    lines += ["", "Ratios (tsfuse / TFT):", "", *ratios, "",
              "tsfuse's fit includes loading its frozen text encoder; its parameters exclude that encoder's "
              f"{ts['parameters'].get('frozen_text_encoder', 0):,} frozen ones. Epoch counts: tsfuse "
              f"{ts.get('epochs')} (early stopping), TFT its fixed budget.", "",
              "## Environment", "", "- versions: " + ", ".join(f"{k} {v}" for k, v in payload["versions"].items()),
              f"- machine: {payload['machine']}", f"- git: {payload['git']}",
              f"- budgets: `{payload['budgets']}`", ""]
    (out_dir / "speed.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(ratios))
    print(f"wrote {out_dir / 'speed.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
