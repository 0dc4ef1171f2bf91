"""Batches of named input arrays for training and inference, shared out across data-parallel processes.

:func:`make_loader` turns the arrays of :func:`tsfuse.data.features.build_inputs` (every key of
:data:`~tsfuse.data.features.INPUT_KEYS`, first axis N windows) into a loader of whole dict
batches: ``{"values": [B, L], "covariates": [B, L, C], ..., "target": [B, H], ...}``.

Sharding: ``batch_size`` is the *global* batch: one optimiser step consumes one global batch,
whatever the number of processes. With ``shard=True`` and a world of N processes (read from
:mod:`torch.distributed` when it is initialised, so it works the same under ``ddp``,
``ddp_spawn`` and several nodes), rank r takes ``batch[r::N]`` of every global batch. The
global order is drawn from a generator seeded alike on every rank, so each window is used once
per epoch across the ranks, and the union of the ranks' shards at step k is exactly the batch
one process would use at step k. Only the epoch's last batch may be padded (with the epoch's
first windows) to a multiple of N, so no rank ever gets an empty batch: at most N - 1 windows
repeat per epoch. Every rank sees the same number of batches, so no collective waits forever.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import cycle, islice

import lightning.pytorch as pl
import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler

from tsfuse.data.features import INPUT_KEYS


def world() -> tuple[int, int]:
    """(world size, global rank) of the initialised process group, else (1, 0)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


class GlobalBatchSampler(Sampler[list[int]]):
    """Yields lists of positions in ``range(n)``: this rank's share of each global batch.

    Args:
        n: number of windows.
        batch_size: the global batch size (at least the number of processes).
        shuffle: draw a new order each epoch from a :class:`RandomSampler` seeded with ``seed``
            (one process gets the batches ``BatchSampler(RandomSampler(...))`` gives).
        seed: the shuffling seed.
        shard: take this rank's share of each batch; otherwise every rank gets whole batches.
        num_replicas: overrides the world size :func:`world` reports (tests).
        rank: overrides the rank :func:`world` reports (tests).
    """

    def __init__(self, n: int, batch_size: int, *, shuffle: bool, seed: int = 0, shard: bool = False,
                 num_replicas: int | None = None, rank: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.n, self.batch_size, self.shard = n, batch_size, shard
        positions = range(n)
        self.order = (RandomSampler(positions, generator=torch.Generator().manual_seed(seed)) if shuffle
                      else SequentialSampler(positions))
        self._replicas, self._rank = num_replicas, rank

    def rng_state(self) -> torch.Tensor | None:
        """The shuffling generator's state (None without shuffling): checkpointed so a resumed run
        draws the same batch orders as an uninterrupted one."""
        generator = getattr(self.order, "generator", None)
        return None if generator is None else generator.get_state()

    def set_rng_state(self, state: torch.Tensor | None) -> None:
        """Restore a state from :meth:`rng_state` (no-op without shuffling or state)."""
        generator = getattr(self.order, "generator", None)
        if generator is not None and state is not None:
            generator.set_state(state)

    def _world(self) -> tuple[int, int]:
        if not self.shard:
            return 1, 0
        size, rank = world()
        return self._replicas or size, rank if self._rank is None else self._rank

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        replicas, rank = self._world()
        if self.batch_size < replicas:
            raise ValueError(f"batch_size {self.batch_size} is smaller than the {replicas} processes; "
                             f"set batch_size to at least {replicas} (it is the global batch)")
        order = list(self.order)
        for start in range(0, self.n, self.batch_size):
            batch = order[start:start + self.batch_size]
            padding = list(islice(cycle(order), -len(batch) % replicas))
            yield (batch + padding)[rank::replicas]


class ArrayDataset(Dataset):
    """The named input arrays as tensors; indexed by a list of positions, it returns a dict batch.

    Args:
        arrays: the arrays of :func:`~tsfuse.data.features.build_inputs` (all of
            :data:`~tsfuse.data.features.INPUT_KEYS`; other keys are ignored).
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.tensors = {k: torch.from_numpy(np.ascontiguousarray(arrays[k])) for k in INPUT_KEYS}
        self.n = len(self.tensors["target"])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: list[int]) -> dict[str, torch.Tensor]:
        return {k: v[index] for k, v in self.tensors.items()}


def make_loader(arrays: dict[str, np.ndarray], batch_size: int, shuffle: bool, seed: int = 0,
                num_workers: int = 0, shard: bool = False) -> DataLoader:
    """A loader that yields whole dict batches (one indexing call per batch, not per window).

    Args:
        arrays: named input arrays (see :class:`ArrayDataset`).
        batch_size: the global batch size.
        shuffle: a new seeded order each epoch.
        seed: the shuffling seed.
        num_workers: data-loader worker processes.
        shard: under DDP each process takes its share of every global batch (module docstring);
            otherwise every process sees every batch.
    """
    dataset = ArrayDataset(arrays)
    sampler = GlobalBatchSampler(len(dataset), batch_size, shuffle=shuffle, seed=seed, shard=shard)
    # The loader's own generator seeds its iterators: they never draw from the global RNG, whose stream
    # (dropout) then depends only on the training steps, so a resumed run continues it exactly.
    return DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=num_workers,
                      generator=torch.Generator().manual_seed(seed))


class WindowDataModule(pl.LightningDataModule):
    """Training and validation loaders of named input arrays for a Lightning ``Trainer``.

    Training batches are shuffled (seeded) and sharded across processes when the trainer runs
    more than one; validation is not split (every process scores all windows, so all agree on
    ``val_loss``).

    Args:
        train_arrays: the training windows' arrays.
        val_arrays: the validation windows' arrays, or None (no validation).
        batch_size: the global batch size.
        seed: the shuffling seed.
        num_workers: data-loader worker processes.
    """

    def __init__(self, train_arrays: dict[str, np.ndarray], val_arrays: dict[str, np.ndarray] | None,
                 batch_size: int, seed: int = 0, num_workers: int = 0) -> None:
        super().__init__()
        self.train_arrays, self.val_arrays = train_arrays, val_arrays
        self.batch_size, self.seed, self.num_workers = batch_size, seed, num_workers

    def train_dataloader(self) -> DataLoader:
        shard = self.trainer is not None and self.trainer.world_size > 1
        return make_loader(self.train_arrays, self.batch_size, shuffle=True, seed=self.seed,
                           num_workers=self.num_workers, shard=shard)

    def val_dataloader(self) -> DataLoader | list:
        if self.val_arrays is None or len(self.val_arrays["target"]) == 0:
            return []
        return make_loader(self.val_arrays, self.batch_size, shuffle=False, num_workers=self.num_workers)
