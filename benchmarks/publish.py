"""Re-run every published benchmark table from one commit (the README's tables must share one).

    python benchmarks/publish.py list                       # the steps and their exact commands
    python benchmarks/publish.py run --out DIR [STEP ...]   # all steps (default) or the named ones
    python benchmarks/publish.py install --out DIR          # copy a finished run's pages into results/

Each step is one ``benchmarks/run.py`` (or ``learning_curve.py``) command with the corpus recipe the
shipped models are trained with (:func:`tsfuse.config.corpus_recipe`, so the pages and the models
cannot drift apart). ``run`` refuses a checkout with uncommitted changes (every page names the
commit it ran at) and an ``--out`` inside the checkout (the first page written there would make the
next step's checkout dirty); a step whose JSON in ``--out`` already names this commit, clean, is
skipped and a stopped step continues from its finished units (:mod:`benchmarks.resume`), so a
stopped publication continues; an ``--out`` holding pages of another commit is refused
(one folder per commit). Once every step is done, ``install`` copies the pages into
``benchmarks/results/`` (from any checkout: it only reads ``--out``):

    git worktree add /tmp/pub HEAD && cd /tmp/pub && python benchmarks/publish.py run --out /tmp/pub-out
    cd - && python benchmarks/publish.py install --out /tmp/pub-out && python benchmarks/readme_tables.py
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/publish.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, RESULTS_DIR, git_state  # noqa: E402

LEARNING_CURVE = "learning-curve"  # the learning curve's runs, beside its summary page
from tsfuse.config import corpus_recipe  # noqa: E402


@dataclass(frozen=True)
class Step:
    """One published page: ``name`` (its file stem), the script and its arguments."""

    name: str
    script: str
    args: tuple[str, ...]

    def argv(self, out: Path) -> list[str]:
        """The command, writing under ``out`` (learning_curve.py: its runs in ``out/learning-curve``)."""
        head = [sys.executable, str(REPO / "benchmarks" / self.script)]
        if self.script == "run.py":
            return [*head, *self.args, "--out", str(out), "--name", self.name]
        cut = self.args.index("--") if "--" in self.args else len(self.args)
        return [*head, *self.args[:cut], "--out", str(out / LEARNING_CURVE), *self.args[cut:]]


def recipe_args(task: str) -> tuple[str, ...]:
    """``--tsfuse-model`` / ``--tsfuse-train`` of the task's corpus recipe."""
    recipe = corpus_recipe(task)
    return ("--tsfuse-model", json.dumps(recipe["model"]), "--tsfuse-train", json.dumps(recipe["train"]))


def steps() -> list[Step]:
    """The published pages, headline tables first (oss-activity-v2 uses the oss-activity task's recipe)."""
    oss, od = recipe_args("oss-activity"), recipe_args("opendigger")
    cross = ("--mode", "cross-project")
    return [
        Step("oss-activity-cross-project", "run.py", ("--corpus", "oss-activity", *cross, "--finetune", "--slices", *oss)),
        Step("opendigger-cross-project", "run.py", ("--corpus", "opendigger", *cross, "--finetune", *od)),
        Step("oss-activity-v2-cross-project", "run.py",
             ("--corpus", "oss-activity-v2", *cross, "--finetune", "--slices", *oss)),
        # decides whether the shipped oss-activity model is retrained on v2: the same v2 windows, global
        # methods trained on the v1 projects among v2's training projects only
        Step("oss-activity-v2-cross-project-v1-trained", "run.py",
             ("--corpus", "oss-activity-v2", *cross, "--methods", "naive,lightgbm,ridge,tsfuse", "--no-ablation",
              "--train-projects", "datasets/corpus_v2/v1-projects.txt", *oss)),
        Step("oss-activity-in-corpus", "run.py", ("--corpus", "oss-activity", "--mode", "in-corpus", *oss)),
        Step("opendigger-in-corpus", "run.py", ("--corpus", "opendigger", "--mode", "in-corpus", *od)),
        Step("oss-activity-v2-in-corpus", "run.py", ("--corpus", "oss-activity-v2", "--mode", "in-corpus", *oss)),
        Step("learning-curve-oss-activity-v2", "learning_curve.py", ("run", "--corpus", "oss-activity-v2", "--", *oss)),
        Step("oss-activity-transfer", "run.py", ("--corpus", "oss-activity", *cross, "--transfer", "--no-ablation",
                                                 "--methods", "naive,seasonal_naive,mean3,lightgbm,ridge,tsfuse", *oss)),
        Step("opendigger-transfer", "run.py", ("--corpus", "opendigger", *cross, "--transfer", "--no-ablation",
                                               "--methods", "naive,seasonal_naive,mean3,lightgbm,ridge,tsfuse", *od)),
    ]


def page_git(path: Path) -> dict | None:
    """The ``git`` record (commit, dirty) of a run's JSON page; None for a summary without one."""
    git = json.loads(path.read_text(encoding="utf-8")).get("git")
    return git if isinstance(git, dict) else None


def written_at(git: dict | None, commit: str) -> bool:
    """Whether a page's ``git`` record names ``commit`` and a clean checkout."""
    return git is not None and git.get("commit") == commit and git.get("dirty") is False


def done(step: Step, out: Path, commit: str) -> bool:
    """Whether ``out`` holds the step's JSON, written at ``commit`` from a clean checkout."""
    path = out / f"{step.name}.json"
    return step.script == "run.py" and path.is_file() and written_at(page_git(path), commit)


