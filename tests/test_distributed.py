"""Data-parallel training: batch sharding across ranks, and DDP on 2 CPU processes (gloo) against 1 process.

The DDP run is ``python -m tests.test_distributed OUT`` in its own process group: Lightning's
``strategy="ddp"`` re-runs that command for rank 1 (as it would under a cluster launcher), and a
run past the time limit is killed with its whole group, so a stuck collective cannot hang pytest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DDP_TIMEOUT_S = 240
# No dropout: one process draws masks for a whole batch, two processes for their halves, so with
# dropout the two runs would differ by design rather than by the gradient averaging under test.
MODEL = {"hidden_size": 16, "num_layers": 1, "fusion_size": 16, "text_proj_size": 8, "text_model": None,
         "dropout": 0.0}
TRAIN = {"max_epochs": 2, "progress_bar": False, "logger": "none", "batch_size": 64, "refit": False,
         "class_weights": "none"}


def train_and_record(placement: dict, out: Path) -> None:
    """Pretrain the tiny model with ``placement`` (Trainer options) and write, per rank, its weights,
    forecasts and training history to ``out/rank<r>.npz`` / ``.json``."""
    from lightning.pytorch.utilities import rank_zero_only

    import tsfuse
    from tsfuse.data.synthetic import generate_panel

    panel = generate_panel(10, 48, covariates=("authors", "churn"), seed=1)
    model = tsfuse.pretrain(panel, {}, "oss-activity", preset="light", model=MODEL, train={**TRAIN, **placement})
    rank = rank_zero_only.rank
    state = {k: v.numpy() for k, v in model.module.state_dict().items()}
    np.savez(out / f"rank{rank}.npz", p50=model.predict(panel)["p50"].to_numpy(), **state)
    (out / f"rank{rank}.json").write_text(json.dumps(model.info["training"]))


def run_ddp(out: Path) -> subprocess.CompletedProcess:
    """``train_and_record`` with 2 CPU processes (strategy "ddp", gloo) in a fresh process group."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for var in ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    proc = subprocess.Popen([sys.executable, "-m", "tests.test_distributed", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=DDP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        log, _ = proc.communicate()
        pytest.fail(f"DDP run did not finish in {DDP_TIMEOUT_S} s (killed):\n{log[-4000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, log)


# ------------------------------------------------------------------------------------------ sharding
def _epoch(n: int, batch_size: int, replicas: int, seed: int = 0, epochs: int = 1) -> list[list[list[int]]]:
    """Per rank, the batches of the last of ``epochs`` epochs."""
    from tsfuse.data.loaders import GlobalBatchSampler

    samplers = [GlobalBatchSampler(n, batch_size, shuffle=True, seed=seed, shard=True, num_replicas=replicas,
                                   rank=r) for r in range(replicas)]
    for _ in range(epochs - 1):
        [list(s) for s in samplers]
    return [list(s) for s in samplers]


@pytest.mark.parametrize("epochs", [1, 3])
def test_each_window_once_per_epoch_and_steps_match_one_process(epochs):
    one = _epoch(20, 8, 1, epochs=epochs)[0]
    ranks = _epoch(20, 8, 2, epochs=epochs)
    assert [len(r) for r in ranks] == [len(one)] * 2 == [3, 3]
    for step, batch in enumerate(one):  # the ranks' shards of step k are exactly one process's batch k
        assert sorted(ranks[0][step] + ranks[1][step]) == sorted(batch)
        assert not set(ranks[0][step]) & set(ranks[1][step])
    seen = [i for r in ranks for b in r for i in b]
    assert sorted(seen) == list(range(20))


def test_only_the_last_batch_is_padded_so_no_rank_is_empty():
    ranks = _epoch(9, 4, 2)
    assert [[len(b) for b in r] for r in ranks] == [[2, 2, 1], [2, 2, 1]]
    seen = [i for r in ranks for b in r for i in b]
    assert set(seen) == set(range(9)) and len(seen) == 10  # one window repeats, the epoch's first
    three = _epoch(1, 4, 3)
    assert three == [[[three[0][0][0]]]] * 3


def test_unsharded_loader_ignores_the_world_and_batch_smaller_than_world_is_refused():
    from tsfuse.data.loaders import GlobalBatchSampler

    plain = GlobalBatchSampler(5, 2, shuffle=False, num_replicas=2, rank=1)
    assert list(plain) == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match=r"batch_size 2 is smaller than the 3 processes; set batch_size to "
                                         r"at least 3 \(it is the global batch\)"):
        list(GlobalBatchSampler(5, 2, shuffle=True, shard=True, num_replicas=3, rank=0))


