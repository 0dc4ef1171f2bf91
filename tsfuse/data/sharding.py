"""Batches of window positions, shared out across data-parallel processes (DDP ranks).

``batch_size`` is the *global* batch: one optimiser step consumes one global batch, whatever the
number of processes. With ``shard=True`` and a world of N processes (read from
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

import torch
import torch.distributed as dist
from torch.utils.data import RandomSampler, Sampler, SequentialSampler


def world() -> tuple[int, int]:
    """(world size, global rank) of the initialised process group, else (1, 0)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


class GlobalBatchSampler(Sampler[list[int]]):
    """Yields lists of positions in ``range(n)``: this rank's share of each global batch.

    ``shuffle`` draws a new order each epoch from a :class:`RandomSampler` whose generator is
    seeded with ``seed`` (one process gets the batches ``BatchSampler(RandomSampler(...))`` gives).
    ``num_replicas`` / ``rank`` override what :func:`world` reports (tests).
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
