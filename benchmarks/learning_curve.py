"""Learning curve (BENCHMARK.md v2): global methods trained on nested shares of the training projects,
scored on the same evaluation projects. Does tsfuse gain more from data than the trees do?

    python benchmarks/learning_curve.py run --corpus oss-activity-v2 [--fractions 0.03,0.1,0.3,1] \\
        [--methods ridge,lightgbm,tsfuse] [--out DIR] [-- RUN.PY OPTIONS ...]
    python benchmarks/learning_curve.py summarize --corpus oss-activity-v2 [--out DIR] [--pages DIR]

``run`` calls ``benchmarks/run.py --mode cross-project --train-fraction F`` once per share (a run
whose JSON exists is skipped: a stopped curve continues), options after ``--`` passed on (e.g.
``--tsfuse-model``). Shares are nested: the first ceil(F x n) training projects in sha256 order.
``summarize`` writes ``benchmarks/results/learning-curve-<corpus>.md``, ``.png`` and ``.json``: per method and share, mean MASE,
SQL and the class F1s, and the gain from the smallest to the largest share with paired bootstrap
intervals (the same windows are scored at every share), tsfuse's gain against each other method's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/learning_curve.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from benchmarks import run as bench  # noqa: E402
from benchmarks.common import RESULTS_DIR, command_line, git_state  # noqa: E402
from benchmarks.report import N_BOOT  # noqa: E402
from tsfuse.eval.metrics import paired_bootstrap_ci  # noqa: E402

FRACTIONS = (0.03, 0.1, 0.3, 1.0)
METHODS = "ridge,lightgbm,tsfuse"
PAGES = RESULTS_DIR  # the summary page is published with the other results pages
OUT = PAGES / "learning-curve"  # the runs' own pages and windows files
KEYS = ["unique_id", "origin"]


def stem(corpus: str, fraction: float) -> str:
    """The run's file stem: ``<corpus>-train<percent>`` (percent with one decimal when needed)."""
    pct = f"{fraction * 100:g}".replace(".", "p")
    return f"{Path(corpus).name}-train{pct}"


def run(args, passthrough: list[str]) -> int:
    """One benchmark run per share; existing runs are kept."""
    out = Path(args.out)
    for fraction in args.fractions:
        name = stem(args.corpus, fraction)
        if (out / f"{name}.json").exists():
            print(f"{name}: done already ({out / name}.json)", file=sys.stderr)
            continue
        code = bench.main(["--corpus", args.corpus, "--mode", "cross-project", "--methods", args.methods,
                           "--no-ablation", "--train-fraction", str(fraction), "--out", str(out), "--name", name,
                           *passthrough])
        if code:
            return code
    return 0


def load_runs(corpus: str, out: Path) -> list[dict]:
    """The runs of ``corpus`` in ``out``, smallest share first, each with its windows frame."""
    runs = []
    for path in sorted(out.glob(f"{Path(corpus).name}-train*.json")):
        payload = json.loads(path.read_text())
        fraction = payload["split"].get("train_fraction")
        if fraction is None:
            continue
        windows = pd.read_csv(out / payload["files"]["windows"])
        runs.append({"fraction": fraction, "payload": payload, "windows": windows})
    if not runs:
        raise SystemExit(f"no learning-curve runs of {corpus} in {out}: run `learning_curve.py run` first")
    return sorted(runs, key=lambda r: r["fraction"])


def curve_table(runs: list[dict]) -> pd.DataFrame:
    """One row per method and share: training projects, mean / median MASE, SQL, class F1s, fit seconds."""
    rows = []
    for r in runs:
        for method, res in r["payload"]["results"].items():
            rows.append({"method": method, "share": r["fraction"], "train_projects": r["payload"]["projects"]["train"],
                         "mase_mean": res["mase_mean"], "mase_median": res["mase_median"], "sql": res.get("sql_mean"),
                         "trend_f1": res["trend_f1"], "level_f1": res["level_f1"], "fit_s": res["fit_s"],
                         "windows": res["windows"]})
    return pd.DataFrame(rows)


def gains(runs: list[dict], seed: int = 0) -> dict:
    """Per method: mean MASE at the smallest share minus at the largest, paired over the same windows,
    with its bootstrap 95% interval; and tsfuse's gain minus each other method's."""
    small, large = runs[0]["windows"], runs[-1]["windows"]
    per_window = {}
    for method in sorted(set(small["method"]) & set(large["method"])):
        a = small[small["method"] == method][KEYS + ["mase"]]
        b = large[large["method"] == method][KEYS + ["mase"]]
        per_window[method] = a.merge(b, on=KEYS, suffixes=("_small", "_large"))
    out = {"from_share": runs[0]["fraction"], "to_share": runs[-1]["fraction"], "gain": {}, "tsfuse_minus": {}}
    for method, p in per_window.items():
        d, lo, hi = paired_bootstrap_ci(p["mase_small"].to_numpy(), p["mase_large"].to_numpy(), n_boot=N_BOOT, seed=seed)
        out["gain"][method] = {"gain": d, "ci": [lo, hi], "windows": len(p)}
        per_window[method] = p.assign(gain=p["mase_small"] - p["mase_large"])[KEYS + ["gain"]]
    if "tsfuse" in per_window:
        for method, g in per_window.items():
            if method == "tsfuse":
                continue
            both = per_window["tsfuse"].merge(g, on=KEYS, suffixes=("_tsfuse", "_other"))
            d, lo, hi = paired_bootstrap_ci(both["gain_tsfuse"].to_numpy(), both["gain_other"].to_numpy(),
                                            n_boot=N_BOOT, seed=seed)
            out["tsfuse_minus"][method] = {"difference": d, "ci": [lo, hi], "windows": len(both)}
    return out