def page_records(out: Path) -> dict[Path, dict]:
    """The ``git`` record of each JSON page under ``out`` and its learning-curve runs (pages without one left out)."""
    records = {path: page_git(path) for path in [*out.glob("*.json"), *out.glob(f"{LEARNING_CURVE}/*.json")]}
    return {path: git for path, git in records.items() if git is not None}


def foreign_pages(out: Path, commit: str) -> list[Path]:
    """The JSON pages under ``out`` (and its learning-curve runs) written at another commit or dirty."""
    return [path for path, git in page_records(out).items() if not written_at(git, commit)]


def run(names: list[str], out: Path) -> int:
    """Run the named steps (all when empty) in order; returns the first failing step's exit code."""
    every = steps()
    chosen = [s for s in every if not names or s.name in names]
    unknown = set(names) - {s.name for s in every}
    if unknown:
        raise SystemExit(f"unknown step(s) {sorted(unknown)}; `python benchmarks/publish.py list` shows them")
    state = git_state()
    if state["dirty"] is not False or not state["commit"]:
        raise SystemExit(f"{REPO} has uncommitted changes (or is not a git checkout): publish from a clean "
                         "checkout of one commit, e.g. `git worktree add /tmp/pub HEAD`")
    out = out.resolve()
    if out == REPO or REPO in out.parents:
        raise SystemExit(f"--out {out} is inside the checkout {REPO}: the first page would make the checkout "
                         "dirty for the next step; write outside it and copy the pages afterwards")
    out.mkdir(parents=True, exist_ok=True)
    foreign = foreign_pages(out, state["commit"])
    if foreign:
        raise SystemExit(f"{out} holds {len(foreign)} page(s) of another commit or a dirty checkout (e.g. "
                         f"{foreign[0].name}): use a fresh folder for commit {state['commit'][:12]}")
    for step in chosen:
        if done(step, out, state["commit"]):
            print(f"[publish] {step.name}: done at {state['commit'][:12]} ({out / step.name}.json)", flush=True)
            continue
        argv = step.argv(out)
        print(f"[publish] {step.name}: {shlex.join(argv)}", flush=True)
        code = subprocess.call(argv, cwd=REPO)
        if code:
            print(f"[publish] {step.name} failed (exit {code}); rerun `publish.py run` to continue", flush=True)
            return code
        if step.script == "learning_curve.py":
            corpus = step.args[step.args.index("--corpus") + 1]
            code = subprocess.call([sys.executable, str(REPO / "benchmarks" / step.script), "summarize",
                                    "--corpus", corpus, "--out", str(out / LEARNING_CURVE),
                                    "--pages", str(out)], cwd=REPO)
            if code:
                return code
    return 0


def install(out: Path, results: Path = RESULTS_DIR, nav: Path = REPO / "mkdocs.yml") -> list[Path]:
    """Copy a finished publication from ``out`` into ``results`` (its learning-curve runs into
    ``results/learning-curve/``) and return the copied files.

    Refuses unless every step's page is in ``out`` and every page there names one commit and a clean
    checkout: the README's tables come from one commit. Warns about pages ``nav`` does not list (the
    docs build is strict).

    Args:
        out: the ``--out`` folder of a finished ``publish.py run``.
        results: where the published pages live.
        nav: the docs configuration whose nav must list each page.
    """
    out = out.resolve()
    if not out.is_dir():
        raise SystemExit(f"--out {out} is not a folder: give the --out folder of a finished `publish.py run`")
    commits = {json.dumps(git, sort_keys=True) for git in page_records(out).values()}
    if len(commits) != 1:
        raise SystemExit(f"{out} holds pages of {len(commits)} commits/states ({sorted(commits)}): install "
                         "needs one publication, all written at one clean commit")
    git = json.loads(commits.pop())
    if not written_at(git, git.get("commit")):
        raise SystemExit(f"{out}'s pages were written from a checkout with uncommitted changes: publish again")
    missing = [s.name for s in steps() if not (out / f"{s.name}.json").is_file() or not (out / f"{s.name}.md").is_file()]
    if missing:
        raise SystemExit(f"{out} lacks the page(s) of {missing}: finish `publish.py run --out {out}` first")
    copied = []
    for source, target in ((out, results), (out / LEARNING_CURVE, results / LEARNING_CURVE)):
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith(".")):
            shutil.copy2(path, target / path.name)
            copied.append(target / path.name)
    listed = nav.read_text(encoding="utf-8") if nav.is_file() else ""
    unlisted = [p for p in copied if p.suffix == ".md" and p.parent == results
                and f"benchmarks/results/{p.name}" not in listed]
    for path in unlisted:
        print(f"[publish] warning: {path.name} is not in {nav.name}'s nav: add it (mkdocs build --strict refuses it)")
    print(f"[publish] installed {len(copied)} file(s) of commit {git['commit'][:12]} into {results}; now "
          "`python benchmarks/readme_tables.py` renders the README's tables from them")
    return copied


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="print the steps and their commands")
    r = sub.add_parser("run", help="run the steps")
    r.add_argument("steps", nargs="*", help="step names (default: all, in order)")
    r.add_argument("--out", type=Path, required=True, help="folder for the pages, outside the checkout")
    i = sub.add_parser("install", help="copy a finished publication's pages into benchmarks/results/")
    i.add_argument("--out", type=Path, required=True, help="the --out folder of the finished run")
    args = p.parse_args(argv)
    if args.cmd == "install":
        install(args.out)
        return 0
    if args.cmd == "list":
        for step in steps():
            print(f"{step.name}:\n  python {shlex.join(step.argv(Path('OUT'))[1:])}")
        return 0
    return run(args.steps, args.out)


if __name__ == "__main__":
    sys.exit(main())
