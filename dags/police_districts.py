"""
### Police districts: the police's territorial units

Loads the police's file of its territorial units (the KML built for crime maps, or any OGR file
with the same fields) from `OPENCRIME_DATA_IN/police_districts/`, keeps it as an immutable
snapshot named by its SHA-256, joins units split over several placemarks, repairs invalid
polygons (reported by code), builds the hierarchy unit → district directorate → regional
directorate, checks it with the `police_units` Great Expectations suite, and only then makes it
the current version.

**Produces** `canonical/police_districts/versions/<hash>/police_units.parquet` (GeoParquet, WGS84)
and the Asset `opencrime_police_units`.

**Re-run** safely at any time: the same file gives the same version, and the pointer moves only
after validation passes.
"""

# TaskFlow passes XComArgs where the task functions declare their resolved types.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import pendulum
from airflow.sdk import dag
from opencrime_airflow.assets import POLICE_UNITS
from opencrime_airflow.config import DEFAULT_ARGS, TAGS_PIPELINE
from opencrime_airflow.settings import task_settings
from opencrime_airflow.tasks import run_id, step


@dag(
    dag_id="police_districts",
    description="The police's unit polygons → the validated current police units",
    schedule="@monthly",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "geography", "police"],
    doc_md=__doc__,
)
def police_districts() -> None:
    @step()
    def snapshot_file() -> dict:
        """Keep the police-district file as a snapshot named by its hash."""
        from transforms.pipeline import police_districts as steps

        return steps.snapshot_police_district_file(task_settings())

    @step()
    def build_units(snapshot: dict) -> dict:
        """Join split units, repair polygons, build the directorates: a staged version."""
        from transforms.pipeline import police_districts as steps

        return steps.stage_police_districts(task_settings(), snapshot)

    @step()
    def validate_units(staged: dict) -> dict:
        """The `police_units` Great Expectations suite on the staged version."""
        from transforms.pipeline import police_districts as steps

        return steps.validate_police_districts(task_settings(), staged["version"], run_id())

    @step(outlets=[POLICE_UNITS])
    def make_current(staged: dict, validation: dict) -> dict:
        """Make the validated version current (an atomic pointer swap)."""
        from transforms.pipeline import police_districts as steps

        return steps.promote_police_districts(task_settings(), staged["version"])

    staged = build_units(snapshot_file())
    make_current(staged, validate_units(staged))


police_districts()
