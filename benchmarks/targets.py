"""Issue 14's accuracy targets, checked against the published cross-project pages (never typed by hand).

    python benchmarks/targets.py                       # reads benchmarks/results/, writes cross-project-targets.{md,json} there
    python benchmarks/targets.py --results DIR --out DIR

For each headline page ``<corpus>-cross-project`` (its JSON and its scored windows) the page lists
every target of issue 14's "done when", the measured numbers and whether the target is met; the paired
bootstrap intervals are recomputed from the windows exactly as the pages compute theirs (same
windows, seed and resamples). "Best baseline" is the best method that is not a tsfuse variant, per
metric, as on the pages. Then the text ablation by history slice: on which slices the README helps or
hurts, with intervals. A page not published yet is listed as such.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/targets.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from benchmarks.common import REPO, RESULTS_DIR, command_line, git_state  # noqa: E402
from benchmarks.report import compare, write_json  # noqa: E402

STEM = "cross-project-targets"
# corpus -> the full set of value and class targets (True) or the mean-MASE target alone (opendigger)
CORPORA = {"oss-activity": True, "oss-activity-v2": True, "opendigger": False}
CANDIDATES = ("tsfuse-ft", "tsfuse")
MASE_FACTOR, TREND_MARGIN = 0.95, 0.05
NOMINAL, COVERAGE_TOLERANCE = 0.80, 0.05
SLICE_VARIANTS = {"tsfuse-text-empty": 'README → ""', "tsfuse-no-text-tower": "no text tower"}
# metric -> (key in the page's per-slice differences, True when a higher value is better)
SLICE_METRICS = {"MASE": ("mase", False), "trend F1": ("trend_f1", True), "level F1": ("level_f1", True)}


@dataclass(frozen=True)
class Target:
    """One row: what the issue asks, what the page measured, and whether it holds."""

    target: str
    measured: str
    met: bool


def _ci(d: tuple[float, float, float]) -> str:
    return f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]"


def best_baseline(results: dict, key: str, higher: bool, need: str | None = None) -> tuple[str, float]:
    """The best method that is not a tsfuse variant on ``key`` (only those with a value of ``need``)."""
    values = {m: r[key] for m, r in results.items()
              if not m.startswith("tsfuse") and r.get(key) is not None and (need is None or r.get(need) is not None)}
    name = (max if higher else min)(values, key=values.get)
    return name, float(values[name])


def value_targets(results: dict, windows: pd.DataFrame, full: bool) -> list[Target]:
    """The mean-MASE and class targets of one page (``full``: oss-activity's set; else opendigger's)."""
    paired: dict[tuple[str, str], dict] = {}  # (a, b) -> compare(a, b): MASE and both F1 from one call

    def diff(a: str, b: str, key: str) -> tuple[float, float, float]:
        if (a, b) not in paired:
            paired[a, b] = compare(windows, a, b)
        return paired[a, b][key]

    base, theirs = best_baseline(results, "mase_mean", higher=False)
    ft = results["tsfuse-ft"]["mase_mean"]
    ft_diff = diff("tsfuse-ft", base, "mase")
    if not full:
        return [Target(f"tsfuse-ft mean MASE below the best baseline's ({base} {theirs:.3f})",
                       f"{ft:.3f}; tsfuse-ft − {base} {_ci(ft_diff)}", ft < theirs)]
    glob = diff("tsfuse", base, "mase")
    rows = [Target(f"tsfuse-ft mean MASE ≤ {MASE_FACTOR} × the best baseline's ({base} {theirs:.3f} → "
                   f"{MASE_FACTOR * theirs:.3f}), the 95% interval of the difference below 0",
                   f"{ft:.3f}; tsfuse-ft − {base} {_ci(ft_diff)}", ft <= MASE_FACTOR * theirs and ft_diff[2] < 0),
            Target(f"global tsfuse at least ties the best baseline ({base} {theirs:.3f}) on mean MASE: the 95% "
                   "interval of the difference includes 0 or lies below it",
                   f"{results['tsfuse']['mase_mean']:.3f}; tsfuse − {base} {_ci(glob)}", glob[1] <= 0)]
    for key, label, margin in (("trend_f1", "trend macro-F1", TREND_MARGIN), ("level_f1", "level macro-F1", 0.0)):
        name, value = best_baseline(results, key, higher=True)
        need = f"≥ the best baseline's + {margin}" if margin else "≥ the best baseline's"
        for method in CANDIDATES:
            mine = results[method][key]
            rows.append(Target(f"{method} {label} {need} ({name} {value:.3f} → {value + margin:.3f})",
                               f"{mine:.3f}; {method} − {name} {_ci(diff(method, name, key))}",
                               mine >= value + margin))
    return rows


def interval_targets(results: dict) -> list[Target]:
    """Per-step p10-p90 coverage within 0.80 ± 0.05, and scaled quantile loss below every baseline with intervals."""
    name, lowest = best_baseline(results, "sql_mean", higher=False, need="sql_mean")
    rows = []
    for method in CANDIDATES:
        steps = results[method]["coverage_per_step"]
        outside = [(k, c) for k, c in enumerate(steps, 1) if abs(c - NOMINAL) > COVERAGE_TOLERANCE + 1e-9]
        measured = " ".join(f"{c:.3f}" for c in steps)
        if outside:
            measured += " (outside: " + ", ".join(f"step {k} {c:.4f}" for k, c in outside) + ")"
        rows.append(Target(f"{method} p10-p90 coverage within {NOMINAL:.2f} ± {COVERAGE_TOLERANCE:.2f} at each of the "
                           f"{len(steps)} horizon steps", measured, not outside))
    for method in CANDIDATES:
        mine = results[method]["sql_mean"]
        rows.append(Target(f"{method} scaled quantile loss below every baseline that gives intervals (lowest: "
                           f"{name} {lowest:.3f})", f"{mine:.3f}", mine < lowest))
    return rows


def slice_effects(by_slice: dict) -> list[dict]:
    """Per history slice and text variant: each metric's difference (variant − tsfuse) with its interval,
    and where the text helps (removing the README or the text tower is worse, interval excluding 0) or hurts
    (removing it is better)."""
    rows = []
    for slice_name, entry in by_slice.items():
        for variant, label in SLICE_VARIANTS.items():
            diff = entry.get("differences", {}).get(variant)
            if not diff:
                continue
            helps, hurts = [], []  # where the text (the README; the text tower) helps or hurts
            for metric, (key, higher) in SLICE_METRICS.items():
                mean, lo, hi = diff[key]
                removing_is_better = lo > 0 if higher else hi < 0
                removing_is_worse = hi < 0 if higher else lo > 0
                (hurts if removing_is_better else helps if removing_is_worse else []).append(metric)
            rows.append({"slice": slice_name, "variant": label, "windows": diff["windows"],
                         **{metric: list(diff[key]) for metric, (key, _) in SLICE_METRICS.items()},
                         "text_helps": helps, "text_hurts": hurts})
    return rows


def check_page(results_dir: Path, corpus: str) -> dict | None:
    """The targets and slice effects of ``corpus``'s headline page, or None when it is not published."""
    page = results_dir / f"{corpus}-cross-project.json"
    if not page.is_file():
        return None
    payload = json.loads(page.read_text(encoding="utf-8"))
    results = payload["results"]
    missing = [m for m in CANDIDATES if m not in results]
    if missing:
        raise SystemExit(f"{page} has no {missing} rows: the headline pages run with --finetune")
    windows_file = results_dir / f"{corpus}-cross-project-windows.csv.gz"
    if not windows_file.is_file():
        raise SystemExit(f"{page} has no scored windows beside it ({windows_file.name}): the intervals are computed "
                         "from them; copy the page's files together (benchmarks/publish.py install does)")
    windows = pd.read_csv(windows_file)
    targets = value_targets(results, windows, CORPORA[corpus]) + interval_targets(results)
    return {"page": page.name, "commit": (payload.get("git") or {}).get("commit"),
            "windows": int((windows["method"] == "tsfuse-ft").sum()), "targets": [asdict(t) for t in targets],
            "slices": slice_effects(payload.get("text_ablation_by_slice") or {})}


