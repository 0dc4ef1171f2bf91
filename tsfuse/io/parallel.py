"""Run one function over many items on an engine: ``local`` (in-process or a process pool) or ``dask``.

:func:`run_tasks` yields ``(item, result, error)`` as tasks finish (any order): ``error`` is the
exception a task raised, or the one that took its worker down (a killed process, a lost dask
worker), so one bad item never stops the others.

- ``local``: ``workers=1`` runs the tasks one after the other in this process; more use a
  :class:`~concurrent.futures.ProcessPoolExecutor` with the ``spawn`` start method (a forked child
  of a process that already ran torch can hang in OpenMP).
- ``dask``: a :class:`dask.distributed.LocalCluster` of ``workers`` processes with one thread
  each, or the existing cluster at ``scheduler`` (``tcp://host:8786``); every worker must see
  the same paths (a shared file system). Needs ``pip install 'tsfuse[scale]'``. Starting a
  ``LocalCluster`` sets ``OMP_NUM_THREADS=1`` and friends in the calling process's environment;
  :func:`preserved_environ` puts the caller's environment back when the run ends, so later
  subprocesses of the caller do not silently run single-threaded.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

log = logging.getLogger(__name__)
ENGINES = ("local", "dask")


def run_tasks(fn: Callable[..., Any], items: Sequence[Any], *, engine: str = "local", workers: int = 1,
              scheduler: str | None = None, **kwargs: Any) -> Iterator[tuple[Any, Any, BaseException | None]]:
    """``fn(item, **kwargs)`` for every item on ``engine``; yields ``(item, result, error)`` as each ends."""
    check_engine(engine, workers, scheduler)
    if not items:
        return iter(())
    if engine == "dask":
        return _dask(fn, items, workers, scheduler, kwargs)
    if workers == 1:
        return _serial(fn, items, kwargs)
    return _pool(fn, items, workers, kwargs)


def check_engine(engine: str, workers: int, scheduler: str | None) -> None:
    """Refuse an unknown engine, fewer than one worker, or a scheduler address without dask."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if scheduler is not None and engine != "dask":
        raise ValueError(f"a scheduler address ({scheduler}) needs engine='dask', got engine={engine!r}")


def _serial(fn, items, kwargs):
    for item in items:
        try:
            yield item, fn(item, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - reported per item, like the parallel engines do
            yield item, None, exc


def _pool(fn, items, workers, kwargs):
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(fn, item, **kwargs): item for item in items}
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], None if error else future.result(), error
    finally:  # stopped early (Ctrl-C, an error here): drop the tasks not started yet
        pool.shutdown(cancel_futures=True)


def _dask(fn, items, workers, scheduler, kwargs):
    try:
        from dask.distributed import Client, LocalCluster, as_completed as dask_completed
    except ImportError as exc:
        raise ImportError("engine='dask' needs dask.distributed: pip install 'tsfuse[scale]' "
                          "(or use engine='local')") from exc
    with preserved_environ():
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            if workers != 1:
                log.warning("workers=%d is ignored: the cluster at %s has its own workers", workers, scheduler)
            cluster, client = None, Client(scheduler)
        try:
            futures = client.map(fn, items, pure=False, **kwargs)
            by_key = {f.key: item for f, item in zip(futures, items)}
            for future in dask_completed(futures):
                error = future.exception()
                yield by_key[future.key], None if error else future.result(), error
                future.release()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


@contextmanager
def preserved_environ() -> Iterator[None]:
    """Put ``os.environ`` back as it was on entry (keys added inside are removed, changed ones restored)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        for key in set(os.environ) - set(saved):
            del os.environ[key]
        for key, value in saved.items():
            if os.environ.get(key) != value:
                os.environ[key] = value
