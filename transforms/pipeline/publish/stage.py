"""``build_tables``: count, protect and stage each year's tables (the count table, its
certificates, the k-anonymous points), two years at a time in worker processes."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from transforms.domain.counting import (
    Cube,
)
from transforms.domain.periods import Month
from transforms.pipeline.police_incidents import partition_folder
from transforms.pipeline.publish.inputs import (
    ReleaseContext,
    build_release_cube,
    check_history,
    load_context,
    outside_knowledge,
    previous_knowledge,
    release_years,
    year_incidents,
)
from transforms.pipeline.publish.staged import (
    AUDIT_RECORD,
    CERTIFICATES,
    POINT_CLASSES,
    PREVIOUS_CERTIFICATES,
    STAGED_TABLES,
)
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import (
    ParquetAppender,
    fingerprint,
    read_json,
    write_json_atomic,
)
from transforms.plumbing.timing import Stages
from transforms.plumbing.workers import processes_for
from transforms.privacy.cells import (
    PUBLISHED,
    SUPPRESSED,
    known_union,
)
from transforms.privacy.kanon import (
    PointLoss,
    PointRelease,
)
from transforms.privacy.report import (
    add_tallies,
    protection_cost,
    public_protection_cost,
    tally,
)
from transforms.privacy.suppression import Protection
from transforms.privacy.tables import protect_year
from transforms.validation import (
    VALIDATION_RECORD,
)

# Years counted and protected at once in build_tables, each in its own process (about 2 GiB
# each on a national year): the machines this runs on have two cores.
YEAR_WORKERS = 2


@dataclass
class StagedYear:
    """What a year's staging tells the release summary."""

    statuses: dict[str, int]
    cost: pd.DataFrame  # transforms.privacy.report.tally of the year's table
    rounds: int
    previous_release: str | None
    point_loss: PointLoss
    points: int
    counted: int
    # the country's total of each root of the offence hierarchy for the year is published: the
    # release's ledger (offences counted and the rows behind them) adds them up, so it may go
    # out only then
    totals_published: bool
    stages: list[tuple[str, float, float]]


def stage_release_tables(settings: Settings, stages: Stages | None = None) -> dict[str, Any]:
    """Count, protect (suppression + k-anonymous points) and stage the release's tables.

    Years are the roots of the period hierarchy, so no relation joins two and each year is
    counted and protected on its own, ``YEAR_WORKERS`` at a time, into its own files
    (``<table>.parquet/<year>.parquet``; readers see each table as one dataset)."""
    stages = stages or Stages()
    ctx = load_context(settings, years=())
    key = fingerprint(ctx.inputs)
    staged = settings.runs_dir / "publish" / key[:16]
    # the gates' records speak of the tables they checked: once those are rewritten, only the
    # gates may say so again (an attempt that fails halfway leaves some years restaged)
    for record in (VALIDATION_RECORD, AUDIT_RECORD, POINT_CLASSES):
        (staged / record).unlink(missing_ok=True)
    if (staged / CERTIFICATES).is_dir():
        # a run of the same inputs again: the certificates it staged are the previous release's
        # (previous_knowledge reads them as hints), kept aside while the years are restaged
        shutil.rmtree(staged / PREVIOUS_CERTIFICATES, ignore_errors=True)
        (staged / CERTIFICATES).rename(staged / PREVIOUS_CERTIFICATES)
    for table in STAGED_TABLES:  # a failed attempt's years, or an older version's single file
        if (staged / table).is_dir():
            shutil.rmtree(staged / table)
        (staged / table).unlink(missing_ok=True)
        (staged / table).mkdir(parents=True)
    years = release_years(ctx)
    statuses: Counter[str] = Counter()
    costs: list[pd.DataFrame] = []
    rounds, previous, counted, totals_published = 0, None, 0, True
    point_loss, point_rows = PointLoss(ctx.policy.incidents.k, {}, 0, 0), 0
    with processes_for(len(years), YEAR_WORKERS) as workers:
        # the workers start on the years while this process checks the history they rest on
        # (seconds each); a history that fails it stops the task, nothing staged is gated
        staging = workers.map(stage_year, repeat(settings), years, repeat(staged))
        try:
            with stages("check the history"):
                check_history(settings, ctx.inputs)
        except BaseException:
            workers.shutdown(cancel_futures=True)
            raise
        for year in staging:
            stages.record(year.stages)
            statuses.update(year.statuses)
            costs.append(year.cost)
            rounds = max(rounds, year.rounds)
            previous = year.previous_release
            point_loss, point_rows = point_loss + year.point_loss, point_rows + year.points
            counted += year.counted
            totals_published &= year.totals_published
    reports = [
        read_json(partition_folder(settings, Month.parse(m), p) / "report.json")
        for m, p in sorted(ctx.inputs["months"].items())
    ]
    cost = add_tallies(costs)
    ledger = {
        "input_rows": sum(r["input_rows"] for r in reports),
        "accepted_rows": sum(r["accepted_rows"] for r in reports),
        "quarantined_rows": sum(r["quarantined_rows"] for r in reports),
        "excluded_not_offence_rows": sum(r["excluded_not_offence_rows"] for r in reports),
        "counted_offences": counted,
    }
    ledger["quarantine_share"] = (
        round(ledger["quarantined_rows"] / ledger["input_rows"], 6) if ledger["input_rows"] else 0.0
    )
    summary = {
        "months": ctx.months,
        # the ledger adds up every offence, sensitive ones included: published only where the
        # country's year totals it is the sum of are (else it would tell a hidden one)
        **(ledger if totals_published else {"ledger_withheld": True}),
        "cells": statuses.total(),
        "cells_published": statuses[PUBLISHED],
        "cells_suppressed": statuses[SUPPRESSED],
        "protection_cost": public_protection_cost(cost),
        "incident_points": point_rows,
        "information_loss": point_loss.report(),
        "previous_release": previous,
    }
    # the operator's figures: sums over hidden cells, never in a release (privacy.report)
    internal = {
        "ledger": ledger,
        "protection_cost": protection_cost(cost, counted),
        "protection_rounds": rounds,
        "information_loss": point_loss.internal_report(),
    }
    write_json_atomic(
        staged / "inputs.json",
        ctx.inputs
        | {
            "fingerprint": key,
            "summary": summary,
            "operator_report": internal,
            "sensitive_offences": sorted(ctx.sensitive),
            "sensitive_groups": sorted(c for c in ctx.sensitive if ctx.type_parent.get(c) is None),
        },
    )
    return {"staged": str(staged), "fingerprint": key, "summary": summary}


