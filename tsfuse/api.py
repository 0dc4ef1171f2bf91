"""One-line entry points: pretrain, fit (one project, from the shipped model), load."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from tsfuse.data.schema import ID, MISSING_SUFFIX, CheckedPanel, covariate_columns, validate_panel
from tsfuse.data.sources.commits import COVARIATES as GIT_COVARIATES
from tsfuse.data.sources.opendigger import COVARIATES as OPENDIGGER_COVARIATES
from tsfuse.data.tasks import TaskSpec, get_task
from tsfuse.errors import PanelError
from tsfuse.estimator import Forecaster
from tsfuse.inference import COLD_START_MONTHS
from tsfuse.text.clean import prepare_readme
from tsfuse.text.versions import is_versions, merge_texts, project_readme

log = logging.getLogger(__name__)
PRETRAINED_DIR = Path(__file__).parent / "pretrained"
SHIPPED = ("oss-activity", "opendigger")
# the embedded corpus each shipped model is pretrained on (`tsfuse pretrain --corpus NAME`)
SHIPPED_CORPUS = {"oss-activity": "oss-activity-v2", "opendigger": "opendigger"}
# the covariates each shipped model was trained with: they say which source a panel came from
SOURCE_COVARIATES = {
    "oss-activity": frozenset(GIT_COVARIATES),
    "opendigger": frozenset(OPENDIGGER_COVARIATES) | {c + MISSING_SUFFIX for c in OPENDIGGER_COVARIATES},
}


def shipped_model_for(panel: pd.DataFrame, pretrained: str | Path | None = "auto") -> str | Path | None:
    """The shipped model that matches ``panel``'s covariates (``pretrained="auto"``), or ``pretrained``
    itself after checking that a shipped one fits the panel.

    A panel with OpenDigger's metrics (``from_opendigger``, or a CSV of them) gets ``opendigger``;
    one with git's (``from_git``) or with ``y`` alone gets ``oss-activity`` (commits).

    Raises:
        PanelError: covariates of both sources, or a shipped model of the other source.
    """
    columns = set(covariate_columns(panel))
    found = [name for name, known in SOURCE_COVARIATES.items() if columns & known]
    if len(found) > 1:
        raise PanelError(f"the panel mixes git covariates {sorted(columns & SOURCE_COVARIATES['oss-activity'])} and "
                         f"OpenDigger ones {sorted(columns & SOURCE_COVARIATES['opendigger'])}; keep one source's")
    source = found[0] if found else None
    if pretrained == "auto":
        if source is None:
            log.info("the panel has y alone: it is read as monthly commits (the oss-activity model); pass "
                     "pretrained='opendigger' for OpenDigger activity")
        return source or "oss-activity"
    if pretrained in SHIPPED and source is not None and pretrained != source:
        what = {"oss-activity": "monthly commits from git", "opendigger": "OpenDigger activity"}
        raise PanelError(f"the panel's covariates {sorted(columns & SOURCE_COVARIATES[source])} are {what[source]}, "
                         f"but the {pretrained!r} model forecasts {what[pretrained]}: use pretrained={source!r} "
                         "(or 'auto')")
    return pretrained


def pretrained_path(name: str) -> Path:
    """Folder of a shipped pretrained model ('oss-activity' or 'opendigger') or a user's model folder."""
    if name in SHIPPED:
        path = PRETRAINED_DIR / name
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"the shipped pretrained model {name!r} is not in {path}; build it with "
                f"`tsfuse pretrain --corpus {SHIPPED_CORPUS[name]} --out {path}`, or call fit(..., pretrained=None) "
                "to train on the project alone")
        return path
    path = Path(name)
    if not path.is_dir():
        raise FileNotFoundError(f"pretrained={name!r} is neither {SHIPPED} nor an existing model folder")
    return path


def load(path: str | Path) -> Forecaster:
    """Load a model folder saved by :meth:`Forecaster.save` (safetensors + JSON, no pickle).

    Args:
        path: the model folder.

    Raises:
        ModelFileError: a changed, foreign or unsafe folder (checksums, pickles, unknown format).
    """
    return Forecaster.load(path)


