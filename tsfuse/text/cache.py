"""On-disk cache of text embeddings: one ``.npy`` file per (model, cleaned text, max_chunks).

Files are written atomically (temporary file + :func:`os.replace`) and read with
``allow_pickle=False``; an unreadable or mis-shaped file counts as a miss and is overwritten.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from tsfuse.io.atomic import atomic_write

CACHE_ENV = "TSFUSE_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$TSFUSE_CACHE_DIR`` if set, else ``~/.cache/tsfuse/embeddings``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tsfuse" / "embeddings"


def text_digest(text: str) -> str:
    """sha256 hex digest of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embedding vectors of one model, keyed by the digest of the cleaned text and ``max_chunks``.

    ``model_id`` identifies the model (its name, or its resolved path for a local folder); each
    model gets its own sub-directory of ``root`` (default: :func:`default_cache_dir`).
    """

    def __init__(self, model_id: str, dim: int, root: str | Path | None = None) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id.rstrip("/\\").rsplit("/", 1)[-1])[:64]
        base = Path(root).expanduser() if root is not None else default_cache_dir()
        self.directory = base / f"{slug}-{text_digest(model_id)[:16]}"
        self.dim = dim

    def path(self, digest: str, max_chunks: int) -> Path:
        """File that holds the embedding of the text with this digest."""
        return self.directory / f"{digest}-c{max_chunks}.npy"

    def load(self, digest: str, max_chunks: int) -> np.ndarray | None:
        """The cached float32 vector, or ``None`` on a miss (missing, unreadable or wrong shape)."""
        try:
            vector = np.load(self.path(digest, max_chunks), allow_pickle=False)
        except (OSError, ValueError):
            return None
        if vector.shape != (self.dim,) or not np.isfinite(vector).all():
            return None
        return vector.astype(np.float32, copy=False)

    def save(self, digest: str, max_chunks: int, vector: np.ndarray) -> None:
        """Write ``vector`` atomically, so concurrent readers never see a partial file."""
        def write(tmp: Path) -> None:
            with tmp.open("wb") as handle:  # a handle: np.save would add ".npy" to a path
                np.save(handle, np.asarray(vector, dtype=np.float32), allow_pickle=False)

        atomic_write(self.path(digest, max_chunks), write)
