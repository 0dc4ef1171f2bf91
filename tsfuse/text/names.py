"""Names of text encoders: the default one, its aliases, and the id stored next to an embedding."""

from __future__ import annotations

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = frozenset({"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "default"})


def is_default(name: str) -> bool:
    """Whether ``name`` asks for the default encoder (any of its aliases, any case)."""
    return name.casefold() in _DEFAULT_ALIASES


def encoder_id(name: str) -> str:
    """The id embeddings of encoder ``name`` are stored under: :data:`DEFAULT_ENCODER` for any of
    its aliases, else ``name`` itself."""
    return DEFAULT_ENCODER if is_default(name) else name
