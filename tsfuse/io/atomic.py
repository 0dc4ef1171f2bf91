"""Write a file atomically: readers (a concurrent process, a resumed job) never see half of it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` to a hidden ``.tmp`` sibling of ``path``, then rename it over ``path``; the
    temporary file is removed if writing fails (a killed writer leaves only a ``.tmp`` file, which no
    reader's ``*.json`` / ``*.npy`` pattern picks up)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
