"""
### Boundaries: the canonical geography

Loads the administrative boundaries (RÚIAN: regions, districts, municipalities, in any OGR format,
any CRS) and the ČSÚ population table, keeps both as immutable snapshots named by their SHA-256,
repairs invalid polygons, reprojects to WGS84, checks the result with the `geography` Great
Expectations suite, and only then makes it the current geography.

**Consumes** `OPENCRIME_DATA_IN/boundaries/*`, `OPENCRIME_DATA_IN/population/*.csv`.
**Produces** `canonical/geography/versions/<hash>/geography.parquet` (GeoParquet) and the Asset
`opencrime_geography`, which triggers `publish`.

**Re-run** safely at any time: the same inputs give the same version, and the pointer moves only
after validation passes. A failed validation leaves the previous geography current; its Data Docs
are under `runs/boundaries/<run_id>/data_docs/`.
"""

# TaskFlow passes XComArgs where the task functions declare their resolved types.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import pendulum
from airflow.sdk import dag
from opencrime_airflow.assets import GEOGRAPHY
from opencrime_airflow.config import DEFAULT_ARGS, TAGS_PIPELINE
from opencrime_airflow.settings import task_settings
from opencrime_airflow.tasks import run_id, step


@dag(
    dag_id="boundaries",
    description="Boundaries and population → the validated current geography",
    schedule="@monthly",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "geography"],
    doc_md=__doc__,
)
def boundaries() -> None:
    @step()
    def snapshot_inputs() -> dict:
        """Keep the boundary file and the population table as snapshots named by their hash."""
        from transforms.pipeline import boundaries as steps

        return steps.snapshot_boundary_inputs(task_settings())

    @step()
    def build_geography(snapshots: dict) -> dict:
        """Repair, reproject to WGS84 and join the population: a staged geography version."""
        from transforms.pipeline import boundaries as steps

        return steps.stage_geography(task_settings(), snapshots)

    @step()
    def validate_geography(staged: dict) -> dict:
        """The `geography` Great Expectations suite on the staged version."""
        from transforms.pipeline import boundaries as steps

        return steps.validate_geography(task_settings(), staged["version"], run_id())

    @step(outlets=[GEOGRAPHY])
    def make_current(staged: dict, validation: dict) -> dict:
        """Make the validated version the current geography (an atomic pointer swap)."""
        from transforms.pipeline import boundaries as steps

        return steps.promote_geography(task_settings(), staged["version"])

    staged = build_geography(snapshot_inputs())
    make_current(staged, validate_geography(staged))


boundaries()
