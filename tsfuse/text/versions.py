"""README versions over time, per project, and the version a forecast at origin ``T`` may read.

A versions frame has one row per (project, version): ``unique_id``, ``valid_from`` (tz-naive UTC
timestamp: the version is known from that day on, read from commits strictly before it; see
:mod:`tsfuse.data.sources.readme_history`) and either ``text`` (the README) or ``embedding`` (its
vector, e.g. the shipped corpus's float16 embeddings, with ``present`` False for an empty README).

The rule, in one place (:func:`version_rows`): a window at origin ``T`` reads the latest version
of its project with ``valid_from <= T``; a project with no version that old reads no README.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsfuse.errors import TextInputError
from tsfuse.text.clean import prepare_readme, prepare_texts
from tsfuse.text.names import encoder_id

ID_COLUMN, FROM_COLUMN = "unique_id", "valid_from"


def is_versions(texts: object) -> bool:
    """Whether ``texts`` is a versions frame (else a dict ``{unique_id: README text}``)."""
    return isinstance(texts, pd.DataFrame)


def check_versions(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by project and ``valid_from``, its dates tz-naive UTC.

    Raises:
        TextInputError: a missing column, neither ``text`` nor ``embedding``, or a ``valid_from`` that
            is not a date.
    """
    missing = [c for c in (ID_COLUMN, FROM_COLUMN) if c not in frame.columns]
    if missing or not ({"text", "embedding"} & set(frame.columns)):
        raise TextInputError(f"README versions need columns {ID_COLUMN!r}, {FROM_COLUMN!r} and 'text' or "
                             f"'embedding'; got {list(frame.columns)} (missing {missing or ['text/embedding']})")
    out = frame.assign(**{ID_COLUMN: frame[ID_COLUMN].astype(str)})
    when = pd.to_datetime(out[FROM_COLUMN], errors="coerce")
    bad = np.flatnonzero(when.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise TextInputError(f"README versions: {FROM_COLUMN!r} at row {i} (project {out[ID_COLUMN].iloc[i]!r}) is "
                             f"{frame[FROM_COLUMN].iloc[i]!r}, not a date; give the day each version is known from, "
                             "e.g. '2023-01-01'")
    if getattr(when.dt, "tz", None) is not None:
        when = when.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.assign(**{FROM_COLUMN: when}).sort_values([ID_COLUMN, FROM_COLUMN], kind="stable").reset_index(drop=True)


def version_rows(versions: pd.DataFrame, unique_ids: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """Per window, the row of ``versions`` (checked) it may read: the latest of its project with
    ``valid_from <= origin``; -1 where there is none."""
    rows = np.full(len(unique_ids), -1, dtype=np.int64)
    starts = versions[FROM_COLUMN].to_numpy().astype("datetime64[s]")
    groups = {uid: idx.to_numpy() for uid, idx in versions.groupby(ID_COLUMN, sort=False).groups.items()}
    when = np.asarray(origins).astype("datetime64[s]")
    for i, (uid, origin) in enumerate(zip(map(str, unique_ids), when)):
        idx = groups.get(uid)
        if idx is None:
            continue
        k = np.searchsorted(starts[idx], origin, side="right") - 1  # the last valid_from <= origin
        if k >= 0:
            rows[i] = idx[k]
    return rows


def checked_texts(texts: dict[str, str] | pd.DataFrame | None) -> dict[str, str] | pd.DataFrame:
    """README input as the model reads it: a dict through :func:`~tsfuse.text.clean.prepare_texts`, a
    versions frame through :func:`check_versions` and each of its texts through ``prepare_readme``."""
    if not is_versions(texts):
        return prepare_texts(texts)
    frame = check_versions(texts)
    if "text" in frame.columns:
        frame["text"] = [prepare_readme(t, f"README version of {u!r} from {d:%Y-%m-%d}")
                         for t, u, d in zip(frame["text"], frame[ID_COLUMN], frame[FROM_COLUMN])]
    return frame


def merge_texts(base: dict[str, str] | pd.DataFrame, given: dict[str, str] | pd.DataFrame) -> dict[str, str] | pd.DataFrame:
    """The texts a call reads: ``given`` added to the model's ``base`` when both are dicts; otherwise
    whichever is given (a versions frame, or a dict for a model that holds versions) replaces ``base``."""
    if is_versions(given) or (is_versions(base) and given):
        return given
    if is_versions(base):
        return base
    return {**base, **given}


def check_text_model(versions: pd.DataFrame, text_model: str) -> None:
    """Stored embeddings (a ``text_model`` column) must come from the model's own encoder.

    Raises:
        TextInputError: they were made by another encoder (their vectors mean something else).
    """
    if "text_model" not in versions.columns or "embedding" not in versions.columns:
        return
    stored = sorted(set(map(str, versions["text_model"])))
    wanted = encoder_id(text_model)
    if stored and stored != [wanted]:
        raise TextInputError(f"the README embeddings given were made by {stored}, but this model reads "
                             f"{wanted!r} vectors; give README texts instead (e.g. the raw corpus folder: "
                             "load_corpus('../shared/data/oss-activity')) so they are encoded by its own encoder")


def texts_for(texts: dict[str, str] | pd.DataFrame, projects) -> dict[str, str] | pd.DataFrame:
    """The README input of ``projects`` only (an id or an iterable of ids): the same kind as ``texts``
    (a dict gives "" for a project without README)."""
    ids = [projects] if isinstance(projects, str) else [str(p) for p in projects]
    if is_versions(texts):
        return texts[texts[ID_COLUMN].astype(str).isin(ids)].reset_index(drop=True)
    return {u: texts.get(u, "") for u in ids}


def has_text(texts: dict[str, str] | pd.DataFrame, projects) -> bool:
    """Whether any of ``projects`` has a README (a non-empty text, or a version that is present)."""
    chosen = texts_for(texts, projects)
    if not is_versions(chosen):
        return any(t.strip() for t in chosen.values())
    if "present" in chosen.columns:
        return bool(chosen["present"].astype(bool).any())
    return bool(chosen["text"].astype(str).str.strip().ne("").any()) if "text" in chosen.columns else len(chosen) > 0


def project_readme(readme: str | bytes | None | pd.DataFrame, unique_id: str,
                   what: str = "readme_text") -> dict[str, str] | pd.DataFrame:
    """One project's README input as a model reads it: ``{unique_id: text}`` for a README text
    (checked by ``prepare_readme``), or a versions frame (e.g. a shipped corpus's stored embeddings)
    with every row's ``unique_id`` set to ``unique_id``.

    Args:
        readme: the README text ('' or None: none; bytes must be UTF-8) or its versions frame.
        unique_id: the project's name.
        what: how an error names the argument.
    """
    if is_versions(readme):
        return checked_texts(readme.assign(**{ID_COLUMN: unique_id}))
    return {unique_id: prepare_readme(readme, what)}