def markdown(checks: dict[str, dict | None], command: str, git: dict) -> str:
    """The page: a summary line, then per corpus the targets table and the text ablation by slice."""
    found = {c: v for c, v in checks.items() if v is not None}
    met = sum(t["met"] for v in found.values() for t in v["targets"])
    total = sum(len(v["targets"]) for v in found.values())
    lines = ["# Issue 14's targets on the cross-project pages", "",
             f"- command: `{command}`",
             f"- git: {git.get('commit')}" + (" (uncommitted changes)" if git.get("dirty") else ""),
             "- pages read: " + ", ".join(f"`{v['page']}` (commit {str(v['commit'])[:7]})" for v in found.values()),
             "", f"**{met} of {total} targets met.** Each interval is the paired bootstrap 95% interval over the "
             "page's scored windows (as on the pages); \"best baseline\": the best method that is not tsfuse, per "
             "metric.", ""]
    for corpus, check in checks.items():
        lines += [f"## {corpus}", ""]
        if check is None:
            lines += [f"`{corpus}-cross-project` is not published yet.", ""]
            continue
        lines += [f"From [`{check['page']}`]({check['page'].replace('.json', '.md')}).", "",
                  "| target | measured | met |", "|---|---|---|"]
        lines += [f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |" for t in check["targets"]]
        if check["slices"]:
            lines += ["", "Text ablation by history slice (variant − tsfuse, the same trained model with the README "
                      "replaced by \"\", or the same architecture trained without a text tower; the text *helps* where "
                      "removing it is worse with an interval excluding 0, *hurts* where removing it is better):", "",
                      "| slice | variant | windows | MASE | trend F1 | level F1 | the text helps | the text hurts |",
                      "|---|---|---:|---|---|---|---|---|"]
            lines += [f"| {s['slice']} | {s['variant']} | {s['windows']} | {_ci(s['MASE'])} | {_ci(s['trend F1'])} | "
                      f"{_ci(s['level F1'])} | {', '.join(s['text_helps']) or '–'} | "
                      f"{', '.join(s['text_hurts']) or '–'} |"
                      for s in check["slices"]]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder of the published pages")
    ap.add_argument("--out", type=Path, default=None, help="where the page goes (default: --results)")
    args = ap.parse_args(argv)
    out = args.out or args.results
    out.mkdir(parents=True, exist_ok=True)
    checks = {corpus: check_page(args.results, corpus) for corpus in CORPORA}
    command = command_line("benchmarks/targets.py", sys.argv[1:] if argv is None else argv)
    pages = [out / f"{STEM}.md", out / f"{STEM}.json"]
    git = git_state(*pages) if out.resolve().is_relative_to(REPO.resolve()) else git_state()
    (out / f"{STEM}.md").write_text(markdown(checks, command, git), encoding="utf-8")
    write_json(out / f"{STEM}.json", {"command": command, "git": git, "corpora": checks})
    print(f"wrote {out / f'{STEM}.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