def pretrain(panel: pd.DataFrame, texts: dict[str, str] | None = None, task: str | TaskSpec = "oss-activity",
             **kwargs: Any) -> Forecaster:
    """Train a global model on many projects.

    Args:
        panel: many projects' monthly panel (``unique_id, ds, y`` + covariates).
        texts: README text per project.
        task: ``"oss-activity"``, ``"opendigger"`` or a :class:`~tsfuse.data.tasks.TaskSpec`.
        **kwargs: :meth:`Forecaster.pretrain`'s options (``preset``, ``before``, ``model``, ``train``,
            ``run``, ``text_encoder``).
    """
    return Forecaster.pretrain(panel, texts or {}, get_task(task) if isinstance(task, str) else task, **kwargs)


def _one_project(project_df: pd.DataFrame, unique_id: str | None) -> pd.DataFrame:
    if not isinstance(project_df, pd.DataFrame):
        raise TypeError(f"project_df must be a pandas DataFrame with columns ds and y, got {type(project_df).__name__}")
    df = project_df.copy()
    if ID not in df.columns:
        df.insert(0, ID, unique_id or "project")
    elif unique_id is not None:
        df[ID] = unique_id
    df = validate_panel(df)
    ids = df[ID].unique()
    if len(ids) != 1:
        raise PanelError(f"fit takes one project, got {len(ids)} ({list(ids[:3])}...); to forecast each of them "
                         "use tsfuse.forecast(panel) or `tsfuse forecast --csv FILE` (tsfuse.pretrain trains one "
                         "global model on many)")
    if len(df) < COLD_START_MONTHS:
        raise PanelError(f"project {ids[0]!r} has {len(df)} month(s) of history; a forecast needs at least "
                         f"{COLD_START_MONTHS} consecutive months (ds, y)")
    return df


def fit(project_df: pd.DataFrame, readme_text: str | bytes | pd.DataFrame | None = "", *,
        pretrained: str | Path | None = "auto",
        unique_id: str | None = None, task: str | TaskSpec | None = None, finetune: bool = True,
        **kwargs: Any) -> Forecaster:
    """A :class:`Forecaster` for one project, by default fine-tuned from the shipped model.

    Args:
        project_df: the project's months: columns ``ds``, ``y`` and optional covariates
            (``unique_id`` optional).
        readme_text: its README ('' or None: no README; bytes must be UTF-8), checked by
            :func:`tsfuse.text.clean.prepare_readme`; or its README versions (a frame with
            ``valid_from`` and ``text`` or ``embedding``, :mod:`tsfuse.text.versions`, e.g. a shipped
            corpus project's stored embeddings), each window reading the version of its origin.
        pretrained: ``'auto'`` (the shipped model matching the panel's covariates, see
            :func:`shipped_model_for`), ``'oss-activity'`` (commit counts), ``'opendigger'``
            (OpenDigger activity), a model folder, or None to train on the project alone.
        unique_id: the project's name (default: its ``unique_id`` column, else ``"project"``).
        task: the corpus rules when training alone (default ``'oss-activity'``).
        finetune: False uses the pretrained model as is.
        **kwargs: :meth:`Forecaster.finetune`'s options (or :meth:`Forecaster.pretrain`'s when training alone).

    Returns:
        The fitted forecaster; ``.predict()`` forecasts the project.

    Raises:
        TsfuseError: bad input (the cases of ``docs/errors.md``).
        TypeError: ``project_df`` not a DataFrame, or a README of another type.
    """
    if not is_versions(readme_text):
        readme_text = prepare_readme(readme_text, "readme_text")  # before the panel: fail fast on bad text
    panel = _one_project(project_df, unique_id)
    texts = project_readme(readme_text, str(panel[ID].iloc[0]))
    if pretrained is None:
        spec = get_task(task or "oss-activity") if not isinstance(task, TaskSpec) else task
        model = Forecaster.pretrain(panel, texts, spec, **kwargs)
        model.panel = panel
        return model
    pretrained = shipped_model_for(panel, pretrained)
    base = Forecaster.load(pretrained_path(str(pretrained)))
    unknown = [c for c in covariate_columns(panel) if c not in base.model_config.covariates]
    if unknown:
        log.warning("covariate(s) %s are not known to the pretrained model and are ignored; it uses %s",
                    unknown, list(base.model_config.covariates))
        panel = CheckedPanel(panel.drop(columns=unknown))  # still checked: only covariate columns go
    absent = [c for c in base.model_config.covariates if c not in panel.columns]
    if absent:
        log.info("covariate(s) %s absent: masked (the model was trained to work without them)", absent)
    if not finetune:
        base.panel, base.texts = panel, merge_texts(base.texts, texts)
        return base
    return base.finetune(panel, texts, **kwargs)
