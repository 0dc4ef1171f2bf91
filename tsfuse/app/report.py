"""`tsfuse report`: one HTML page about one project a person can look at.

The page shows the forecast of the model fine-tuned on the whole history (what :func:`tsfuse.fit`
does) as a fan chart and a table, an out-of-sample holdout check (a second model fine-tuned only
on the months before the last ``holdout_months``, forecasting rolling origins inside them; trend
and level confusion matrices, p10-p90 coverage) and the training curves. The PNGs sit next to
``index.html`` and are linked relatively, so the folder can be moved or zipped as a whole.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from tsfuse._version import __version__
from tsfuse.data.corpus import CORPUS_NAMES, load_corpus
from tsfuse.data.schema import DS, ID
from tsfuse.data.tasks import N_LEVELS, TREND_CLASSES, TaskSpec
from tsfuse.estimator import Forecaster

log = logging.getLogger(__name__)
DEFAULT_HOLDOUT = 18
FORECAST_PNG, CONFUSION_PNG, CURVES_PNG = "forecast.png", "confusion.png", "training.png"
STYLE = """
body { font-family: sans-serif; max-width: 62em; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; } td, th { padding: 0.25em 0.8em; border-bottom: 1px solid #eee; }
th { text-align: left; background: #f4f4f4; } table.forecast td, table.classes td:last-child { text-align: right; }
img { max-width: 100%; } .meta, .note { color: #555; font-size: 0.92em; } .warn { color: #8a2a0a; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""


@dataclass
class HoldoutCheck:
    """Forecasts of a model that never saw the holdout months, scored inside them."""

    start: pd.Timestamp  # first holdout month: the model was fine-tuned on months before it
    origins: list[pd.Timestamp]  # rolling origins whose whole horizon lies inside the holdout
    trend: np.ndarray  # [3, 3] counts, rows true class, columns predicted class
    level: np.ndarray  # [5, 5]
    covered: int  # holdout months whose true value lies inside the forecast p10-p90 band
    months: int  # forecast months scored (windows x horizon)
    finetune: dict  # the holdout model's fine-tuning record (Forecaster.info["finetune"])

    @property
    def windows(self) -> int:
        """Number of scored windows (one per origin for one project)."""
        return int(self.trend.sum())


def _check_holdout_months(task: TaskSpec, holdout_months: int) -> None:
    if holdout_months < task.horizon:
        raise ValueError(f"holdout_months (--holdout) must be at least the horizon, {task.horizon} months, "
                         f"to score one window; got {holdout_months}")


def holdout_length(history: pd.DataFrame, task: TaskSpec, requested: int) -> int | None:
    """The holdout the history allows: ``requested`` months, or fewer (down to one horizon) so that
    ``task.min_history`` months stay before it; None when not even that fits (no check possible)."""
    _check_holdout_months(task, requested)
    months = len(pd.date_range(history[DS].min(), history[DS].max(), freq="MS"))
    room = months - task.min_history
    if room >= requested:
        return requested
    return room if room >= task.horizon else None


def holdout_origins(history: pd.DataFrame, task: TaskSpec, holdout_months: int) -> tuple[pd.Timestamp, list]:
    """First holdout month and the origins whose whole horizon lies inside the last ``holdout_months``.

    Raises a ValueError naming what is missing when the project is too short for a check.
    """
    _check_holdout_months(task, holdout_months)
    first, last = history[DS].min(), history[DS].max()
    start = last - pd.DateOffset(months=holdout_months - 1)
    months = len(pd.date_range(first, last, freq="MS"))
    if months - holdout_months < task.min_history:
        smallest = task.min_history + task.horizon
        fix = (f"pass a smaller --holdout (from {task.horizon} to {months - task.min_history})" if months >= smallest
               else f"the smallest check needs {smallest} months; `tsfuse fit` still forecasts it")
        raise ValueError(f"{history[ID].iloc[0]} has {months} months of history; a holdout check of {holdout_months} "
                         f"months needs {task.min_history} months before it ({task.min_history + holdout_months} in "
                         f"all): {fix}")
    return start, list(pd.date_range(start, last - pd.DateOffset(months=task.horizon - 1), freq="MS"))


def holdout_check(history: pd.DataFrame, readme: str, pretrained: str | Path, origins: list) -> HoldoutCheck:
    """Fine-tune ``pretrained`` on the months before ``origins[0]`` (the holdout start) and backtest ``origins``.

    ``history`` is one validated project (columns ``unique_id``, ``ds``, ``y`` ...); ``origins``
    come from :func:`holdout_origins`. The fine-tuning uses only months before the holdout; each
    forecast's inputs only months before its origin.
    """
    from tsfuse.api import fit

    start = origins[0]
    model = fit(history[history[DS] < start], readme, pretrained=pretrained)
    windows, out = model.backtest(history, origins)
    trend = confusion_matrix(windows.trend, out["trend_proba"].argmax(1), labels=list(range(len(TREND_CLASSES))))
    level = confusion_matrix(windows.level, out["level_proba"].argmax(1), labels=list(range(N_LEVELS)))
    q = out["quantiles"]
    observed = ~np.isnan(windows.target)
    inside = (q[..., 0] <= windows.target) & (windows.target <= q[..., -1]) & observed
    return HoldoutCheck(start, list(origins), trend, level, int(inside.sum()), int(observed.sum()),
                        model.info.get("finetune", {}))


def level_names(task: TaskSpec) -> list[str]:
    """Short class names of the activity levels, e.g. ``'2: 10–<50'``."""
    return [f"{i}: {task.level_range(i).split(' ')[0]}" for i in range(N_LEVELS)]


def forecast_table_html(forecast: pd.DataFrame) -> str:
    """The month / p10 / p50 / p90 rows of one project's forecast as an HTML table."""
    table = pd.DataFrame({"month": forecast[DS].dt.strftime("%Y-%m"),
                          **{c: forecast[c] for c in ("p10", "p50", "p90")}})
    return table.to_html(index=False, border=0, classes="forecast", float_format="{:.1f}".format)


def class_table_html(forecast: pd.DataFrame, task: TaskSpec) -> str:
    """Trend and level probabilities (they describe the first 3 forecast months) as an HTML table."""
    first = forecast.iloc[0]
    rows = [("trend", name, first[f"trend_{name}"]) for name in TREND_CLASSES]
    rows += [("level", f"{i} ({task.level_range(i)})", first[f"level_{i}"]) for i in range(N_LEVELS)]
    table = pd.DataFrame(rows, columns=["head", "class", "probability"])
    table["probability"] = table["probability"].map("{:.0%}".format)
    return table.to_html(index=False, border=0, classes="classes")


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "0/0"


def pretraining_saw_holdout(model: Forecaster, start: pd.Timestamp, corpus: str | None, project: str) -> bool:
    """Whether the pretrained weights may have seen the holdout months.

    True when ``project`` comes from an embedded ``corpus`` and is one of the projects of the corpus the model
    was pretrained on (the shipped models use every project of theirs; the shipped oss-activity model is
    trained on oss-activity-v2, which holds most of oss-activity's projects), and the pretraining did not stop
    before the holdout ``start``.

    Args:
        model: the pretrained model (its task names the corpus it was trained on).
        start: the first holdout month.
        corpus: the embedded corpus the project was taken from (None: from git, CSV or OpenDigger files).
        project: the project's unique_id.
    """
    before = model.info.get("trained_on", {}).get("before")
    if corpus is None or (before is not None and pd.Timestamp(before) <= start):
        return False
    trained_on = model.task.name
    return corpus == trained_on or (trained_on in CORPUS_NAMES and project in load_corpus(trained_on).projects)


def holdout_html(check: HoldoutCheck, model: Forecaster, project: str, corpus: str | None,
                 optimistic: bool = False) -> str:
    """The holdout section: what was done, over how many windows, the matrices, and the caveats
    (``optimistic``: the pretraining saw the holdout months, see :func:`pretraining_saw_holdout`)."""
    n, last = check.windows, check.origins[-1]
    correct = int(np.trace(check.trend)), int(np.trace(check.level))
    tuned = check.finetune
    tuned_text = (f"fine-tuned on {tuned.get('windows', 0)} window(s)" if not tuned.get("skipped")
                  else "not fine-tuned (too little history before the holdout): the pretrained model as is")
    parts = [
        f"<p>A second model, {tuned_text} from months before <b>{check.start:%Y-%m}</b> only, forecast "
        f"<b>{n} rolling origins</b> {check.origins[0]:%Y-%m} .. {last:%Y-%m} (each scored on its "
        f"{check.months // n} months inside the holdout; the windows overlap). Trend right in {_pct(correct[0], n)}, level right in "
        f"{_pct(correct[1], n)}; the p10–p90 band held {_pct(check.covered, check.months)} of the true monthly "
        f"values (80% expected).</p>",
        f'<img src="{CONFUSION_PNG}" alt="trend and level confusion matrices over {n} holdout windows">',
        f'<p class="note">These are {n} windows of one project, not a benchmark: one misjudged quarter shows '
        "up in several neighbouring windows. Corpus-wide accuracy is in the model card.</p>"]
    if optimistic:
        before = model.info.get("trained_on", {}).get("before")
        seen = f"before {before}" if before else "up to the end of the corpus"
        parts.append(
            f'<p class="warn">Caveat: the pretrained model was trained on the {html.escape(model.task.name)} corpus, '
            f"months {seen}, and {html.escape(project)} is in it: the pretraining saw these holdout months, so "
            "the check is optimistic. For a clean check, pass a model pretrained before the holdout: "
            f"<code>tsfuse pretrain --corpus {html.escape(str(corpus))} --before {check.start:%Y-%m} --out DIR</code>,"
            " then <code>tsfuse report ... --pretrained DIR</code>.</p>")
    return "\n".join(parts)


def training_html(info: dict) -> str:
    """A sentence per training stage under the curves."""
    lines = []
    trained_on, pre = info.get("trained_on", {}), info.get("training", {})
    if trained_on:
        before = f"months before {trained_on['before'][:7]}" if trained_on.get("before") else "all months"
        lines.append(f"Pretraining: {trained_on.get('projects', '?')} projects, {trained_on.get('windows', '?')} "
                     f"windows ({before}), best epoch {_epoch(pre.get('best_epoch'))}"
                     + (f", then refit on all windows for {pre['refit_epochs']} epochs" if pre.get("refit_epochs")
                        else "") + ".")
    tuned = info.get("finetune", {})
    if tuned.get("skipped"):
        lines.append("Fine-tuning: skipped (too little history); the pretrained model forecasts as is.")
    elif tuned:
        verdict = ("no epoch beat the pretrained model on the project's latest windows, so the pretrained "
                   "weights were kept" if tuned.get("kept_pretrained") else
                   f"the weights of epoch {_epoch(tuned.get('best_epoch'))} were kept")
        lines.append(f"Fine-tuning on this project: {tuned.get('windows', '?')} training and "
                     f"{tuned.get('val_windows', '?')} validation windows; {verdict}.")
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def _epoch(index) -> str:
    return "?" if index is None else str(index + 1)


def _model_origin(model: Forecaster, pretrained: str) -> str:
    """How the forecasting model came about, as the page's meta line says it."""
    name = f"<code>{html.escape(pretrained)}</code>"
    tuned = model.info.get("finetune", {})
    if not tuned or tuned.get("skipped"):
        return f"the pretrained model {name} as is (too little history to fine-tune it)"
    if tuned.get("kept_pretrained"):
        return f"the pretrained model {name} (fine-tuning did not beat it on the latest months, so it was kept)"
    return f"fine-tuned from {name}"


def _holdout_section(check: HoldoutCheck | None, model: Forecaster, uid: str, corpus: str | None, note: str,
                     optimistic: bool) -> str:
    if check is None:
        return f"<h2>Holdout check</h2>\n<p>{html.escape(note)}</p>"
    months = len(pd.date_range(check.start, model.panel[DS].max(), freq="MS"))
    shortened = f"<p>{html.escape(note)}</p>\n" if note else ""
    section = holdout_html(check, model, uid, corpus, optimistic)
    return f"<h2>Holdout check: the last {months} months</h2>\n{shortened}{section}"


def render_html(model: Forecaster, forecast: pd.DataFrame, check: HoldoutCheck | None, *, source: str,
                pretrained: str, corpus: str | None = None, note: str = "", optimistic: bool = False) -> str:
    """The whole page (images referenced by file name: FORECAST_PNG, CONFUSION_PNG, CURVES_PNG);
    ``check`` None: no holdout check (``note`` says why); else ``note`` says if its holdout was shortened;
    ``optimistic``: the pretraining saw the holdout months (the page then says the check is optimistic)."""
    history, task = model.panel, model.task
    uid = str(forecast[ID].iloc[0])
    first = forecast.iloc[0]
    level = int(first["level"])
    trend_p = ", ".join(f"{name} {first[f'trend_{name}']:.0%}" for name in TREND_CLASSES)
    title = f"tsfuse report: {uid}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">{html.escape(source)}; {len(history)} months of history ({history[DS].min():%Y-%m} ..
{history[DS].max():%Y-%m}); target: {html.escape(task.target)} per month; {_model_origin(model, pretrained)};
tsfuse {__version__}.</p>

<h2>Forecast: the next {len(forecast)} months</h2>
<p>Over the next 3 months activity is most likely <b>{first['trend']}</b> ({trend_p}) at level
<b>{level}</b>, {html.escape(task.level_range(level))} ({first[f'level_{level}']:.0%}).</p>
<img src="{FORECAST_PNG}" alt="fan chart: history and the p10-p90 forecast band">
{forecast_table_html(forecast)}
{class_table_html(forecast, task)}

{_holdout_section(check, model, uid, corpus, note, optimistic)}

<h2>Training</h2>
<img src="{CURVES_PNG}" alt="training and validation loss per epoch">
{training_html(model.info)}

<h2>Model</h2>
<pre>{html.escape(model.summary())}</pre>
</body></html>
"""


def write_report(history: pd.DataFrame, readme: str, out_dir: str | Path, *,
                 pretrained: str | Path = "auto", holdout_months: int = DEFAULT_HOLDOUT,
                 source: str = "", corpus: str | None = None) -> Path:
    """Fit the project, run the holdout check, write ``out_dir/index.html`` and its PNGs; return the page path.

    ``history`` is one project's panel (``ds``, ``y``, optional ``unique_id`` and covariates);
    ``corpus`` names the embedded corpus it comes from (None for a git repository or a CSV), so the
    page can say whether the pretrained model saw its holdout months.
    """
    from tsfuse.api import fit, shipped_model_for
    from tsfuse.app.plots import confusion_matrices, fan_chart, training_curves

    base = fit(history, readme, pretrained=pretrained, finetune=False)  # validates; fails fast on a short history
    pretrained = shipped_model_for(base.panel, pretrained)  # "auto" -> the model it picked, named on the page
    months = len(base.panel)
    holdout, note = holdout_length(base.panel, base.task, holdout_months), ""
    if holdout is None:
        note = (f"No holdout check: the project has {months} months of history, and a check needs "
                f"{base.task.min_history} months before a holdout of at least {base.task.horizon}.")
    elif holdout < holdout_months:
        note = (f"The holdout is {holdout} months instead of the {holdout_months} asked for, so that "
                f"{base.task.min_history} of the project's {months} months stay before it.")
    if note:
        log.warning("report of %s: %s", base.panel[ID].iloc[0], note)
    model = fit(base.panel, readme, pretrained=pretrained)
    check = None if holdout is None else holdout_check(model.panel, readme, pretrained,
                                                       holdout_origins(model.panel, model.task, holdout)[1])
    uid = str(model.panel[ID].iloc[0])
    optimistic = check is not None and pretraining_saw_holdout(model, check.start, corpus, uid)
    if optimistic:
        log.warning("holdout check of %s: the pretrained model was trained on %s months from %s on, so the "
                    "confusion matrices are optimistic (the page says so)", uid, model.task.name,
                    f"{check.start:%Y-%m}")
    forecast = model.predict()
    out = Path(out_dir)
    fan_chart(model.panel, forecast, out / FORECAST_PNG, task=model.task)
    if check is not None:
        confusion_matrices([("trend", check.trend, TREND_CLASSES), ("level", check.level, level_names(model.task))],
                           out / CONFUSION_PNG)
    training_curves(model.info, out / CURVES_PNG)
    page = out / "index.html"
    page.write_text(render_html(model, forecast, check, source=source or "project", pretrained=str(pretrained),
                                corpus=corpus, note=note, optimistic=optimistic), encoding="utf-8")
    return page
