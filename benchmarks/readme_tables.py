"""The README's headline tables, rendered from the published pages (never typed by hand).

    python benchmarks/readme_tables.py            # rewrite the README's table blocks from benchmarks/results/
    python benchmarks/readme_tables.py --check    # exit 1 (and say which) when a block differs from its page

A block sits between ``<!-- table: PAGE -->`` and ``<!-- /table -->`` in README.md, PAGE being a
results page stem (``oss-activity-cross-project``). Its rows are the methods of :data:`ROWS` the
page has, in that order (the page itself has every method); the best value of each column among
them is bold.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/readme_tables.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, RESULTS_DIR  # noqa: E402

README = REPO / "README.md"

# method key on the page -> the row's name in the README (the rows a headline table shows, in order)
ROWS = {
    "naive": "naive",
    "AutoETS": "AutoETS",
    "lightgbm": "global LightGBM on lags",
    "ridge": "global ridge on lags",
    "ens": "ETS + Theta + LightGBM mean",
    "tft": "TFT (pytorch-forecasting)",
    "nhits": "NHiTS (pytorch-forecasting)",
    "tsfuse": "**tsfuse** (global)",
    "tsfuse-ft": "**tsfuse-ft** (fine-tuned)",
}
# column key -> (header, higher is better)
COLUMNS = {"mase_mean": ("MASE mean", False), "mase_median": ("MASE median", False), "trend_f1": ("trend F1", True),
           "level_f1": ("level F1", True), "sql_mean": ("SQL", False)}
BLOCK = re.compile(r"(<!-- table: (?P<page>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def render(page: dict, stem: str) -> str:
    """The Markdown block (caption and table) of one results page.

    Args:
        page: the page's JSON (``benchmarks/run.py`` output).
        stem: the page's file stem, for the link.
    """
    results, corpus = page["results"], page["corpus"]
    shown = [m for m in ROWS if m in results]
    best = {}
    for key, (_, higher) in COLUMNS.items():
        values = [round(results[m][key], 3) for m in shown if results[m].get(key) is not None]
        best[key] = (max if higher else min)(values) if values else None
    lines = [f"{corpus}, {sum(page['windows_per_origin'].values())} windows of {page['projects']['eval']} unseen projects",
             f"([`benchmarks/results/{stem}.md`](benchmarks/results/{stem}.md)):", "",
             "| method | " + " | ".join(h for h, _ in COLUMNS.values()) + " | p10-p90 coverage, steps 1-6 |",
             "|---|" + "---:|" * len(COLUMNS) + "---|"]
    for m in shown:
        row = results[m]
        cells = []
        for key in COLUMNS:
            value = row.get(key)
            text = _cell(value)
            cells.append(f"**{text}**" if value is not None and round(value, 3) == best[key] else text)
        steps = row.get("coverage_per_step")
        cells.append(" ".join(f"{c:.2f}" for c in steps) if steps else "–")
        lines.append(f"| {ROWS[m]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def refreshed(readme: str, results: Path = RESULTS_DIR) -> tuple[str, list[str]]:
    """``readme`` with every table block rendered from ``results``, and the pages whose block changed.

    Args:
        readme: the README's text.
        results: the folder of the published pages.
    """
    changed = []

    def block(match: re.Match) -> str:
        stem = match["page"]
        path = results / f"{stem}.json"
        if not path.is_file():
            raise SystemExit(f"README.md has a table block for {stem}, but {path} does not exist: publish the page "
                             "or remove the block")
        body = render(json.loads(path.read_text(encoding="utf-8")), stem)
        if body != match["body"]:
            changed.append(stem)
        return match[1] + body + match[4]

    return BLOCK.sub(block, readme), changed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="only report blocks that differ from their pages")
    args = p.parse_args(argv)
    text, changed = refreshed(README.read_text(encoding="utf-8"))
    if args.check:
        for stem in changed:
            print(f"README.md's {stem} table differs from benchmarks/results/{stem}.json: run "
                  "`python benchmarks/readme_tables.py`")
        return 1 if changed else 0
    README.write_text(text, encoding="utf-8")
    print(f"README.md: {len(changed)} table(s) rewritten {changed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
