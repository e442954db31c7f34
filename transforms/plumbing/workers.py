"""Worker processes for independent parts of one task (years of a release, the next month of a
history batch, the vector tiles beside the other files)."""

from __future__ import annotations

import multiprocessing
import sys
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

# glibc's allocator, for every process of the pipeline. It is read when a process starts, so it
# is set in the environment: by the image (Dockerfile), by make and by the benchmarks, each with
# this value (tests/test_deployment.py checks they agree). Blocks up to 32 MiB come from the
# heap, and memory freed there stays for the next year or month. By default glibc maps large
# blocks afresh and unmaps them when freed, and the kernel zeroes every new page: system time
# spent again for every year (docs/performance.md has the measurements).
GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824"


def worker_processes(workers: int) -> Executor:
    """``workers`` spawned processes. Spawned, not forked: a worker must not inherit Arrow's or
    GX's threads mid-flight.

    A daemonic process (a task in some Celery prefork pools) may not have children: there the
    parts run in this process, one after another, with the same results.
    """
    if multiprocessing.current_process().daemon:
        return InlineExecutor()
    return _SpawnedWorkers(workers, mp_context=multiprocessing.get_context("spawn"))


def processes_for(parts: int, most: int) -> Executor:
    """Up to ``most`` worker processes for ``parts`` independent parts. A single part runs in
    this process: a process of its own would add only its start-up (seconds of imports)."""
    return worker_processes(min(parts, most)) if parts > 1 else InlineExecutor()


class _SpawnedWorkers(ProcessPoolExecutor):
    """A spawned process normally re-runs the parent's main script first. Under Airflow that is
    the ``airflow`` command, which fails in a task's child (a task may not reach the metadata
    database). The parts are functions of this package, so the workers start without it."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with _without_main_script():  # the pool starts its processes in its first submit
            return super().submit(fn, *args, **kwargs)


@contextmanager
def _without_main_script() -> Iterator[None]:
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class InlineExecutor(Executor):
    """Runs each part when it is submitted, in this process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # the caller sees it from result(), as from a pool
            future.set_exception(error)
        return future
