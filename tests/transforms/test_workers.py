"""Worker processes for a task's independent parts, and the fallback where a task may not have
children (a daemonic process, as in some Celery prefork pools)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from transforms.plumbing.workers import InlineExecutor, processes_for, worker_processes


def _pid_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n


def _fail(message: str) -> None:
    raise ValueError(message)


def test_parts_run_in_other_processes() -> None:
    with worker_processes(2) as workers:
        assert isinstance(workers, ProcessPoolExecutor)
        results = list(workers.map(_pid_and_square, range(4)))
    assert [square for _, square in results] == [0, 1, 4, 9]
    assert os.getpid() not in {pid for pid, _ in results}


def test_one_part_runs_here_and_more_parts_in_workers() -> None:
    with processes_for(1, most=2) as one:
        assert list(one.map(_pid_and_square, [3])) == [(os.getpid(), 9)]
    with processes_for(3, most=2) as three:
        assert isinstance(three, ProcessPoolExecutor) and three._max_workers == 2
        results = list(three.map(_pid_and_square, range(3)))
    assert os.getpid() not in {pid for pid, _ in results}


def _executor_kind(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    with worker_processes(2) as workers:
        results = list(workers.map(_pid_and_square, range(3)))
        queue.put((type(workers).__name__, results, os.getpid()))


def test_a_daemonic_process_runs_the_parts_itself() -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    daemon = context.Process(target=_executor_kind, args=(queue,), daemon=True)
    daemon.start()
    kind, results, pid = queue.get(timeout=60)
    daemon.join(60)
    assert kind == "InlineExecutor"
    assert results == [(pid, 0), (pid, 1), (pid, 4)]


def test_inline_parts_raise_as_a_pool_would() -> None:
    with InlineExecutor() as inline:
        future = inline.submit(_fail, "no such month")
    with pytest.raises(ValueError, match="no such month"):
        future.result()


def test_workers_start_without_the_parents_main_script(tmp_path) -> None:
    """Under Airflow the main script is the ``airflow`` command, which fails when a task's child
    imports it: the workers must not re-run it."""
    import subprocess
    import sys

    script = tmp_path / "main_that_fails_in_children.py"
    script.write_text(
        "if __name__ != '__main__':\n"
        "    raise RuntimeError('the main script ran in a worker')\n"
        "from transforms.plumbing.workers import worker_processes\n"
        "import math\n"
        "with worker_processes(2) as workers:\n"
        "    print(list(workers.map(math.factorial, range(4))))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[1, 1, 2, 6]"
