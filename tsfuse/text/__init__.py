"""Text tower inputs: README cleaning and a frozen, cached sentence encoder.

README cleaning and checks load eagerly (plain Python); the encoder and its cache load on first
use, so the data layer and the API can check README input without importing sentence-transformers.
"""

from importlib import import_module

from tsfuse.text.clean import clean_readme, prepare_readme

_LAZY = {"DEFAULT_ENCODER": "names", "TextEmbeddings": "encoder", "TextEncoder": "encoder",
         "EmbeddingCache": "cache", "default_cache_dir": "cache"}

__all__ = [
    "DEFAULT_ENCODER",
    "EmbeddingCache",
    "TextEmbeddings",
    "TextEncoder",
    "clean_readme",
    "default_cache_dir",
    "prepare_readme",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f"tsfuse.text.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'tsfuse.text' has no attribute {name!r}")
