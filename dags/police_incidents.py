"""
### Police incidents: one calendar month per run

Fetches the month's police open-data archive (`{YYYYMM}.zip`: records plus their code lists) from
`OPENCRIME_DATA_IN/police/` or the police API — or, when `OPENCRIME_POLICE_SQL_CONN_ID` names an
Airflow Connection, reads the month's rows from that police database in chunks and writes the
same archive — keeps the raw bytes as an immutable snapshot named
by their SHA-256, parses it to the canonical incident schema, places every incident in a
municipality of the current geography, and validates (`raw_incidents`, `incident_ledger`,
`canonical_incidents`). Rows that cannot be used go to the month's quarantine with a reason.

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

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task
from opencrime_airflow.assets import INCIDENTS
from opencrime_airflow.config import (
    DEFAULT_ARGS,
    NETWORK_RETRIES,
    TAGS_PIPELINE,
    end_date,
    police_database_url,
    start_date,
    task_settings,
)


def _run_month() -> str:
    """The month this run covers: the `month` parameter if given, else the data interval."""
    context = get_current_context()
    chosen = context["params"].get("month")
    if chosen:
        return str(chosen)
    start = context["data_interval_start"]
    assert start is not None
    return f"{start.year:04d}-{start.month:02d}"


@dag(
    dag_id="police_incidents",
    schedule=CronDataIntervalTimetable("@monthly", timezone="UTC"),
    start_date=start_date(),
    end_date=end_date(),
    catchup=True,
    # one month at a time, in order: a month's cross-month duplicates are judged against the
    # months committed before it
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "police"],
    params={
        "month": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
            description="Process this month (YYYY-MM) instead of the run's data interval.",
        )
    },
    doc_md=__doc__,
)
def police_incidents() -> None:
    @task(**NETWORK_RETRIES)
    def fetch_month() -> dict:
        from transforms.periods import Month
        from transforms.pipeline import incidents as steps

        settings = task_settings()
        return steps.fetch_police_month(
            settings, Month.parse(_run_month()), police_database_url(settings)
        )

    @task
    def parse_and_place(snapshot: dict) -> dict:
        from transforms.periods import Month
        from transforms.pipeline import incidents as steps

        run_id = get_current_context()["run_id"]
        month = Month.parse(_run_month())
        staged = steps.stage_police_month(task_settings(), month, snapshot, run_id)
        print(
            f"{staged['input_rows']} rows in: {staged['accepted_rows']} accepted, "
            f"{staged['quarantined_rows']} quarantined ({staged['quarantine_share']:.2%})"
        )
        for reason in staged.pop("quarantine_reasons"):
            print(
                f"quarantined {reason['count']:>6} × {reason['reason']}, "
                f"e.g. {reason['examples'][:2]}"
            )
        return staged

    @task
    def validate_month(staged: dict) -> dict:
        from transforms.periods import Month
        from transforms.pipeline import incidents as steps

        run_id = get_current_context()["run_id"]
        month = Month.parse(_run_month())
        return steps.validate_police_month(task_settings(), month, staged["key"], run_id)

    @task(outlets=[INCIDENTS])
    def commit_month(staged: dict, validation: dict) -> dict:
        from transforms.periods import Month
        from transforms.pipeline import incidents as steps

        report = steps.commit_police_month(
            task_settings(), Month.parse(_run_month()), staged["key"]
        )
        return {k: v for k, v in report.items() if k != "quarantine_reasons"}

    staged = parse_and_place(fetch_month())
    commit_month(staged, validate_month(staged))


police_incidents()
