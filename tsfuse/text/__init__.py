"""Text tower inputs: README cleaning and a frozen, cached sentence encoder."""

from tsfuse.text.cache import EmbeddingCache, default_cache_dir
from tsfuse.text.clean import clean_readme
from tsfuse.text.encoder import DEFAULT_ENCODER, TextEmbeddings, TextEncoder

__all__ = [
    "DEFAULT_ENCODER",
    "EmbeddingCache",
    "TextEmbeddings",
    "TextEncoder",
    "clean_readme",
    "default_cache_dir",
]
