"""Training killed mid-run resumes from its last checkpoint and ends where an uninterrupted run would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import torch

from tests.conftest import TINY_MODEL
from tsfuse.data.synthetic import generate_panel
from tsfuse.data.tasks import get_task
from tsfuse.estimator import Forecaster

# refit off: the model is the first phase's, the one interrupted
TRAIN = {"max_epochs": 4, "progress_bar": False, "logger": "csv", "batch_size": 64, "patience": 10, "refit": False}
KILL_AT_EPOCH = 2
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

# The child trains and SIGKILLs itself (no cleanup, no exception handling: like a killed job) at the
# end of epoch KILL_AT_EPOCH of the first training phase, right after that epoch's checkpoint was written.
# It trains with this process's thread count, whatever OMP_NUM_THREADS & co. other tests or the shell
# left in the environment (a different count sums in another order: losses differ in the 7th digit).
CHILD = textwrap.dedent("""
    import os, signal, sys
    import torch
    torch.set_num_threads({threads})
    from lightning.pytorch.callbacks import ModelCheckpoint
    from tsfuse.data.synthetic import generate_panel
    from tsfuse.data.tasks import get_task
    from tsfuse.estimator import Forecaster

    save = ModelCheckpoint.on_train_epoch_end
    def save_then_die(self, trainer, pl_module):
        save(self, trainer, pl_module)
        if trainer.current_epoch == {kill}:
            os.kill(os.getpid(), signal.SIGKILL)
    ModelCheckpoint.on_train_epoch_end = save_then_die
    panel = generate_panel(8, 40, covariates=("authors",), seed=3)
    Forecaster.pretrain(panel, {{}}, get_task("oss-activity"), preset="light", model={model}, train={train})
""")


def _pretrain(train: dict) -> Forecaster:
    panel = generate_panel(8, 40, covariates=("authors",), seed=3)
    return Forecaster.pretrain(panel, {}, get_task("oss-activity"), preset="light", model=TINY_MODEL, train=train)


@pytest.mark.parametrize("ema_epochs", [0.0, 1.0], ids=["plain", "weight-averaged"])
def test_killed_training_resumes_and_ends_like_an_uninterrupted_run(tmp_path, ema_epochs):
    log_dir = tmp_path / "run"
    train = {**TRAIN, "ema_epochs": ema_epochs, "log_dir": str(log_dir)}
    child = CHILD.format(kill=KILL_AT_EPOCH, model=repr(TINY_MODEL), train=repr(train), threads=torch.get_num_threads())
    (log_dir / "fit").mkdir(parents=True)  # an earlier run's marker: a fresh run must not leave it for --resume
    (log_dir / "fit" / "done.json").write_text(json.dumps({"epochs": 1, "weights": str(tmp_path / "gone.ckpt")}))
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == -9, done.stderr[-2000:]  # killed, not finished
    assert (log_dir / "fit" / "checkpoints" / "last.ckpt").is_file()
    assert not (log_dir / "fit" / "done.json").exists()

    resumed = _pretrain({**train, "resume": True})
    curve = resumed.info["training"]["curve"]
    assert [c["epoch"] for c in curve] == list(range(TRAIN["max_epochs"]))  # the epochs before the kill are kept
    assert json.loads((log_dir / "fit" / "done.json").read_text())["epochs"] == TRAIN["max_epochs"]

    uninterrupted = _pretrain({**TRAIN, "ema_epochs": ema_epochs, "log_dir": str(tmp_path / "other")})
    # same losses epoch by epoch (same batches, same dropout masks after the restart), same last weights
    assert curve == uninterrupted.info["training"]["curve"]
    last = [torch.load(d / "fit" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
            for d in (log_dir, tmp_path / "other")]
    assert all(torch.equal(last[0][k], last[1][k]) for k in last[0])
    panel = generate_panel(8, 40, covariates=("authors",), seed=3)
    pd.testing.assert_frame_equal(resumed.predict(panel), uninterrupted.predict(panel))


def test_resuming_a_finished_run_does_not_train_again(tmp_path):
    train = {**TRAIN, "max_epochs": 2, "log_dir": str(tmp_path / "run")}
    first = _pretrain(train)
    stamp = (tmp_path / "run" / "fit" / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    again = _pretrain({**train, "resume": True})
    assert (tmp_path / "run" / "fit" / "checkpoints" / "last.ckpt").stat().st_mtime_ns == stamp
    panel = generate_panel(8, 40, covariates=("authors",), seed=3)
    pd.testing.assert_frame_equal(first.predict(panel), again.predict(panel))


def test_resume_needs_a_log_dir():
    with pytest.raises(ValueError, match="resume=True needs log_dir"):
        _pretrain({**TRAIN, "resume": True})


def test_saved_models_and_fine_tunes_do_not_carry_the_run_folder_or_devices(tmp_path):
    model = _pretrain({**TRAIN, "max_epochs": 1, "log_dir": str(tmp_path / "run"), "devices": 1})
    assert model.run_config.log_dir == str(tmp_path / "run")
    loaded = Forecaster.load(model.save(tmp_path / "saved"))
    assert loaded.run_config.log_dir is None and not loaded.run_config.resume
    assert loaded.run_config.accelerator == "cpu"
    panel = generate_panel(8, 40, covariates=("authors",), seed=3)
    tuned = model.finetune(panel[panel.unique_id == panel.unique_id.iloc[0]], max_epochs=1)
    assert tuned.run_config.log_dir is None
    assert not (tmp_path / "run" / "finetune").exists()