def plot(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Mean MASE against training projects (log scale), one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, rows in table.groupby("method", sort=False):
        rows = rows.sort_values("train_projects")
        ax.plot(rows["train_projects"], rows["mase_mean"], marker="o", label=method)
    ax.set_xscale("log")
    ax.set_xlabel("training projects (log scale)")
    ax.set_ylabel("mean MASE on the evaluation projects")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(corpus: str, runs: list[dict], table: pd.DataFrame, g: dict, png: Path, argv: list[str]) -> str:
    first, git = runs[-1]["payload"], git_state()
    lines = [f"# Learning curve: {corpus} (BENCHMARK.md v2)", "",
             f"- command: `{command_line('benchmarks/learning_curve.py', argv)}`, after "
             f"`python benchmarks/learning_curve.py run --corpus {corpus} ...` (each run's command below)",
             f"- origins: {', '.join(first['origins'])}; evaluation projects {first['projects']['eval']} "
             f"(`{first['split'].get('file', '')}` at the runs' commit), the same at every share",
             "- shares are nested: the first ceil(share x n) training projects in sha256 order",
             f"- git: {git['commit']}{' (uncommitted changes)' if git['dirty'] else ''}", "", "## Mean MASE (and the rest) per share", "",
             "| method | share | training projects | MASE mean | MASE median | SQL | trend F1 | level F1 | fit s | windows |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for _, r in table.iterrows():
        sql = "–" if pd.isna(r["sql"]) else f"{r['sql']:.3f}"
        lines.append(f"| {r['method']} | {r['share']:g} | {r['train_projects']} | {r['mase_mean']:.3f} | "
                     f"{r['mase_median']:.3f} | {sql} | {r['trend_f1']:.3f} | {r['level_f1']:.3f} | "
                     f"{r['fit_s']:.1f} | {r['windows']} |")
    lines += ["", f"![mean MASE against training projects]({png.name})", "",
              f"## Gain from share {g['from_share']:g} to {g['to_share']:g}", "",
              "Gain = mean MASE at the smaller share minus at the larger (positive: more data helped), paired over "
              "the same windows, bootstrap 95% interval.", "",
              "| method | gain [95% CI] | windows |", "|---|---|---:|"]
    lines += [f"| {m} | {v['gain']:+.3f} [{v['ci'][0]:+.3f}, {v['ci'][1]:+.3f}] | {v['windows']} |"
              for m, v in g["gain"].items()]
    if g["tsfuse_minus"]:
        lines += ["", "tsfuse's gain minus the other method's (positive: tsfuse gains more from data):", "",
                  "| against | difference [95% CI] | windows |", "|---|---|---:|"]
        lines += [f"| {m} | {v['difference']:+.3f} [{v['ci'][0]:+.3f}, {v['ci'][1]:+.3f}] | {v['windows']} |"
                  for m, v in g["tsfuse_minus"].items()]
    lines += ["", "## Runs", ""] + [f"- share {r['fraction']:g}, {r['payload']['split']['train_fraction_rule']}: "
                                     f"`{r['payload']['command']}` (git {r['payload']['git']['commit'][:12]})"
                                     for r in runs]
    return "\n".join(lines) + "\n"


def summarize(args, argv: list[str]) -> int:
    out = Path(args.out)
    runs = load_runs(args.corpus, out)
    table = curve_table(runs)
    g = gains(runs)
    name, pages = f"learning-curve-{Path(args.corpus).name}", Path(args.pages)
    pages.mkdir(parents=True, exist_ok=True)
    png = plot(table, pages / f"{name}.png", f"{args.corpus}: learning curve")
    (pages / f"{name}.json").write_text(json.dumps({"table": table.to_dict(orient="records"), "gains": g}, indent=1))
    (pages / f"{name}.md").write_text(markdown(args.corpus, runs, table, g, png, argv), encoding="utf-8")
    print(f"wrote {pages / name}.md", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("run", "summarize"))
    ap.add_argument("--corpus", default="oss-activity-v2")
    ap.add_argument("--fractions", type=lambda s: [float(x) for x in s.split(",")], default=list(FRACTIONS))
    ap.add_argument("--methods", default=METHODS)
    ap.add_argument("--out", default=str(OUT), help="the runs' folder")
    ap.add_argument("--pages", default=str(PAGES), help="summarize: where the summary page, plot and JSON go")
    args = ap.parse_args(own)
    if any(not 0 < f <= 1 for f in args.fractions):
        ap.error(f"--fractions must be in (0, 1], got {args.fractions}")
    return run(args, passthrough) if args.action == "run" else summarize(args, argv)


if __name__ == "__main__":
    sys.exit(main())
