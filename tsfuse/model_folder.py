"""What a saved forecaster's folder holds, on top of :mod:`tsfuse.io.persistence`'s safe format:
the weights, a config (versions, architecture, training settings, task, what training did), the
fitted project's panel (``history.csv``) and its README texts (``texts.json``). Run settings are not
saved; README texts only for the fitted panel's projects, not the training corpus."""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from tsfuse._version import __version__
from tsfuse.config import ModelConfig, TrainConfig
from tsfuse.data.schema import DS, ID, ensure_checked
from tsfuse.data.tasks import TaskSpec
from tsfuse.errors import ModelFileError
from tsfuse.io.persistence import load_model, save_model
from tsfuse.text.versions import ID_COLUMN, is_versions

PANEL_FILE, TEXTS_FILE = "history.csv", "texts.json"  # file names of format 1 and 2, kept


@dataclass
class FolderContents:
    """Everything a forecaster is rebuilt from."""

    model: ModelConfig
    task: TaskSpec
    train: TrainConfig
    state: dict[str, torch.Tensor]
    panel: pd.DataFrame | None
    texts: dict[str, str] | pd.DataFrame  # a versions frame is saved as each project's latest text
    info: dict[str, Any]


def latest_texts(texts: dict[str, str] | pd.DataFrame, projects: list[str]) -> dict[str, str]:
    """README text per project of ``projects``; of a versions frame the latest (what a forecast after
    the history's end reads). Versions stored as embeddings only have no text to keep."""
    if not is_versions(texts):
        return {u: texts[u] for u in projects if u in texts}
    if "text" not in texts.columns:
        return {}
    latest = texts[texts[ID_COLUMN].isin(projects)].groupby(ID_COLUMN, sort=True)["text"].last()
    return {str(u): str(t) for u, t in latest.items()}


def write_folder(directory: str | Path, contents: FolderContents) -> Path:
    """Save ``contents`` atomically as safetensors + JSON (+ the panel as CSV); returns the folder."""
    panel = contents.panel
    kept = {} if panel is None else latest_texts(contents.texts, [str(u) for u in panel[ID].unique()])
    extra = {TEXTS_FILE: json.dumps(kept, sort_keys=True).encode()}
    if panel is not None:
        extra[PANEL_FILE] = panel.to_csv(index=False, date_format="%Y-%m-%d").encode()
    config = {"tsfuse_version": __version__, "model": contents.model.to_dict(), "train": contents.train.to_dict(),
              "task": asdict(contents.task), "info": contents.info}
    return save_model(directory, contents.state, config, extra)


def read_folder(directory: str | Path) -> FolderContents:
    """The contents of a folder written by :func:`write_folder` (checksums verified, never unpickles;
    folders saved by tsfuse 0.1.0 read too).

    Raises:
        ModelFileError: an unsafe or changed folder, or a config this tsfuse cannot use.
    """
    state, config, extra = load_model(directory)
    try:
        task = TaskSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in config["task"].items()})
        panel = None
        if PANEL_FILE in extra:
            panel = pd.read_csv(io.BytesIO(extra[PANEL_FILE]), parse_dates=[DS])
            panel = ensure_checked(panel.assign(**{ID: panel[ID].astype(str)}))
        return FolderContents(ModelConfig.from_dict(config["model"]), task, TrainConfig.from_dict(config["train"]),
                              state, panel, json.loads(extra.get(TEXTS_FILE, b"{}")), config.get("info", {}))
    except (KeyError, TypeError, ValueError) as exc:  # a config this tsfuse cannot use
        raise ModelFileError(
            f"{directory} was saved by tsfuse {config.get('tsfuse_version', '(unknown)')} and does not fit "
            f"tsfuse {__version__}: {type(exc).__name__}: {exc}. Re-save it with this tsfuse, or install "
            "the one that saved it") from None
