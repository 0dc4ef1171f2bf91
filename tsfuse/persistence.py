"""Save and load a model folder: safetensors weights + JSON config, written atomically, checked on load."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

FORMAT = "tsfuse-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


class ModelFileError(RuntimeError):
    """A model folder is missing, incomplete, tampered with or from an unsupported version."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_model(directory: str | Path, state: dict[str, torch.Tensor], config: dict[str, Any],
               extra_files: dict[str, bytes] | None = None) -> Path:
    """Write ``state`` and ``config`` (plus small extra files) into ``directory`` atomically.

    Everything is written to a temporary sibling folder first, then renamed into place, so a
    crash never leaves a half-written model. The config records each file's sha256.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(tmp / WEIGHTS_FILE))
    for name, data in (extra_files or {}).items():
        (tmp / name).write_bytes(data)
    files = [WEIGHTS_FILE, *sorted(extra_files or {})]
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **config,
            "sha256": {name: _sha256(tmp / name) for name in files}}
    (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
    _default_permissions(tmp)
    if directory.exists():
        old = directory.with_name(f".{directory.name}.old")
        os.replace(directory, old)
        os.replace(tmp, directory)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        os.replace(tmp, directory)
    return directory


def _default_permissions(folder: Path) -> None:
    """mkdtemp makes a private folder; give the model folder the usual umask-based permissions."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for f in folder.iterdir():
        os.chmod(f, 0o666 & ~umask)


def load_model(directory: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, bytes]]:
    """Read a model folder written by :func:`save_model`; never unpickles.

    Returns (weights, config, extra files). Raises :class:`ModelFileError` for a missing folder or
    file, a wrong format or version, or a checksum mismatch.
    """
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise ModelFileError(f"model folder {directory} does not exist")
    if not config_path.is_file():
        raise ModelFileError(f"{config_path} is missing: {directory} is not a tsfuse model folder "
                             "(save one with Forecaster.save)")
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{config_path} is not valid JSON ({exc}); the model folder is corrupted") from None
    if config.get("format") != FORMAT:
        raise ModelFileError(f"{config_path} is not a tsfuse model config (format={config.get('format')!r})")
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{directory} has model format version {config.get('format_version')}; "
                             f"this tsfuse reads version {FORMAT_VERSION}. Re-save it with a matching tsfuse.")
    extras = {}
    for name, digest in config.get("sha256", {}).items():
        path = directory / name
        if not path.is_file():
            raise ModelFileError(f"{path} is missing; the model folder is incomplete")
        if _sha256(path) != digest:
            raise ModelFileError(f"{path} does not match its checksum in {CONFIG_FILE}: "
                                 "the file was changed or corrupted; refusing to load it")
        if name != WEIGHTS_FILE:
            extras[name] = path.read_bytes()
    if WEIGHTS_FILE not in config.get("sha256", {}):
        raise ModelFileError(f"{CONFIG_FILE} in {directory} lists no {WEIGHTS_FILE}")
    return load_file(str(directory / WEIGHTS_FILE)), config, extras
