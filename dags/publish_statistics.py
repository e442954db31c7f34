"""
### Publish the police's statistics: a second dataset

Runs whenever a month of the police's statistics, the police units or the geography changes.

1. **build_tables**: every committed month's figures per police unit, summed to the district
   directorates and regions: each month's own figures (the report minus the previous month's;
   a negative month is kept and marked `revised`) and the year to date, by TSK code, with the
   population each unit covers (its municipalities, split ones by area), the crime index
   (offences found per 10,000 inhabitants) and the share solved.
2. **validate_tables**: the `published_police_statistics` Great Expectations suite.
3. **write_release**: an immutable `releases/<dataset>-police-statistics/<YYYY-MM.N>/`
   (`figures.csv`, `figures.parquet`, `police_units.geojson`, `police_units.parquet`,
   `police_units.pmtiles`,
   `datapackage.json`, `catalog/dataset.jsonld`, `manifest.json`, `SHA256SUMS`); `latest.json`
   moves only after the release is complete.

The figures are the police's own, already public: the incident release's audit takes readers to
hold them, so this dataset needs no suppression and tells nothing the audit has not modelled.

**Idempotent**: the same inputs (statistics months, police units, geography, code) publish
nothing new. A failed validation publishes nothing.
"""

# TaskFlow passes XComArgs where the task functions declare their resolved types.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import pendulum
from airflow.sdk import dag
from opencrime_airflow.assets import GEOGRAPHY, POLICE_STATISTICS, POLICE_UNITS
from opencrime_airflow.config import DEFAULT_ARGS, TAGS_PIPELINE
from opencrime_airflow.settings import task_settings
from opencrime_airflow.tasks import run_id, step


@dag(
    dag_id="publish_statistics",
    description="The police's statistics with population and crime index → a versioned release",
    schedule=(POLICE_STATISTICS | POLICE_UNITS | GEOGRAPHY),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "release", "police"],
    doc_md=__doc__,
)
def publish_statistics() -> None:
    @step()
    def build_tables() -> dict:
        """Months and years to date per unit, directorate and region, with the rates."""
        from transforms.pipeline import statistics_release as steps

        return steps.stage_statistics_tables(task_settings())

    @step()
    def validate_tables(staged: dict) -> dict:
        """The `published_police_statistics` suite on the staged table."""
        from transforms.pipeline import statistics_release as steps

        return steps.validate_statistics_tables(task_settings(), staged["staged"], run_id())

    @step()
    def write_release(staged: dict, validation: dict) -> dict:
        """Write the immutable release folder, then move `latest`."""
        from transforms.pipeline import statistics_release as steps

        result = steps.write_statistics_release(task_settings(), staged["staged"])
        print(("new release " if result["created"] else "unchanged, latest is ") + result["path"])
        return result

    staged = build_tables()
    write_release(staged, validate_tables(staged))


publish_statistics()
