"""The pipeline's steps in plain Python (no Airflow), as the fixtures and tests run them."""

from __future__ import annotations

from typing import Any

from transforms.domain.periods import Month
from transforms.pipeline import boundaries as geography
from transforms.pipeline import police_districts as police_units
from transforms.pipeline import police_incidents as incidents
from transforms.pipeline import police_statistics as statistics
from transforms.pipeline.publish import audit, inputs, stage, validate, write
from transforms.plumbing.settings import Settings

SAMPLE_MONTHS = (Month(2025, 1), Month(2025, 2), Month(2025, 3))


def promote_geography(settings: Settings, run_id: str) -> None:
    snapshots = geography.snapshot_boundary_inputs(settings)
    staged = geography.stage_geography(settings, snapshots)
    geography.validate_geography(settings, staged["version"], run_id)
    geography.promote_geography(settings, staged["version"])


def commit_month(
    settings: Settings, month: Month, run_id: str, per_region: bool = False
) -> dict[str, Any]:
    """``per_region``: the spatial join per region, as the DAG's mapped tasks do it."""
    snapshot = incidents.fetch_police_month(settings, month)
    if per_region:
        prepared = incidents.prepare_placement(settings, month, snapshot, run_id)
        for region in prepared["regions"]:
            incidents.place_in_region(settings, month, prepared["key"], region)
    staged = incidents.stage_police_month(
        settings, month, snapshot, run_id, placed_by_region=per_region
    )
    incidents.validate_police_month(settings, month, staged["key"], run_id)
    return incidents.commit_police_month(settings, month, staged["key"])


def promote_police_units(settings: Settings, run_id: str) -> None:
    staged = police_units.stage_police_districts(
        settings, police_units.snapshot_police_district_file(settings)
    )
    police_units.validate_police_districts(settings, staged["version"], run_id)
    police_units.promote_police_districts(settings, staged["version"])


def commit_statistics_month(settings: Settings, month: Month, run_id: str) -> dict[str, Any]:
    snapshots = statistics.fetch_statistics_month(settings, month)
    staged = statistics.stage_statistics_month(settings, month, snapshots, run_id)
    return statistics.commit_statistics_month(settings, month, staged["partition"])


def publish(settings: Settings, run_id: str) -> dict[str, Any]:
    policy = inputs.check_policy(settings)
    tables = stage.stage_release_tables(settings)
    audited = audit.audit_release_tables(settings, tables["staged"])
    validate.validate_release_tables(settings, tables["staged"], run_id)
    published = write.write_release(settings, tables["staged"], run_id)
    return {"policy": policy, "tables": tables, "audit": audited, "release": published}


def run_sample(settings: Settings, run_id: str, per_region: bool = False) -> dict[str, Any]:
    """Geography, the three sample months, the police's units and statistics (the audit takes
    readers to hold them), and the release."""
    promote_geography(settings, run_id)
    reports = [commit_month(settings, month, run_id, per_region) for month in SAMPLE_MONTHS]
    promote_police_units(settings, run_id)
    for month in SAMPLE_MONTHS:
        commit_statistics_month(settings, month, run_id)
    return {"settings": settings, "reports": reports, **publish(settings, run_id)}
