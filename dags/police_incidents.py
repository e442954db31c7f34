"""
### Police incidents: one calendar month per run

Fetches the month's police open-data archive (`{YYYYMM}.zip`: records plus their code lists) from
`OPENCRIME_DATA_IN/police/` or the police API — or, when `OPENCRIME_POLICE_SQL_CONN_ID` names an
Airflow Connection, reads the month's rows from that police database in chunks and writes the
same archive — keeps the raw bytes as an immutable snapshot named by their SHA-256, checks the
raw records (`raw_incidents`), places every incident in a municipality of the current geography
(`place_in_region`: one mapped task per region, shared by the workers), parses it to the
canonical incident schema, and validates (`incident_ledger`, `canonical_incidents`). Rows that
cannot be used go to the month's quarantine with a reason.

**Schedule**: `@monthly` with a one-month data interval; catch-up fills history from
`OPENCRIME_FIRST_MONTH`. A manual run processes the last complete month, or the month given in
the `month` parameter (`YYYY-MM`).

**Produces** `canonical/incidents/parts/<month>/<hash>/` (`incidents.parquet`,
`quarantine.parquet`, `report.json`) and the Asset `opencrime_incidents`, which triggers `publish`.

**Re-run** a month by clearing its run: the same snapshot gives the same partition, and the month's
pointer moves only after validation passes.
"""

# TaskFlow passes XComArgs where the task functions declare their resolved types.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context
from opencrime_airflow.assets import INCIDENTS
from opencrime_airflow.config import (
    DEFAULT_ARGS,
    NETWORK_RETRIES,
    TAGS_PIPELINE,
    end_date,
    month_params,
    start_date,
)
from opencrime_airflow.settings import police_database_url, task_settings
from opencrime_airflow.tasks import run_id, run_month, step


@dag(
    dag_id="police_incidents",
    description="One month of police records → a validated canonical partition",
    schedule=CronDataIntervalTimetable("@monthly", timezone="UTC"),
    start_date=start_date(),
    end_date=end_date(),
    catchup=True,
    # one month at a time, in order: a month's cross-month duplicates are judged against the
    # months committed before it
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "police"],
    params=month_params(),
    doc_md=__doc__,
)
def police_incidents() -> None:
    @step(**NETWORK_RETRIES)
    def fetch_month() -> dict:
        """Fetch the month's archive (folder, police API or database) and keep it as a snapshot."""
        from transforms.pipeline import police_incidents as steps

        settings = task_settings()
        return steps.fetch_police_month(settings, run_month(), police_database_url(settings))

    @step()
    def check_raw_month(snapshot: dict) -> list[dict]:
        """Check the raw file (`raw_incidents`); one placement job per region."""
        from transforms.pipeline import police_incidents as steps

        prepared = steps.prepare_placement(task_settings(), run_month(), snapshot, run_id())
        print(f"{prepared['points']} points to place in {len(prepared['regions'])} regions")
        return [{"key": prepared["key"], "region": region} for region in prepared["regions"]]

    # the spatial join, one mapped task per region: Celery workers share them
    @step(map_index_template="{{ region_label }}")
    def place_in_region(key: str, region: str) -> dict:
        """Place the region's points in its municipalities."""
        from transforms.pipeline import police_incidents as steps

        get_current_context()["region_label"] = f"region {region}"  # type: ignore[typeddict-unknown-key]
        return steps.place_in_region(task_settings(), run_month(), key, region)

    @step()
    def parse_and_place(snapshot: dict, placed: list[dict]) -> dict:
        """Parse to the canonical schema; rows that cannot be used go to the quarantine."""
        from transforms.pipeline import police_incidents as steps

        staged = steps.stage_police_month(
            task_settings(), run_month(), snapshot, run_id(), placed_by_region=True
        )
        print("\n".join(steps.ledger_lines(staged)))
        return {k: v for k, v in staged.items() if k != "quarantine_reasons"}

    @step()
    def validate_month(staged: dict) -> dict:
        """The `incident_ledger` and `canonical_incidents` suites on the staged partition."""
        from transforms.pipeline import police_incidents as steps

        return steps.validate_police_month(task_settings(), run_month(), staged["key"], run_id())

    @step(outlets=[INCIDENTS])
    def commit_month(staged: dict, validation: dict) -> dict:
        """Make the validated partition the month's (an atomic pointer swap)."""
        from transforms.pipeline import police_incidents as steps

        report = steps.commit_police_month(task_settings(), run_month(), staged["key"])
        return {k: v for k, v in report.items() if k != "quarantine_reasons"}

    snapshot = fetch_month()
    placed = place_in_region.expand_kwargs(check_raw_month(snapshot))
    staged = parse_and_place(snapshot, placed)
    commit_month(staged, validate_month(staged))


police_incidents()
