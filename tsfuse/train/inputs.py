"""From a checked panel and README texts to the network's named input arrays: windows, time splits, text vectors."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsfuse.config import ModelConfig, TrainConfig
from tsfuse.data.features import build_inputs
from tsfuse.data.schema import DS, ID
from tsfuse.data.tasks import TaskSpec
from tsfuse.data.windows import WindowSet, make_windows
from tsfuse.text.cache import text_digest
from tsfuse.text.versions import check_text_model, is_versions, version_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimeSplit:
    """Training windows of a time split: ``train`` sees only months before ``validation``'s origins
    (and, with held-out projects, none of theirs); ``every`` is every window (the refit's)."""

    train: WindowSet
    validation: WindowSet
    every: WindowSet


class InputBuilder:
    """Windows and input arrays for one model: its context length, covariates, task rules and text encoder.

    Args:
        model_config: the network's architecture (context length, covariates, text model).
        task: the corpus rules (horizon, label rules, minimum history).
        encoder: a callable giving the frozen text encoder (loaded on first use), or None without text tower.
    """

    def __init__(self, model_config: ModelConfig, task: TaskSpec, encoder) -> None:
        self.model_config = model_config
        self.task = task
        self._encoder = encoder

    def windows(self, panel: pd.DataFrame, origins=None, **kwargs) -> WindowSet:
        """:func:`~tsfuse.data.windows.make_windows` for this model, on an already checked panel."""
        covariates = [c for c in self.model_config.covariates if c in panel.columns]
        return make_windows(panel, self.task, origins, context_length=self.model_config.context_length,
                            covariates=covariates, validate=False, **kwargs)

    def time_split(self, panel: pd.DataFrame, before, val_months: int, train: TrainConfig,
                   val_projects: float = 0.0) -> TimeSplit:
        """Training windows before ``before`` (default: after the last month), split by time.

        Validation windows have their origin in the last ``val_months`` months; training windows see
        only months before those (their targets are cut there, partly observed targets count). A
        window needs ``train.min_history`` months of context and one observed target month.

        Args:
            panel: a checked panel.
            before: the cut-off (None: after the last month).
            val_months: the validation origins' months.
            train: the window rules (stride, minimum history).
            val_projects: share of the projects (:func:`held_out_projects`) whose windows validate and
                never train; the others' windows train and never validate (0: every project does both).
        """
        end = pd.Timestamp(before) if before is not None else panel[DS].max() + pd.offsets.MonthBegin(1)
        val_start = end - pd.DateOffset(months=max(val_months, 0))
        kw = {"stride": train.stride, "min_history": train.min_history, "min_target": 1}
        every = self.windows(panel, before=end, **kw)
        fit = self.windows(panel, before=val_start, **kw)
        validation = every.subset(every.origin >= np.datetime64(val_start, "M"))
        held = held_out_projects(panel[ID].unique(), val_projects) if val_projects > 0 else []
        if len(held):
            fit, validation = fit.subset(~np.isin(fit.unique_id, held)), validation.subset(np.isin(validation.unique_id, held))
        return TimeSplit(fit, validation, every)

    def arrays(self, windows: WindowSet, texts: dict[str, str] | pd.DataFrame) -> dict[str, np.ndarray]:
        """The named input arrays of ``windows`` (see :func:`~tsfuse.data.features.build_inputs`).

        ``texts``: one README per project (``{unique_id: text}``, the same for every window), or a
        versions frame (:mod:`tsfuse.text.versions`): each window reads its project's latest version
        known before its origin.
        """
        if is_versions(texts):
            vectors, present = self._versioned_vectors(windows, texts)
        else:
            vectors, present = self._text_vectors(windows.unique_id, texts)
        return build_inputs(windows, self.model_config.covariates, vectors, present, self.model_config.centre)

    def _versioned_vectors(self, windows: WindowSet, versions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each window's README vector from the version it may read (none: the no-text vector)."""
        n, dim = len(windows), self.model_config.text_dim
        vectors, present = np.zeros((n, dim), np.float32), np.zeros(n, np.float32)
        if not self.model_config.text_model or n == 0:
            return vectors, present
        rows = version_rows(versions, windows.unique_id, windows.origin.astype("datetime64[M]"))
        used = rows >= 0
        if "embedding" in versions.columns:
            check_text_model(versions, self.model_config.text_model)
            stored = np.stack([np.asarray(e, np.float32) for e in versions["embedding"].to_numpy()[rows[used]]]) \
                if used.any() else np.zeros((0, dim), np.float32)
            if stored.shape[1:] != (dim,):
                raise ValueError(f"stored README embeddings are {stored.shape[1:]}-dim; this model reads {dim}-dim "
                                 f"vectors of {self.model_config.text_model!r}")
            vectors[used] = stored
            flags = versions["present"].to_numpy(bool) if "present" in versions.columns else np.ones(len(versions), bool)
            present[used] = flags[rows[used]]
            return vectors, present
        texts = versions["text"].to_numpy(object)[rows[used]]
        emb = self._encoder().encode([str(t) for t in texts])
        vectors[used], present[used] = emb.vectors, emb.present.astype(np.float32)
        return vectors, present

    def _text_vectors(self, unique_ids: np.ndarray, texts: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
        """Each window's README vector [N, D] and whether it has one [N] (one encoding per project)."""
        n, dim = len(unique_ids), self.model_config.text_dim
        if not self.model_config.text_model or n == 0:
            return np.zeros((n, dim), np.float32), np.zeros(n, np.float32)
        projects = sorted(set(unique_ids))
        emb = self._encoder().encode([texts.get(p, "") for p in projects])
        row = {p: i for i, p in enumerate(projects)}
        idx = np.array([row[u] for u in unique_ids])
        return emb.vectors[idx], emb.present[idx].astype(np.float32)


def held_out_projects(unique_ids, share: float) -> np.ndarray:
    """The projects a pretraining validates on and does not fit first: the ceil(``share`` x n) of
    ``unique_ids`` first in sha256("val:" + id) order (fixed per id, independent of the seed and of
    the benchmark's split order), at least 1 and at most n - 1.

    Args:
        unique_ids: the panel's projects.
        share: the share held out, in (0, 1).
    """
    ids = sorted(map(str, unique_ids), key=lambda u: text_digest(f"val:{u}"))
    if len(ids) < 2:
        log.warning("val_projects=%s needs at least 2 projects (%d given): no project is held out; the "
                    "validation windows are the project's latest months", share, len(ids))
        return np.array([], dtype=object)
    return np.array(ids[:min(max(math.ceil(share * len(ids)), 1), len(ids) - 1)], dtype=object)
