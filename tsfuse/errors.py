"""The errors tsfuse raises for bad input; every message names the column / row / file / flag and what to do.

- :class:`TsfuseError` (a ``ValueError``): the base; catch it to handle any bad input tsfuse refuses.
- :class:`PanelError`: a history (DataFrame, git repository, OpenDigger folder) breaks the panel contract.
- :class:`TextInputError`: README text that cannot be read (not UTF-8, binary).
- :class:`ModelFileError`: a model folder that is missing, incomplete, tampered with, pickled or from an
  unsupported format version.

``docs/errors.md`` lists every case with its message. Wrong argument *types* (a list instead of a
DataFrame, a number as README) raise ``TypeError`` instead.
"""

from __future__ import annotations


class TsfuseError(ValueError):
    """Input that tsfuse refuses; the message says what is wrong and how to fix it."""


class PanelError(TsfuseError):
    """A panel does not follow the contract; the message says what and how to fix it."""


class TextInputError(TsfuseError):
    """README text that cannot be used (undecodable bytes, binary content)."""


class ModelFileError(TsfuseError):
    """A model folder is missing, incomplete, tampered with, pickled or from an unsupported version."""
