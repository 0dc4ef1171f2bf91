"""Model folders are safetensors + JSON: a pickle anywhere in one is refused and never run; saving is atomic.

The payload's ``__reduce__`` creates a marker file when unpickled; each test first shows that the
payload works (plain unpickling creates a marker), then that loading the model folder refuses
it with a clear message and the marker never appears. The byte-flip case is
tests/model/test_estimator.py::test_loading_refuses_a_changed_weights_file.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path

import pandas as pd
import pytest
import torch

import tsfuse
from tests.conftest import TINY_MODEL, TINY_TRAIN
from tsfuse.io import persistence
from tsfuse.estimator import Forecaster
from tsfuse.io.persistence import _config_digest


class Payload:
    """Unpickling it creates ``marker`` (as malicious code would run)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def pickled(marker: Path, kind: str) -> bytes:
    """The payload as a plain pickle or a torch.save checkpoint (zip holding a pickle)."""
    if kind == "pickle":
        return pickle.dumps({"weight": Payload(marker)})
    buffer = io.BytesIO()
    torch.save({"weight": Payload(marker)}, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def saved(panel, task, tmp_path_factory) -> Path:
    model = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train=TINY_TRAIN)
    return model.save(tmp_path_factory.mktemp("safety") / "tiny")


@pytest.fixture
def folder(saved, tmp_path) -> Path:
    """A fresh copy of the saved model, free to tamper with."""
    copy = tmp_path / "model"
    copy.mkdir()
    for f in saved.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    return copy


def reseal(folder: Path, extra: dict[str, bytes] | None = None) -> None:
    """Rewrite config.json so that every checksum matches the folder's files (a consistent tampering)."""
    path = folder / "config.json"
    config = json.loads(path.read_text())
    for name, data in (extra or {}).items():
        config["sha256"][name] = hashlib.sha256(data).hexdigest()
    config["sha256"] = {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in config["sha256"]}
    config["config_sha256"] = _config_digest(config)
    path.write_text(json.dumps(config))


def refused(folder: Path, marker: Path, *messages: str) -> None:
    """Loading ``folder`` (directly and as fit's pretrained model) raises with ``messages``; nothing was unpickled."""
    history = pd.DataFrame({"ds": pd.date_range("2020-01-01", periods=24, freq="MS"), "y": 3.0})
    for load in (lambda: tsfuse.load(folder), lambda: tsfuse.fit(history, "", pretrained=str(folder))):
        with pytest.raises(tsfuse.ModelFileError) as info:
            load()
        assert all(m in str(info.value) for m in messages), str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
def test_the_payload_runs_when_unpickled(kind, tmp_path):
    marker = tmp_path / "ran"
    data = pickled(marker, kind)
    pickle.loads(data) if kind == "pickle" else torch.load(io.BytesIO(data), weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
def test_pickle_in_place_of_the_weights_is_never_run(folder, tmp_path, kind):
    marker = tmp_path / "ran"
    (folder / "model.safetensors").write_bytes(pickled(marker, kind))
    with pytest.raises(tsfuse.ModelFileError, match="does not match its checksum"):
        tsfuse.load(folder)
    reseal(folder)  # checksums rewritten to match: the weights file itself must still be refused
    refused(folder, marker, "is a pickle / torch.save file, not safetensors; tsfuse never unpickles")


@pytest.mark.parametrize("name", ["model.pkl", "pytorch_model.bin", "model.pt"])
def test_extra_pickle_file_is_refused_and_never_run(folder, tmp_path, name):
    marker = tmp_path / "ran"
    (folder / name).write_bytes(pickled(marker, "torch.save"))
    refused(folder, marker, f"does not list: ['{name}']", "tsfuse never loads pickled checkpoints")


def test_pickle_listed_in_the_config_is_refused_and_never_run(folder, tmp_path):
    marker = tmp_path / "ran"
    data = pickled(marker, "pickle")
    (folder / "evil.pkl").write_bytes(data)
    reseal(folder, {"evil.pkl": data})
    refused(folder, marker, "lists file(s) ['evil.pkl'] that a tsfuse model folder never holds")


def test_save_writes_format_version_and_config_checksum(saved):
    config = json.loads((saved / "config.json").read_text())
    assert config["format_version"] == persistence.FORMAT_VERSION == 3
    assert config["config_sha256"] == _config_digest(config)
    assert sorted(config["sha256"]) == ["model.safetensors", "texts.json"]  # a pretrained model keeps no history


def test_a_failed_save_leaves_the_old_model_and_no_temporary_folder(saved, folder, monkeypatch):
    before = {f.name: f.read_bytes() for f in folder.iterdir()}
    model = tsfuse.load(saved)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(persistence, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(folder)
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_saving_over_a_model_replaces_it_whole(saved, folder):
    (folder / "old-notes.csv").write_text("stale")
    tsfuse.load(saved).save(folder)
    assert "old-notes.csv" not in {f.name for f in folder.iterdir()}
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []
    tsfuse.load(folder)


def test_save_refuses_extra_files_a_folder_may_not_hold(tmp_path):
    with pytest.raises(ValueError, match=r"got \['weights.pkl'\]"):
        persistence.save_model(tmp_path / "m", {"w": torch.zeros(1)}, {}, {"weights.pkl": b""})
    assert not (tmp_path / "m").exists() and list(tmp_path.iterdir()) == []
