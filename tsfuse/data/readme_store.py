"""README versions stored as embeddings, the way the embedded corpora ship them (no README text).

Two files in a corpus folder, row-aligned:

- ``readme_versions.csv.gz``: ``unique_id, valid_from`` (the day the version is known from; see
  :mod:`tsfuse.text.versions`), ``sha256`` (of the README text as read, "" when there was none),
  ``present`` (False: no README or an empty one, whose embedding row is zeros) and ``text_model``
  (the encoder that made the embedding);
- ``readme_embeddings.npy``: float16 ``[N, D]``, read with ``allow_pickle=False``.

A corpus whose README is the repository's current one for every month (the v1 corpora, read at
their snapshot) stores one version per project with ``valid_from`` :data:`HEAD_VALID_FROM`, so that
every window reads it; its metadata says so (``readme_as_of = "head"``).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd

from tsfuse.data.schema import ID, PanelError
from tsfuse.text.cache import text_digest
from tsfuse.text.versions import FROM_COLUMN, check_versions, checked_texts

VERSIONS_FILE, EMBEDDINGS_FILE = "readme_versions.csv.gz", "readme_embeddings.npy"
HEAD_VALID_FROM = pd.Timestamp("1970-01-01")  # a HEAD README: every window reads it
INDEX_COLUMNS = (ID, FROM_COLUMN, "sha256", "present", "text_model")


def head_versions(texts: dict[str, str]) -> pd.DataFrame:
    """One version per project, valid from :data:`HEAD_VALID_FROM`: ``{unique_id: README}`` as a
    versions frame with ``text`` (for :func:`embed_versions`)."""
    ids = sorted(texts)
    return pd.DataFrame({ID: ids, FROM_COLUMN: HEAD_VALID_FROM, "text": [texts[u] for u in ids]})


def embed_versions(versions: pd.DataFrame, encoder) -> pd.DataFrame:
    """A versions frame with ``text`` as one with ``sha256``, ``present``, ``text_model`` and
    ``embedding`` (float16 rows) instead, encoded by ``encoder`` (a :class:`~tsfuse.text.TextEncoder`:
    its cleaning, chunking and cache)."""
    frame = checked_texts(versions)  # each text as a model reads it (prepare_readme), then cleaned by the encoder
    texts = [str(t) for t in frame["text"]]
    emb = encoder.encode(texts)
    vectors = emb.vectors.astype(np.float16)
    return frame.drop(columns=["text"]).assign(
        sha256=[text_digest(t) if t else "" for t in texts], present=emb.present.astype(bool),
        text_model=encoder.name, embedding=list(vectors))


def write_versions(folder: Path, versions: pd.DataFrame) -> list[str]:
    """Write an embedded versions frame (:func:`embed_versions`) as the two files; returns their names.

    The bytes are deterministic for the same input: rows sorted, gzip without name or time.
    """
    frame = check_versions(versions)
    index = frame[list(INDEX_COLUMNS)].assign(**{FROM_COLUMN: frame[FROM_COLUMN].dt.strftime("%Y-%m-%d")})
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(index.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    (folder / VERSIONS_FILE).write_bytes(buf.getvalue())
    matrix = np.stack(frame["embedding"].to_numpy()).astype("<f2") if len(frame) else np.zeros((0, 0), "<f2")
    with (folder / EMBEDDINGS_FILE).open("wb") as handle:
        np.save(handle, matrix, allow_pickle=False)
    return [VERSIONS_FILE, EMBEDDINGS_FILE]


def read_versions(folder: Path) -> pd.DataFrame:
    """The versions frame stored in ``folder`` (``embedding`` rows as float32 arrays).

    Raises:
        PanelError: a file is missing, or the two files disagree on the number of rows.
    """
    index_path, matrix_path = folder / VERSIONS_FILE, folder / EMBEDDINGS_FILE
    for path in (index_path, matrix_path):
        if not path.is_file():
            raise PanelError(f"{path} is missing: the corpus folder needs {VERSIONS_FILE} and {EMBEDDINGS_FILE}")
    index = pd.read_csv(index_path, dtype={ID: str, "sha256": str, "text_model": str}, keep_default_na=False,
                        parse_dates=[FROM_COLUMN])
    matrix = np.load(matrix_path, allow_pickle=False).astype(np.float32)
    if len(matrix) != len(index):
        raise PanelError(f"{matrix_path} has {len(matrix)} rows but {index_path} lists {len(index)} versions; "
                         "rebuild the corpus")
    index["present"] = index["present"].astype(str).str.lower().eq("true")
    return index.assign(embedding=list(matrix))
