"""Stage timings: wall time and the process's peak RSS after each named stage.

Steps take a :class:`Stages` and wrap their parts in ``with stages("name"):``; each part is
logged (so a task's log in the Airflow UI shows where its time went) and kept in ``rows`` for
the benchmarks in ``bench/``.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


def peak_rss_mib() -> float:
    """The process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stages:
    """Each row: (stage, seconds, peak RSS MiB). A stage nested in another (the spatial join
    inside canonicalisation) is its own row and its time is not counted again in the outer."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []
        self._nested: list[float] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        self._nested.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            seconds = elapsed - self._nested.pop()
            if self._nested:
                self._nested[-1] += elapsed
            self.rows.append((name, seconds, peak_rss_mib()))
        log.info("stage %s: %.2f s, peak RSS %.0f MiB", name, seconds, peak_rss_mib())

    def record(self, rows: list[tuple[str, float, float]]) -> None:
        """Stages another process ran for this step (their RSS is that process's)."""
        for name, seconds, rss in rows:
            self.rows.append((name, seconds, rss))
            log.info("stage %s: %.2f s, peak RSS %.0f MiB (side process)", name, seconds, rss)

    def total(self, name: str) -> float:
        return sum(seconds for stage, seconds, _ in self.rows if stage == name)

    def summary(self) -> str:
        """Each stage's total time, a line each, in the order the stages first ran."""
        names = dict.fromkeys(stage for stage, _, _ in self.rows)
        return "\n".join(f"{name:28} {self.total(name):8.1f} s" for name in names)
