"""Save and load a model folder: safetensors weights + JSON config, written atomically, checked on load.

A model folder holds ``config.json`` and the files it lists with their sha256: ``model.safetensors``
and small extra files (JSON or CSV). Loading never unpickles: it refuses a folder with any other
file (a ``.pt`` / ``.pkl`` / ``.bin`` checkpoint, say), a listed file whose checksum does not match,
a weights file that is not safetensors, and a format version it does not know.

Format versions: 1 records the sha256 of every listed file; 2 also records the sha256 of the
config itself (``config_sha256``), so an edited ``config.json`` is refused too; 3 (tsfuse 0.2) has
the same files, with the training settings in groups and the loss buffers owned by the heads, so
tsfuse 0.1 refuses it by number instead of failing on its contents. All three are read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tsfuse.errors import ModelFileError

FORMAT = "tsfuse-model"
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
CONFIG_CHECKSUM_SINCE = 2  # the first format version with config_sha256
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FILE_SUFFIXES = (".safetensors", ".json", ".csv")  # the only kinds of file a model folder may list
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")  # pickle / torch.save zip

__all__ = ["FORMAT_VERSION", "ModelFileError", "load_model", "save_model"]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _config_digest(meta: dict[str, Any]) -> str:
    """sha256 of the config's canonical JSON, without the ``config_sha256`` field itself."""
    body = {k: v for k, v in meta.items() if k != "config_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def save_model(directory: str | Path, state: dict[str, torch.Tensor], config: dict[str, Any],
               extra_files: dict[str, bytes] | None = None) -> Path:
    """Write ``state`` and ``config`` (plus small JSON / CSV files) into ``directory`` atomically.

    Everything is written to a temporary sibling folder first, then renamed into place, so a
    crash never leaves a half-written model. The config records each file's sha256 and its own.
    """
    extra_files = extra_files or {}
    bad = [n for n in extra_files if n in (CONFIG_FILE, WEIGHTS_FILE) or not _is_listable(n)]
    if bad:
        raise ValueError(f"extra model files must be plain {FILE_SUFFIXES[1:]} names other than "
                         f"{CONFIG_FILE}/{WEIGHTS_FILE}; got {bad}")
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(tmp / WEIGHTS_FILE))
        for name, data in extra_files.items():
            (tmp / name).write_bytes(data)
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **config,
                "sha256": {name: _sha256(tmp / name) for name in [WEIGHTS_FILE, *sorted(extra_files)]}}
        meta["config_sha256"] = _config_digest(meta)
        (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        _default_permissions(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if directory.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
        os.replace(directory, old)  # onto an empty folder: allowed, atomic
        os.replace(tmp, directory)
        shutil.rmtree(old)
    else:
        os.replace(tmp, directory)
    return directory


def _is_listable(name: str) -> bool:
    """A plain file name (no folder part, not hidden) with one of :data:`FILE_SUFFIXES`."""
    return (isinstance(name, str) and name == Path(name).name and not name.startswith(".")
            and name.endswith(FILE_SUFFIXES))


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
    file, a wrong format or version, an edited config, a checksum mismatch, a file the config
    does not list, or weights that are not safetensors.
    """
    directory = Path(directory)
    config = _read_config(directory)
    listed = _listed_files(directory, config)
    unexpected = sorted(p.name for p in directory.iterdir() if p.name != CONFIG_FILE and p.name not in listed)
    if unexpected:
        raise ModelFileError(
            f"{directory} holds file(s) its {CONFIG_FILE} does not list: {unexpected}. A tsfuse model folder "
            f"holds only {CONFIG_FILE} and the safetensors / JSON / CSV files it lists; tsfuse never loads "
            "pickled checkpoints (.pt, .pkl, .bin). Remove them, or re-save the model with Forecaster.save")
    extras = {}
    for name, digest in listed.items():
        path = directory / name
        if not path.is_file():
            raise ModelFileError(f"{path} is missing; the model folder is incomplete")
        if _sha256(path) != digest:
            raise ModelFileError(f"{path} does not match its checksum in {CONFIG_FILE}: "
                                 "the file was changed or corrupted; refusing to load it")
        if name != WEIGHTS_FILE:
            extras[name] = path.read_bytes()
    return _read_weights(directory / WEIGHTS_FILE), config, extras


def _read_config(directory: Path) -> dict[str, Any]:
    """The parsed ``config.json``, its format, version and (from version 2) its own checksum checked."""
    config_path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise ModelFileError(f"model folder {directory} does not exist")
    if not config_path.is_file():
        raise ModelFileError(f"{config_path} is missing: {directory} is not a tsfuse model folder "
                             "(save one with Forecaster.save)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{config_path} is not valid JSON ({exc}); the model folder is corrupted") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ModelFileError(f"{config_path} is not a tsfuse model config (format={found!r})")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < min(READABLE_VERSIONS):
        raise ModelFileError(f"{config_path} has an unknown format_version {version!r}; this tsfuse reads "
                             f"versions {list(READABLE_VERSIONS)}. The folder is corrupted or not from tsfuse")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{directory} has model format version {version}, written by a newer tsfuse "
            f"({config.get('tsfuse_version', 'unknown version')}); this tsfuse reads versions "
            f"{list(READABLE_VERSIONS)}: upgrade tsfuse (pip install -U tsfuse) to load it")
    if version >= CONFIG_CHECKSUM_SINCE and config.get("config_sha256") != _config_digest(config):
        raise ModelFileError(f"{config_path} does not match its own checksum (config_sha256): the config "
                             "was edited or corrupted; refusing to load it. Re-save the model with Forecaster.save")
    return config


def _listed_files(directory: Path, config: dict[str, Any]) -> dict[str, str]:
    """``config['sha256']`` (file name -> digest), checked to list the weights and only safe file kinds."""
    listed = config.get("sha256")
    if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
        raise ModelFileError(f"{CONFIG_FILE} in {directory} has no valid 'sha256' table of its files")
    bad = sorted(str(n) for n in listed if not _is_listable(n))
    if bad:
        raise ModelFileError(f"{CONFIG_FILE} in {directory} lists file(s) {bad} that a tsfuse model folder "
                             f"never holds (only {', '.join(FILE_SUFFIXES)} files; tsfuse never unpickles); "
                             "refusing to load it")
    if WEIGHTS_FILE not in listed:
        raise ModelFileError(f"{CONFIG_FILE} in {directory} lists no {WEIGHTS_FILE}")
    return listed


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; a pickle or any other content is refused, never executed."""
    try:
        return load_file(str(path))
    except SafetensorError as exc:
        with open(path, "rb") as f:
            head = f.read(4)
        if head.startswith(_PICKLE_MAGIC):
            raise ModelFileError(f"{path} is a pickle / torch.save file, not safetensors; tsfuse never unpickles "
                                 "(unpickling can run code). Refusing to load it") from None
        raise ModelFileError(f"{path} is not a valid safetensors file ({exc}); the model folder is corrupted"
                             ) from None
