"""A batch of police months in one task: the history rebuild (``police_history``).

Each month goes through exactly the steps of a monthly run and lands in the same partition. The
batch loads what the months share once (the geography and its point locator, the ids of the
months before, which grow as the batch stages month after month, GX's context) and uses both
cores. Two helper processes read, check (``raw_incidents``) and screen (every check made before
the placement) the months ahead, and run the ``incident_ledger`` and ``canonical_incidents``
suites on the months staged. This process places and finishes the canonicalisation of each
month in order, because a month's repeated ids are judged against the months before it, and
commits each month once its suites have passed, in order too. Screening in one process and
finishing in the other gives the canonicalisation of a monthly run (``czech_police.screen`` and
``finish``).

A month is staged before the one before it has passed its suites: its partition is named by the
partitions before it as they will be committed. When a month fails, nothing from it on is
committed, as when the months run one by one.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from typing import Any

from transforms.domain.periods import Month
from transforms.pipeline.police_incidents import (
    IngestContext,
    commit_police_month,
    fetch_police_month,
    screen_police_month,
    stage_police_month,
    validate_police_month,
)
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.settings import Settings
from transforms.plumbing.timing import Stages
from transforms.plumbing.workers import worker_processes
from transforms.sources.czech_police import PoliceDownload, Screened

HELPER = "helper: "  # prefix of the stages the helper processes ran (beside the main's)
HELPERS = 2  # with this process, one more than the cores: its in-order work is the longest
LOOKAHEAD = 3  # months the helpers may prepare ahead of the one being staged

StageRows = list[tuple[str, float, float]]


class EmptyHistory(PermanentFailure, ValueError):
    """A history request whose last month comes before its first."""


def months_between(first_month: str, last_month: str) -> list[Month]:
    """The months from ``first_month`` to ``last_month`` (YYYY-MM), both included."""
    first, last = Month.parse(first_month), Month.parse(last_month)
    if last < first:
        raise EmptyHistory(f"last_month {last} is before first_month {first}: no month to ingest")
    return first.months_until(last)


def ingest_history(
    settings: Settings, months: list[Month], run_id: str, stages: Stages | None = None
) -> dict[str, Any]:
    """Ingest ``months`` oldest first; stops at the first month that fails (earlier months stay
    committed, later ones are left for the re-run)."""
    stages = stages or Stages()
    months = sorted(months)
    with stages("load geography"):
        context = IngestContext.load(settings, months[0])
        context.data_docs = False
    reports: list[dict[str, Any]] = []
    with worker_processes(HELPERS) as helpers:
        # parsed months wait in memory: the helpers run at most LOOKAHEAD months ahead
        prepared: dict[Month, Future[Prepared]] = {}
        # staged months, oldest first, until their suites have passed and they are committed
        checking: deque[tuple[Month, str, Future[StageRows]]] = deque()

        def submit_from(index: int) -> None:
            for month in months[index : index + LOOKAHEAD]:
                if month not in prepared:
                    prepared[month] = helpers.submit(_prepare_month, settings, month, run_id)

        def commit_checked(wait: bool) -> None:
            """Commit the staged months whose suites have passed, oldest first; ``wait``: all
            of them. A month that failed raises its ValidationFailed here, and no month after
            it is committed."""
            while checking and (wait or checking[0][2].done()):
                month, key, check = checking.popleft()
                try:
                    with stages("wait for the helpers"):
                        rows = check.result()
                except BaseException:
                    for _, _, later in checking:
                        later.cancel()
                    checking.clear()
                    raise
                stages.rows += [(HELPER + name, s, rss) for name, s, rss in rows]
                with stages("commit"):
                    reports.append(commit_police_month(settings, month, key))

        submit_from(0)
        try:
            for index, month in enumerate(months):
                with stages("wait for the helpers"):
                    snapshot, download, screened, helper_rows = prepared.pop(month).result()
                submit_from(index + 1)
                stages.rows += [(HELPER + name, s, rss) for name, s, rss in helper_rows]
                staged = stage_police_month(
                    settings,
                    month,
                    snapshot,
                    run_id,
                    context=context,
                    stages=stages,
                    download=download,
                    screened=screened,
                )
                with stages("ids for the months after"):
                    context.add_month(settings, month, staged["key"])
                checking.append(
                    (
                        month,
                        staged["key"],
                        helpers.submit(_check_month, settings, month, staged["key"], run_id),
                    )
                )
                commit_checked(wait=False)
            commit_checked(wait=True)
        except BaseException:
            for future in prepared.values():
                future.cancel()
            # the months staged before the failure stay committed, as they would one by one;
            # if one of them failed its suites, that earlier failure is the one raised
            commit_checked(wait=True)
            raise
    return {
        "months": len(months),
        "input_rows": sum(r["input_rows"] for r in reports),
        "accepted_rows": sum(r["accepted_rows"] for r in reports),
        "quarantined_rows": sum(r["quarantined_rows"] for r in reports),
    }


# the snapshot, the parsed month and its screened rows (sent back rather than parsed and
# checked twice) and the helper's stages
Prepared = tuple[dict[str, Any], PoliceDownload, Screened, StageRows]


def _prepare_month(settings: Settings, month: Month, run_id: str) -> Prepared:
    """In the helper: snapshot, parse, raw suite, screen."""
    stages = Stages()
    with stages("snapshot"):
        snapshot = fetch_police_month(settings, month)
    download, screened = screen_police_month(
        settings, month, snapshot, run_id, stages=stages, data_docs=False
    )
    # the rows go back to the task once, screened (a month's text is tens of megabytes)
    return snapshot, download.without_rows(), screened, stages.rows


def _check_month(settings: Settings, month: Month, key: str, run_id: str) -> StageRows:
    """In a helper: the staged month's ledger and canonical suites (its Data Docs only if it
    fails); the helper's stages."""
    stages = Stages()
    validate_police_month(settings, month, key, run_id, stages=stages, data_docs=False)
    return stages.rows
