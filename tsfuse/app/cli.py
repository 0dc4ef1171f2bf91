"""Command line: `tsfuse data build|show|check`, `tsfuse pretrain`, `tsfuse fit`, `tsfuse predict`, `tsfuse report`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import pandas as pd

from tsfuse._version import __version__
from tsfuse.data.corpus import EMBEDDED_ROOT
from tsfuse.data.schema import DS, ID, PanelError, Y
from tsfuse.nn.towers import tower_names
from tsfuse.text.versions import is_versions, project_readme, texts_for


def _corpus_project(corpus: str, project: str):
    from tsfuse.data.corpus import load_corpus

    c = load_corpus(corpus)
    panel = c.panel[c.panel[ID] == project]
    if panel.empty:
        close = [p for p in c.projects if project.split("/")[-1].lower() in p.lower()][:5]
        raise PanelError(f"project {project!r} is not in the {corpus} corpus"
                         + (f"; did you mean {close}?" if close else ""))
    readme = texts_for(c.texts, project)  # stored embeddings (a versions frame) or the raw corpus's text
    return c, panel.reset_index(drop=True), readme if is_versions(readme) else readme[project]


BULK_FLAGS = ("engine", "workers", "scheduler", "kind", "snapshot", "embed")


def cmd_data_build(args) -> None:
    from tsfuse.data.build import build

    if args.repos:
        return cmd_data_build_list(args)
    given = [f"--{k}" for k in BULK_FLAGS if getattr(args, k) is not None]
    if given:
        raise ValueError(f"{', '.join(given)} can only be used with --repos LIST (a build from many repositories)")
    out = Path(args.out) if args.out else EMBEDDED_ROOT
    for name, manifest in build(Path(args.shared), out).items():
        counts, size = manifest["counts"], sum(f["bytes"] for f in manifest["files"].values())
        print(f"{name}: {counts['projects']} projects, {counts['project_months']} project-months "
              f"({counts['first_month']}..{counts['last_month']}), {size / 1e6:.2f} MB -> {out / name}")


def cmd_data_build_list(args) -> None:
    from tsfuse.data.sources.bulk import FAILURES_FILE, build_bulk

    if not args.out:
        raise ValueError("--out DIR is required with --repos (where the partitioned Parquet build goes)")
    s = build_bulk(args.repos, args.out, kind=args.kind or "git", engine=args.engine or "local",
                   workers=args.workers or os.cpu_count() or 1, scheduler=args.scheduler, snapshot=args.snapshot,
                   embed=args.embed)
    print(f"{s.sources} sources: {s.built} built, {s.skipped} already done, {s.failed} failed "
          f"in {s.seconds:.1f} s -> {s.out}")
    if s.failed:
        print(f"failures: {s.out / FAILURES_FILE}")
    if s.embedded is not None:
        print(f"embedded {s.embedded} READMEs")


def cmd_data_show(args) -> None:
    from tsfuse.app.plots import sparkline

    _, panel, text = _corpus_project(args.corpus, args.project)
    tail = panel.tail(args.months)
    print(f"{args.project} ({args.corpus}): {len(panel)} months, {panel[DS].min():%Y-%m} .. {panel[DS].max():%Y-%m}")
    print(f"y, last {len(tail)} months: {sparkline(tail[Y])}  (max {tail[Y].max():g})")
    shown = tail.assign(**{DS: tail[DS].dt.strftime("%Y-%m")}).drop(columns=[ID])
    print(shown.tail(12).to_string(index=False))
    if is_versions(text):
        print(f"README: {int(text['present'].sum())} stored version(s) (embeddings; the corpus ships no README text)")
    elif text:
        print(f"README: {len(text):,} characters")


def cmd_data_check(args) -> None:
    from tsfuse.data.corpus import load_corpus
    from tsfuse.data.corpus import quality_report
    from tsfuse.data.quality import format_quality_report

    report = quality_report(load_corpus(args.corpus))
    print(format_quality_report(report))
    if args.csv:
        report.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")


def cmd_pretrain(args) -> None:
    from tsfuse.data.corpus import load_corpus
    from tsfuse.estimator import Forecaster

    from lightning.pytorch.utilities import rank_zero_only

    from tsfuse.config import corpus_recipe

    c = load_corpus(args.corpus)
    recipe = corpus_recipe(c.task.name) if args.recipe == "corpus" else {"model": {}, "train": {}}
    if any(recipe.values()) and rank_zero_only.rank == 0:
        print(f"recipe of {c.task.name}: model {recipe['model']}, train {recipe['train']} (--recipe none: the preset "
              "alone)", file=sys.stderr)
    train = {**recipe["train"], **({"max_epochs": args.max_epochs} if args.max_epochs else {})}
    train.update({k: getattr(args, k) for k in ("accelerator", "devices", "strategy", "num_nodes", "log_dir")
                  if getattr(args, k) is not None})
    if args.resume:
        if not args.log_dir:
            raise ValueError("--resume needs --log-dir, the folder of the interrupted run's checkpoints")
        train["resume"] = True
    model = {**recipe["model"], **({"temporal": args.temporal} if args.temporal else {})}
    f = Forecaster.pretrain(c.panel, c.texts, c.task, preset=args.preset, before=args.before, model=model, train=train)
    if rank_zero_only.rank == 0:  # under DDP every process gets here with the same weights; one saves
        print(f.summary())
        print(f"saved to {f.save(args.out)}")


def _project_input(args):
    """(panel, readme) from --project/--corpus, --git, --opendigger or --csv."""
    if args.git:
        from tsfuse.data.sources.git import from_git

        return from_git(args.git, until=args.until, unique_id=args.unique_id)
    if args.opendigger:
        from tsfuse.data.sources.opendigger import from_opendigger

        return from_opendigger(args.opendigger, unique_id=args.unique_id)
    if args.csv:
        from tsfuse.text.clean import prepare_readme

        panel = pd.read_csv(args.csv)
        readme = prepare_readme(Path(args.readme).read_bytes(), f"--readme {args.readme}") if args.readme else ""
        return panel, readme
    _, panel, readme = _corpus_project(args.corpus, args.project)
    return panel, readme


FORMATS = ("table", "csv", "json")
TABLE_COLUMNS = [ID, DS, "p10", "p50", "p90", "trend", "trend_down", "trend_flat", "trend_up", "level", "level_label"]


def _print_forecast(forecast: pd.DataFrame, history: pd.DataFrame, plot: str | None, task, fmt: str = "table") -> None:
    """The forecast on stdout as a table, CSV or JSON records (nothing else goes to stdout: messages,
    logs and progress bars are on stderr); ``plot``: a fan chart PNG."""
    from tsfuse.app.plots import fan_chart

    if fmt == "table":
        show = forecast.assign(**{DS: forecast[DS].dt.strftime("%Y-%m")})
        columns = [c for c in (*TABLE_COLUMNS[:2], "cutoff", "y", *TABLE_COLUMNS[2:], "trend_true", "level_true")
                   if c in show.columns]
        if "cutoff" in show.columns:
            show["cutoff"] = show["cutoff"].dt.strftime("%Y-%m")
        print(show[columns].round(3).to_string(index=False))
    else:
        tidy = forecast.assign(**{c: forecast[c].dt.strftime("%Y-%m-%d") for c in (DS, "cutoff") if c in forecast})
        if fmt == "csv":
            tidy.to_csv(sys.stdout, index=False, float_format="%.6g")
        else:
            print(tidy.to_json(orient="records", double_precision=6))
    if plot:
        _say(f"fan chart: {fan_chart(history, forecast, plot, task=task)}")


def _say(message: str) -> None:
    """A message for the person at the terminal: stderr, so stdout stays the data."""
    print(message, file=sys.stderr)


def cmd_fit(args) -> None:
    from tsfuse.api import fit

    panel, readme = _project_input(args)
    model = fit(panel, readme, pretrained=None if args.pretrained == "none" else args.pretrained)
    forecast = model.predict()
    _print_forecast(forecast, model.panel, args.plot, model.task, args.format)
    if args.out:
        _say(f"model saved to {model.save(args.out)}")


def cmd_predict(args) -> None:
    from tsfuse.api import load

    model = load(args.model)
    if args.git or args.csv or args.project or args.opendigger:
        panel, readme = _project_input(args)
        if ID not in panel.columns:
            panel.insert(0, ID, "project")
        texts = project_readme(readme, str(panel[ID].iloc[0])) if len(panel) else {}
        forecast = model.predict(panel, texts)
    else:
        panel = model.panel
        forecast = model.predict()
    _print_forecast(forecast, panel, args.plot, model.task, args.format)


def cmd_forecast(args) -> None:
    from tsfuse.portfolio import forecast

    panel, texts, repos = None, None, None
    if args.csv:
        panel = pd.read_csv(args.csv)
    elif args.corpus:
        from tsfuse.data.corpus import load_corpus

        corpus = load_corpus(args.corpus)
        panel, texts = corpus.panel, corpus.texts
    else:
        lines = Path(args.repos).read_text(encoding="utf-8").splitlines()
        repos = [str(Path(args.repos).parent / s.strip()) for s in lines if s.strip() and not s.startswith("#")]
    table = forecast(panel, texts, repos=repos, pretrained=args.pretrained, finetune=not args.no_finetune,
                     engine=args.engine, workers=args.workers, scheduler=args.scheduler, out=args.out)
    failures = table.attrs.get("failures", {})
    if table.empty:
        raise ValueError(f"no project could be forecast: {failures}")
    _print_forecast(table, pd.DataFrame(), None, None, args.format)
    if failures:
        _say(f"{len(failures)} project(s) failed: " + "; ".join(f"{k}: {v}" for k, v in sorted(failures.items())[:10]))


def cmd_backtest(args) -> None:
    from tsfuse.api import fit
    from tsfuse.data.schema import validate_panel
    from tsfuse.inference import latest_origins

    panel, readme = _project_input(args)
    if ID not in panel.columns:
        panel.insert(0, ID, args.unique_id or "project")
    panel = validate_panel(panel)
    if args.origins:
        origins = [pd.Timestamp(f"{o}-01") for o in args.origins.split(",")]
    else:  # the horizon is the pretrained model's
        horizon = fit(panel, readme, pretrained=args.pretrained, finetune=False).task.horizon
        origins = latest_origins(panel, horizon, args.n_windows, args.step_size)
    # fitted (fine-tuned) on the months before the first origin only: no forecast sees its own targets
    model = fit(panel[panel[DS] < min(origins)], readme, pretrained=args.pretrained)
    table = model.cross_validation(panel, origins=origins, texts=project_readme(readme, str(panel[ID].iloc[0])))
    _print_forecast(table, panel, None, model.task, args.format)


def cmd_report(args) -> None:
    from tsfuse.app.report import write_report

    if args.name and (args.project or args.git or args.csv or args.opendigger):
        raise ValueError(f"give the project once: OWNER/NAME ({args.name}) or --project, --git or --csv")
    args.project = args.project or args.name
    if not (args.project or args.git or args.csv or args.opendigger):
        raise ValueError("which project? give OWNER/NAME, --git PATH or --csv FILE")
    panel, readme = _project_input(args)
    source = (f"{args.project} from the embedded {args.corpus} corpus" if args.project
              else f"git repository {args.git}" if args.git
              else f"OpenDigger folder {args.opendigger}" if args.opendigger else f"CSV file {args.csv}")
    page = write_report(panel, readme, args.out, pretrained=args.pretrained, holdout_months=args.holdout,
                        source=source, corpus=args.corpus if args.project else None)
    print(f"report: {page}")


def _add_project_args(p: argparse.ArgumentParser, required: bool, plot: bool = True) -> None:
    src = p.add_mutually_exclusive_group(required=required)
    src.add_argument("--project", help="OWNER/NAME of a project in the embedded corpus")
    src.add_argument("--git", help="path to a local git repository")
    src.add_argument("--opendigger", metavar="FOLDER", help="an OpenDigger project folder (<owner>/<repo>/ of metric JSONs)")
    src.add_argument("--csv", help="CSV with columns ds, y (+ covariates)")
    p.add_argument("--until", metavar="YYYY-MM", help="with --git: the last month of the series (default: the "
                   "last complete month before the clone's last update)")
    p.add_argument("--name", dest="unique_id", metavar="OWNER/NAME",
                   help="with --git: the project's name (default: from the origin remote URL, else the folder)")
    p.add_argument("--readme", help="README file to go with --csv")
    p.add_argument("--corpus", default="oss-activity", help="embedded corpus for --project (default oss-activity)")
    if plot:
        p.add_argument("--plot", help="write a fan-chart PNG here")
        p.add_argument("--format", choices=FORMATS, default="table",
                       help="forecast on stdout as a table (default), csv or json; logs and progress go to stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tsfuse", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--version", action="version", version=f"tsfuse {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="build, show and check the embedded corpora").add_subparsers(
        dest="data_command", required=True)
    p = data.add_parser("build", help="rebuild the embedded corpora from the raw corpus folders")
    p.add_argument("--shared", default="../shared/data", help="folder holding oss-activity/ and opendigger/")
    p.add_argument("--out", help="output folder (default: the package's embedded corpora; required with --repos)")
    p.add_argument("--repos", help="instead: build panels of the repositories listed in this file (one path a line; "
                                   "git clones or OpenDigger <owner>/<repo>/ folders) into --out, resumably")
    p.add_argument("--engine", choices=["local", "dask"], help="with --repos: local processes (default) or dask")
    p.add_argument("--workers", type=_positive_int, help="with --repos: parallel workers (default: CPU count)")
    p.add_argument("--scheduler", help="with --repos --engine dask: address of a running dask scheduler")
    p.add_argument("--kind", choices=["git", "opendigger"], help="with --repos: what the sources are (default git)")
    p.add_argument("--snapshot", help="with --repos: cut git months at this date (default: now, at the first run)")
    p.add_argument("--embed", nargs="?", const="default",
                   help="with --repos: also embed the READMEs (default encoder, or this model name or folder)")
    p.set_defaults(func=cmd_data_build)
    p = data.add_parser("show", help="a small table and a sparkline of one project")
    p.add_argument("project", help="OWNER/NAME")
    p.add_argument("--corpus", default="oss-activity")
    p.add_argument("--months", type=_positive_int, default=24)
    p.set_defaults(func=cmd_data_show)
    p = data.add_parser("check", help="data-quality report of a corpus")
    p.add_argument("--corpus", default="oss-activity")
    p.add_argument("--csv", help="also write the report as CSV")
    p.set_defaults(func=cmd_data_check)

    p = sub.add_parser("pretrain", help="train a global model on a corpus and save it")
    p.add_argument("--corpus", default="oss-activity")
    p.add_argument("--out", required=True)
    p.add_argument("--preset", default="balanced", choices=["light", "balanced", "high"])
    p.add_argument("--recipe", default="corpus", choices=["corpus", "none"],
                   help="corpus (default): the corpus's benchmarked settings on top of the preset "
                        "(tsfuse.config.CORPUS_RECIPES); none: the preset alone")
    p.add_argument("--temporal", choices=tower_names())
    p.add_argument("--before", help="train only on months before this YYYY-MM")
    p.add_argument("--max-epochs", type=_positive_int)
    p.add_argument("--accelerator", help="cpu (default), gpu, auto (GPUs when present), ... (Lightning Trainer)")
    p.add_argument("--devices", type=_devices, help="devices per node: a count, 'auto' or a list like 0,1 (default 1)")
    p.add_argument("--strategy", help="e.g. ddp for several devices or nodes (default auto); see docs/scaling.md")
    p.add_argument("--num-nodes", type=_positive_int, help="machines taking part (default 1)")
    p.add_argument("--log-dir", help="keep logs and checkpoints here (default: a temporary folder)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from --log-dir's checkpoints "
                                                         "(finished phases are not trained again)")
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("fit", help="fit one project (from the shipped model) and print its forecast")
    _add_project_args(p, required=True)
    p.add_argument("--pretrained", default="auto",
                   help="auto (default: the shipped model matching the data's covariates) | oss-activity | "
                        "opendigger | model folder | none")
    p.add_argument("--out", help="save the fitted model here")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("forecast", help="forecast many projects (each fitted from the shipped model) into one table")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", help="CSV of many projects: columns unique_id, ds, y (+ covariates)")
    src.add_argument("--repos", help="file listing local git repositories, one path a line")
    src.add_argument("--corpus", help="every project of an embedded corpus (oss-activity, opendigger)")
    p.add_argument("--pretrained", default="auto", help="auto (default: by each project's data) | oss-activity | "
                                                        "opendigger | model folder")
    p.add_argument("--no-finetune", action="store_true", help="use the pretrained model as is (much faster)")
    p.add_argument("--engine", choices=["local", "dask"], default="local", help="local processes (default) or dask")
    p.add_argument("--workers", type=_positive_int, default=1, help="parallel workers (default 1)")
    p.add_argument("--scheduler", help="with --engine dask: address of a running dask scheduler")
    p.add_argument("--out", help="keep each project's forecast here; a re-run skips the finished ones")
    p.add_argument("--format", choices=FORMATS, default="table", help="stdout as a table (default), csv or json")
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser("backtest", help="backtest one project: forecasts at past origins next to what happened")
    _add_project_args(p, required=True, plot=False)
    p.add_argument("--n-windows", type=_positive_int, default=3, help="the latest N origins (default 3)")
    p.add_argument("--step-size", type=_positive_int, default=1, help="months between those origins (default 1)")
    p.add_argument("--origins", help="comma-separated YYYY-MM origins instead of --n-windows")
    p.add_argument("--pretrained", default="auto", help="auto (default) | oss-activity | opendigger | model folder")
    p.add_argument("--format", choices=FORMATS, default="table", help="stdout as a table (default), csv or json")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("predict", help="forecast with a saved model")
    p.add_argument("--model", required=True, help="model folder")
    _add_project_args(p, required=False)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("report", help="an HTML page: forecast fan chart and table, holdout confusion matrices, "
                                      "training curves")
    p.add_argument("name", nargs="?", metavar="OWNER/NAME", help="a project of the embedded corpus (or --git/--csv)")
    _add_project_args(p, required=False, plot=False)
    p.add_argument("--pretrained", default="auto",
                   help="auto (default: the shipped model matching the data's covariates) | oss-activity | "
                        "opendigger | model folder")
    p.add_argument("--holdout", type=int, default=18,
                   help="months at the end held out for the confusion matrices (default 18, at least 6)")
    p.add_argument("--out", default="tsfuse-report", help="folder for index.html and its PNGs (default tsfuse-report)")
    p.set_defaults(func=cmd_report)
    return parser


def _devices(text: str) -> int | str:
    """argparse type for --devices: an integer count, else Lightning's string forms ('auto', '0,1')."""
    return int(text) if text.lstrip("-").isdigit() else text


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "readme", None) and not args.csv:
        parser.error("--readme goes with --csv (a git repository or corpus project brings its own README)")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        args.func(args)
    except (PanelError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
