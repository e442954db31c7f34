"""A batch of police months in one task: the history rebuild (``police_history``).

Each month goes through exactly the steps of a monthly run and lands in the same partition. The
batch loads what the months share once (the geography and its point locator, the ids of the
months already committed, which grow as the batch commits month after month, GX's context) and
uses both cores: a helper process reads, checks (``raw_incidents``) and screens (every check
made before the placement) month *m + 1* while this one places, finishes the
canonicalisation, validates and commits month *m*, which is the part that must go in order (a
month's repeated ids are judged against the months committed before it). Screening in one
process and finishing in the other gives the canonicalisation of a monthly run
(``czech_police.screen`` and ``finish``).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from transforms.periods import Month
from transforms.pipeline.incidents import (
    IngestContext,
    add_accepted_ids,
    commit_police_month,
    fetch_police_month,
    screen_police_month,
    stage_police_month,
    validate_police_month,
)
from transforms.settings import Settings
from transforms.sources.czech_police import PoliceDownload, Screened
from transforms.timing import Stages
from transforms.validation import import_great_expectations
from transforms.workers import worker_processes

HELPER = "helper: "  # prefix of the stages the helper process ran (beside the main's)
LOOKAHEAD = 2  # months the helper may prepare ahead of the one being committed


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
    reports = []
    with worker_processes(1) as helper:
        # the helper runs at most LOOKAHEAD months ahead: parsed months wait in memory
        prepared: dict[Month, Future[Prepared]] = {}

        def submit_from(index: int) -> None:
            for month in months[index : index + LOOKAHEAD]:
                if month not in prepared:
                    prepared[month] = helper.submit(_prepare_month, settings, month, run_id)

        submit_from(0)
        try:
            with stages("import Great Expectations"):
                import_great_expectations()
            for index, month in enumerate(months):
                with stages("wait for the helper"):
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
                validate_police_month(
                    settings, month, staged["key"], run_id, stages=stages, data_docs=False
                )
                with stages("commit"):
                    reports.append(commit_police_month(settings, month, staged["key"]))
                    add_accepted_ids(context.earlier, settings, str(month), staged["key"])
        except BaseException:
            for future in prepared.values():
                future.cancel()
            raise
    return {
        "months": len(months),
        "input_rows": sum(r["input_rows"] for r in reports),
        "accepted_rows": sum(r["accepted_rows"] for r in reports),
        "quarantined_rows": sum(r["quarantined_rows"] for r in reports),
    }


# the snapshot, the parsed month and its screened rows (sent back rather than parsed and
# checked twice) and the helper's stages
Prepared = tuple[dict[str, Any], PoliceDownload, Screened, list[tuple[str, float, float]]]


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
