"""Forecast many projects at once (the portfolio a foundation or OSPO follows): each project fitted
from the shipped model (fine-tuned on its own months), in parallel, resumably, into one tidy frame.

:func:`forecast` takes a panel of many projects (and their READMEs) or git repositories; every
project is an independent task on an engine of :mod:`tsfuse.io.parallel` (``local`` processes or
``dask``). With ``out``, each finished project's forecast is written to ``out/<name>.csv``
atomically, and a re-run skips those: a killed run resumes where it stopped. A project that fails
is logged with its error and listed in the result's ``attrs["failures"]``; the others go on.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from tsfuse.api import fit
from tsfuse.data.schema import DS, ID, ensure_checked
from tsfuse.data.sources.repository import check_repository, guess_id
from tsfuse.io.atomic import atomic_write
from tsfuse.io.parallel import check_engine, run_tasks
from tsfuse.text.clean import prepare_texts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Project:
    """One task: a project's panel and README, or a git repository read in the worker."""

    name: str
    panel: pd.DataFrame | None = None
    readme: str = ""
    git: str | None = None

    @property
    def file_name(self) -> str:
        key = hashlib.sha1(self.name.encode("utf-8")).hexdigest()[:10]
        return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', self.name)[:60]}-{key}.csv"


def forecast(panel: pd.DataFrame | None = None, texts: dict[str, str] | None = None, *,
             repos: list[str | Path] | None = None, pretrained: str | Path = "auto", finetune: bool = True,
             engine: str = "local", workers: int = 1, scheduler: str | None = None,
             out: str | Path | None = None, progress: bool = True, **fit_kwargs: Any) -> pd.DataFrame:
    """Forecast every project of ``panel`` (and/or every git repository of ``repos``).

    Args:
        panel: many projects' monthly panel (``unique_id, ds, y`` + covariates), checked once here.
        texts: README text per project of ``panel``.
        repos: paths of local git repositories (bare snapshots too), read with :func:`tsfuse.data.from_git`.
        pretrained: as in :func:`tsfuse.fit` (``"auto"``: the shipped model matching each project's data).
        finetune: fine-tune the pretrained model on each project (False: use it as is, much faster).
        engine: ``"local"`` (processes) or ``"dask"``; ``workers`` processes, or the cluster at ``scheduler``.
        workers: parallel workers.
        scheduler: a running dask scheduler's address (``engine="dask"``).
        out: a folder for the per-project forecasts; a re-run skips the projects found there.
        progress: show a progress bar (on stderr).
        **fit_kwargs: more :func:`tsfuse.fit` options (e.g. ``max_epochs``).

    Returns:
        One frame: :meth:`tsfuse.Forecaster.predict`'s columns for every project that succeeded, sorted
        by ``unique_id, ds``; ``attrs["failures"]`` maps each failed project to its error.
    """
    check_engine(engine, workers, scheduler)
    projects = _projects(panel, texts, repos)
    folder = Path(out) if out is not None else None
    done = {p.name: _read(folder / p.file_name) for p in projects if folder and (folder / p.file_name).is_file()}
    todo = [p for p in projects if p.name not in done]
    if done:
        log.info("%d of %d project(s) already forecast in %s; forecasting the other %d", len(done), len(projects),
                 folder, len(todo))
    failures: dict[str, str] = {}
    options = {"pretrained": pretrained, "finetune": finetune, "out": str(folder) if folder else None, **fit_kwargs}
    bar = tqdm(total=len(todo), desc="forecast", unit="project", disable=not progress)
    for project, table, error in run_tasks(forecast_project, todo, engine=engine, workers=workers,
                                           scheduler=scheduler, **options):
        if error is None:
            done[project.name] = table
        else:
            failures[project.name] = f"{type(error).__name__}: {error}"
            log.error("forecast of %s failed: %s", project.name, failures[project.name])
        bar.update(1)
    bar.close()
    if failures:
        log.warning("%d of %d project(s) failed (see attrs['failures']): %s", len(failures), len(projects),
                    sorted(failures)[:5])
    frames = [done[p.name] for p in projects if p.name in done]
    result = (pd.concat(frames, ignore_index=True).sort_values([ID, DS], kind="stable").reset_index(drop=True)
              if frames else pd.DataFrame(columns=[ID, DS]))
    result.attrs["failures"] = failures
    return result


def forecast_project(project: Project, *, pretrained: str | Path, finetune: bool, out: str | None,
                     **fit_kwargs: Any) -> pd.DataFrame:
    """One project's forecast table (written to ``out`` when given); runs in a worker."""
    panel, readme = project.panel, project.readme
    if project.git is not None:
        from tsfuse.data.sources.git import from_git

        panel, readme = from_git(project.git)
    model = fit(panel, readme, pretrained=pretrained, finetune=finetune, unique_id=project.name, **fit_kwargs)
    table = model.predict()
    if out is not None:
        atomic_write(Path(out) / project.file_name, lambda tmp: table.to_csv(tmp, index=False, date_format="%Y-%m-%d"))
    return table


def _projects(panel: pd.DataFrame | None, texts: dict[str, str] | None,
              repos: list[str | Path] | None) -> list[Project]:
    if panel is None and not repos:
        raise ValueError("give a panel of projects, repos=[paths of git repositories], or both")
    projects = []
    if panel is not None:
        checked, readmes = ensure_checked(panel), prepare_texts(texts)
        for uid, rows in checked.groupby(ID, sort=True):
            projects.append(Project(str(uid), rows.drop(columns=[ID]).reset_index(drop=True), readmes.get(str(uid), "")))
    for path in repos or []:
        projects.append(Project(guess_id(check_repository(path)), git=str(path)))
    names = [p.name for p in projects]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"project name(s) {repeated[:5]} appear more than once (a panel project and a repository "
                         "with the same owner/name?); give each project once")
    return projects


def _read(path: Path) -> pd.DataFrame:
    table = pd.read_csv(io.StringIO(path.read_text(encoding="utf-8")), parse_dates=[DS])
    table[ID] = table[ID].astype(str)
    return table
