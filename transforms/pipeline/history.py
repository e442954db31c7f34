"""A batch of police months in one task: the history rebuild (``police_incidents``' backfill).

Each month goes through exactly the steps a monthly run takes (snapshot, raw suite, parse,
place, canonicalise, canonical suite, commit) and lands in the same partition; the batch only
loads what the months share once: the geography, its point locator and the ids of the months
already committed, which grow as the batch commits month after month.
"""

from __future__ import annotations

from typing import Any

from transforms.periods import Month
from transforms.pipeline.incidents import (
    IngestContext,
    commit_police_month,
    fetch_police_month,
    partition_folder,
    stage_police_month,
    validate_police_month,
)
from transforms.settings import Settings
from transforms.timing import Stages


def ingest_history(
    settings: Settings, months: list[Month], run_id: str, stages: Stages | None = None
) -> dict[str, Any]:
    """Ingest ``months`` oldest first; stops at the first month that fails (earlier months stay
    committed, later ones are left for the re-run)."""
    import pandas as pd

    stages = stages or Stages()
    months = sorted(months)
    with stages("load geography"):
        context = IngestContext.load(settings, months[0])
        context.data_docs = False
    reports = []
    for month in months:
        with stages("snapshot"):
            snapshot = fetch_police_month(settings, month)
        staged = stage_police_month(
            settings, month, snapshot, run_id, context=context, stages=stages
        )
        validate_police_month(
            settings, month, staged["key"], run_id, stages=stages, data_docs=False
        )
        with stages("commit"):
            reports.append(commit_police_month(settings, month, staged["key"]))
            ids = pd.read_parquet(
                partition_folder(settings, month, staged["key"]) / "incidents.parquet",
                columns=["incident_id"],
            )
            context.earlier.add(str(month), ids["incident_id"].to_numpy())
    return {
        "months": len(months),
        "input_rows": sum(r["input_rows"] for r in reports),
        "accepted_rows": sum(r["accepted_rows"] for r in reports),
        "quarantined_rows": sum(r["quarantined_rows"] for r in reports),
    }
