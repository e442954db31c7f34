"""
### Publish: a validated, versioned open-data release

Runs whenever the geography or a month of incidents changes. Counts offences by municipality,
district, region and country × month × offence group, applies the disclosure policy
(`policy/disclosure.yaml`: small counts are suppressed and marked, never faked), validates the
result with the `published_counts` suite and writes an immutable release
`releases/<dataset>/<YYYY-MM.N>/` (Parquet, CSV, GeoJSON, GeoParquet, the policy, Data Docs,
`manifest.json`, `SHA256SUMS`). `latest.json` moves only after the release is complete.

**Idempotent**: when the inputs (geography, month partitions, policy, code version) equal those of
the latest release, nothing new is written. A failed validation publishes nothing; the Data Docs of
the failed check are under `runs/publish/<run_id>/data_docs/`.
"""

# TaskFlow passes XComArgs where the task functions declare their resolved types.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import pendulum
from airflow.sdk import dag, get_current_context, task
from opencrime_airflow.assets import GEOGRAPHY, INCIDENTS, RELEASE
from opencrime_airflow.config import DEFAULT_ARGS, TAGS_PIPELINE, task_settings


@dag(
    dag_id="publish",
    schedule=(GEOGRAPHY | INCIDENTS),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "release"],
    doc_md=__doc__,
)
def publish() -> None:
    @task
    def build_tables() -> dict:
        from transforms import pipeline

        return pipeline.stage_release_tables(task_settings())

    @task
    def validate_tables(staged: dict) -> dict:
        from transforms import pipeline

        run_id = get_current_context()["run_id"]
        return pipeline.validate_release_tables(task_settings(), staged["staged"], run_id)

    @task(outlets=[RELEASE])
    def write_release(staged: dict, validation: dict) -> dict:
        from transforms import pipeline

        run_id = get_current_context()["run_id"]
        result = pipeline.write_release(task_settings(), staged["staged"], run_id)
        print(("new release " if result["created"] else "unchanged, latest is ") + result["path"])
        return result

    staged = build_tables()
    write_release(staged, validate_tables(staged))


publish()
