"""Loaders of named input arrays (tsfuse.data.loaders)."""

from types import SimpleNamespace

import numpy as np
import torch

from tsfuse.data.features import INPUT_KEYS
from tsfuse.data.loaders import ArrayDataset, WindowDataModule, make_loader


def _arrays(n: int) -> dict[str, np.ndarray]:
    """Window i holds i in every array ([N] each, ``values`` [N, 3]), plus a key no model reads."""
    arrays = {k: np.arange(n, dtype=np.float32) for k in INPUT_KEYS}
    return {**arrays, "values": np.tile(arrays["values"][:, None], (1, 3)), "extra": np.zeros(n)}


def test_batches_carry_every_named_input_and_nothing_else():
    dataset = ArrayDataset(_arrays(7))
    assert len(dataset) == 7 and tuple(dataset.tensors) == INPUT_KEYS
    batches = list(make_loader(_arrays(7), 3, shuffle=False))
    assert [len(b["target"]) for b in batches] == [3, 3, 1]
    assert set(batches[0]) == set(INPUT_KEYS)
    assert torch.equal(batches[1]["values"][:, 0], torch.tensor([3.0, 4.0, 5.0]))
    shuffled = torch.cat([b["target"] for b in make_loader(_arrays(7), 3, shuffle=True, seed=1)])
    assert sorted(shuffled.tolist()) == list(range(7)) and shuffled.tolist() != list(range(7))


def test_data_module_shards_training_batches_only_in_a_data_parallel_run():
    module = WindowDataModule(_arrays(10), _arrays(4), batch_size=4, seed=3)
    module.trainer = SimpleNamespace(world_size=2)
    assert module.train_dataloader().sampler.shard and not module.val_dataloader().sampler.shard
    module.trainer = SimpleNamespace(world_size=1)
    assert not module.train_dataloader().sampler.shard
    assert [len(b["target"]) for b in module.val_dataloader()] == [4]
    assert WindowDataModule(_arrays(10), None, 4).val_dataloader() == []