def test_one_process_keeps_the_batches_of_a_seeded_random_sampler():
    from torch.utils.data import BatchSampler, RandomSampler

    from tsfuse.data.loaders import GlobalBatchSampler

    reference = BatchSampler(RandomSampler(range(11), generator=torch.Generator().manual_seed(5)), 4, False)
    ours = GlobalBatchSampler(11, 4, shuffle=True, seed=5, shard=True)
    assert [list(reference) for _ in range(3)] == [list(ours) for _ in range(3)]


# ----------------------------------------------------------------------------------------------- DDP
@pytest.mark.slow
def test_ddp_on_two_cpu_processes_matches_one_process(tmp_path):
    single_dir, ddp_dir = tmp_path / "single", tmp_path / "ddp"
    single_dir.mkdir(), ddp_dir.mkdir()
    train_and_record({}, single_dir)
    done = run_ddp(ddp_dir)
    assert done.returncode == 0, done.stdout[-4000:]
    single, rank0, rank1 = (np.load(p) for p in (single_dir / "rank0.npz", ddp_dir / "rank0.npz",
                                                 ddp_dir / "rank1.npz"))
    history = [json.loads((d / f"rank{r}.json").read_text()) for d, r in ((single_dir, 0), (ddp_dir, 0), (ddp_dir, 1))]

    # Best checkpoint: read by rank 0 and broadcast, so both ranks end with the very same weights.
    assert all(np.array_equal(rank0[k], rank1[k]) for k in rank0.files)
    assert history[1]["best_epoch"] == history[2]["best_epoch"] == history[0]["best_epoch"] == 1
    # Each rank trained on its own half of every global batch: their epoch losses differ, and their
    # mean is the one-process epoch loss (halves of equal size).
    loss = [h["curve"][0]["train_loss"] for h in history]
    assert loss[1] != loss[2]
    assert (loss[1] + loss[2]) / 2 == pytest.approx(loss[0], rel=2e-3)
    # Same global batches, one optimiser step each. DDP's gradient is the mean of the two halves' mean
    # losses, one process's the mean over the whole batch: they differ only where the halves hold
    # unequal numbers of observed target months or labels (masked means; class weights are off here,
    # as per-half weighted means would differ more) and by float summation order. Measured: forecasts
    # within 8e-4 relative, validation loss 7e-5, the epoch loss above 4e-4. Handing out whole batches
    # to the ranks instead (Lightning's default wrapping of a batch sampler: half the steps, each on
    # different data) gave 3e-2, 2e-2 and 1e-2, so these tolerances tell the two apart.
    assert history[1]["best_val_loss"] == pytest.approx(history[0]["best_val_loss"], rel=2e-3)
    np.testing.assert_allclose(rank0["p50"], single["p50"], rtol=5e-3)


# ------------------------------------------------------------------------------ placement options
def test_pretrain_cli_passes_the_placement_flags_to_training(monkeypatch, tmp_path, capsys):
    from types import SimpleNamespace

    from tsfuse.app.cli import main
    from tsfuse.estimator import Forecaster

    seen = []
    trained = SimpleNamespace(summary=lambda: "tiny model", save=lambda out: Path(out))
    monkeypatch.setattr("tsfuse.data.corpus.load_corpus", lambda name: SimpleNamespace(panel=None, texts={}, task=None))
    monkeypatch.setattr(Forecaster, "pretrain", lambda *args, train, **kwargs: seen.append(train) or trained)
    out = tmp_path / "model"
    assert main(["pretrain", "--out", str(out), "--recipe", "none", "--accelerator", "gpu", "--devices", "4",
                 "--strategy", "ddp", "--num-nodes", "2", "--max-epochs", "3"]) == 0
    assert main(["pretrain", "--out", str(out), "--recipe", "none", "--devices", "0,1"]) == 0
    assert seen == [{"max_epochs": 3, "accelerator": "gpu", "devices": 4, "strategy": "ddp", "num_nodes": 2},
                    {"devices": "0,1"}]
    assert f"saved to {out}" in capsys.readouterr().out


def test_finetuning_runs_in_one_process_whatever_placement_the_model_was_trained_with(panel, task, caplog):
    from dataclasses import replace

    from tests.conftest import TINY_MODEL, TINY_TRAIN
    from tsfuse.estimator import Forecaster

    model = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train=TINY_TRAIN)
    model.run_config = replace(model.run_config, devices=2, strategy="ddp_spawn")
    tuned = model.finetune(panel[panel.unique_id == "org/project-2"], max_epochs=1, guard=False)
    assert tuned.info["finetune"]["epochs"] == 1
    assert ("fine-tuning runs in one process (devices=1, strategy='auto', num_nodes=1) instead of devices=2, "
            "strategy='ddp_spawn', num_nodes=1: DDP does not synchronise a tower unfrozen mid-training") in caplog.text


if __name__ == "__main__":  # the DDP run of test_ddp_on_two_cpu_processes_matches_one_process, rank 0 and 1
    train_and_record({"accelerator": "cpu", "devices": 2, "strategy": "ddp"}, Path(sys.argv[1]))
