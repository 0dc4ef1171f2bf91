"""Paired comparison of two benchmark runs on the same scored windows (exploration of one change).

    python benchmarks/compare_runs.py RUN_A.windows.csv.gz METHOD_A RUN_B.windows.csv.gz METHOD_B [...]

Each pair of arguments after the first two is compared with the first: B - A on mean MASE, mean
SQL and trend / level macro-F1, each with the paired bootstrap 95% interval of
``benchmarks.report.compare`` (windows matched by project and origin). Prints a Markdown table.
Both runs must score the same windows (same corpus, split and origins); the windows only one of
them has are left out and counted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/compare_runs.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from benchmarks.report import N_BOOT, compare  # noqa: E402
from tsfuse.eval.metrics import paired_bootstrap_ci  # noqa: E402


def load(path: str, method: str, label: str) -> pd.DataFrame:
    """The scored windows of ``method`` in a run's windows file, renamed ``label``."""
    frame = pd.read_csv(path)
    rows = frame[frame["method"] == method]
    if rows.empty:
        raise SystemExit(f"{path} has no windows of {method!r} (methods: {sorted(frame['method'].unique())})")
    return rows.assign(method=label)


def row(base: pd.DataFrame, other: pd.DataFrame, label: str) -> str:
    both = pd.concat([base, other], ignore_index=True)
    d = compare(both, label, "A")
    keys = ["unique_id", "origin"]
    paired = base[keys + ["sql"]].merge(other[keys + ["sql"]], on=keys, suffixes=("_a", "_b"))
    sql = paired_bootstrap_ci(paired["sql_b"].to_numpy(), paired["sql_a"].to_numpy(), n_boot=N_BOOT) \
        if paired["sql_a"].notna().all() and paired["sql_b"].notna().all() else None
    cell = lambda v: f"{v[0]:+.3f} [{v[1]:+.3f}, {v[2]:+.3f}]"  # noqa: E731
    return (f"| {label} | {d['windows']} | {other['mase'].mean():.3f} | {cell(d['mase'])} | "
            f"{cell(sql) if sql else '–'} | {cell(d['trend_f1'])} | {cell(d['level_f1'])} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="WINDOWS_FILE METHOD pairs: the first is A, the others are compared with it")
    args = ap.parse_args(argv)
    if len(args.runs) < 4 or len(args.runs) % 2:
        ap.error("give at least two WINDOWS_FILE METHOD pairs")
    pairs = list(zip(args.runs[::2], args.runs[1::2]))
    base = load(*pairs[0], "A")
    print(f"A = {pairs[0][1]} of `{pairs[0][0]}`: mean MASE {base['mase'].mean():.3f} over {len(base)} windows\n")
    print("| B | windows | B mean MASE | B - A MASE [95% CI] | B - A SQL | B - A trend F1 | B - A level F1 |")
    print("|---|---:|---:|---|---|---|---|")
    for path, method in pairs[1:]:
        label = f"{method} of `{Path(path).name}`"
        print(row(base, load(path, method, label), label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