def stage_year(settings: Settings, year: str, staged: Path) -> StagedYear:
    """One year counted, protected and staged, in a worker process of ``build_tables``."""
    stages = Stages()
    with stages("load canonical incidents"):
        ctx = load_context(settings, years=[year], shapes=True)

    def year_file(table: str) -> ParquetAppender:
        return ParquetAppender(staged / table / f"{year}.parquet", staging=True)

    with (
        year_file("counts.parquet") as counts_file,
        year_file(CERTIFICATES) as certificates_file,
        year_file("incidents.parquet") as points_file,
    ):
        cube, protection, statuses, previous, points = _stage_year(
            ctx, year, stages, counts_file, certificates_file, points_file
        )
    return StagedYear(
        {str(k): int(n) for k, n in statuses.items() if n},
        tally(cube, protection.codes, protection.table, protection.required_width),
        protection.iterations,
        previous,
        points.counts,
        len(points.points),
        len(ctx.incidents),
        _country_year_totals_published(cube, protection),
        stages.rows,
    )


def _country_year_totals_published(cube: Cube, protection: Protection) -> bool:
    """Whether the country's year total of every root of the offence hierarchy is published."""
    roots = [cube.offence.index()[c] for c in cube.offence.codes if cube.offence.parent[c] is None]
    country = [cube.geo.index()[c] for c in cube.geo.codes if cube.geo.parent[c] is None]
    years = [cube.period.index()[c] for c in cube.period.codes if cube.period.parent[c] is None]
    cells = [
        (g * cube.shape[1] + p) * cube.shape[2] + o for g in country for p in years for o in roots
    ]
    return not protection.hidden[cells].any()


def _stage_year(
    ctx: ReleaseContext,
    year: str,
    stages: Stages,
    counts_file: ParquetAppender,
    certificates_file: ParquetAppender,
    points_file: ParquetAppender,
) -> tuple[Cube, Protection, pd.Series, str | None, PointRelease]:
    """Count, protect and append one year's tables; the cube, its protection, the published
    cells by status, the previous release considered and the points."""
    with stages("count cube"):
        cube = build_release_cube(ctx, year)
    previous = previous_knowledge(ctx, cube)
    outside = outside_knowledge(ctx, cube)
    assert isinstance(ctx.geography, gpd.GeoDataFrame), "loaded with its shapes"
    with stages("protect (suppression, table, k-anonymous points)"):
        protected = protect_year(
            cube,
            year_incidents(ctx, year),
            ctx.geography[ctx.geography["level"] == "municipality"],
            ctx.policy,
            (ctx.type_names, ctx.type_parent),
            ctx.sensitive,
            (
                dict(zip(ctx.geography["code"], ctx.geography["name"], strict=True)),
                {
                    c: (None if pd.isna(p) else int(p))
                    for c, p in zip(ctx.geography["code"], ctx.geography["population"], strict=True)
                },
            ),
            known_union([previous.known, outside.known]),
            previous.keep,
            previous.hints,
            outside.sums,
        )
    with stages("stage the tables"):
        counts_file.append(protected.counts)
        statuses = protected.counts["status"].value_counts()
        hint_cells, hint_items = protected.protection.hints
        # for the audit only: never copied into a release (transforms.privacy.certificates)
        certificates_file.append(cube.keys(hint_cells).assign(candidate=hint_items))
        points_file.append(protected.points.points)
    return cube, protected.protection, statuses, previous.version, protected.points
