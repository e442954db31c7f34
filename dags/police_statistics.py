"""
### Police statistics: one month of the police's statistical reports

Fetches the month's "Statistický výkaz č. 1 – kriminalita" workbooks (one per district
directorate, `a{KK}{OO}__.xls`, a sheet per police unit, figures cumulated from 1 January) and the
TSK code list, from `OPENCRIME_DATA_IN/police_statistics/<YYYYMM>/` or the URL pattern
`OPENCRIME_POLICE_STATISTICS_URL`; keeps each file as an immutable snapshot named by its SHA-256;
checks every sheet with the `raw_police_reports` suite (codes known, subtotals equal to their rows,
the month's period); lists every figure lower than in the previous month's committed report (the
police's corrections: the latest report wins, and the month is marked revised); and names the
directorates, units or sheets the month lacks against the current police units.

**Schedule**: `@monthly`, catch-up from `OPENCRIME_FIRST_MONTH`; a manual run takes the `month`
parameter (`YYYY-MM`).

**Produces** `canonical/police_statistics/parts/<month>/<hash>/` (`cumulative.parquet`,
`revisions.parquet`, `report.json`) and the Asset `opencrime_police_statistics`.

**Re-run** a month by clearing its run: the same files give the same partition, and the month's
pointer moves only after validation passes.
"""

# TaskFlow passes XComArgs where the task functions declare their resolved types.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag
from opencrime_airflow.assets import POLICE_STATISTICS
from opencrime_airflow.config import (
    DEFAULT_ARGS,
    NETWORK_RETRIES,
    TAGS_PIPELINE,
    end_date,
    month_params,
    start_date,
)
from opencrime_airflow.settings import task_settings
from opencrime_airflow.tasks import run_id, run_month, step


@dag(
    dag_id="police_statistics",
    description="One month of the police's statistical reports → a validated partition",
    schedule=CronDataIntervalTimetable("@monthly", timezone="UTC"),
    start_date=start_date(),
    end_date=end_date(),
    catchup=True,
    # in order: a month's corrections are found against the month committed before it
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "police"],
    params=month_params(),
    doc_md=__doc__,
)
def police_statistics() -> None:
    @step(**NETWORK_RETRIES)
    def fetch_reports() -> dict:
        """Fetch the month's workbooks and the TSK code list; keep each as a snapshot."""
        from transforms.pipeline import police_statistics as steps

        return steps.fetch_statistics_month(task_settings(), run_month())

    @step()
    def check_and_stage(snapshots: dict) -> dict:
        """Read every sheet, check it (`raw_police_reports`), list corrections and gaps."""
        from transforms.pipeline import police_statistics as steps

        report = steps.stage_statistics_month(task_settings(), run_month(), snapshots, run_id())
        print({k: v for k, v in report.items() if k != "inputs"})
        return {k: v for k, v in report.items() if k != "inputs"}

    @step(outlets=[POLICE_STATISTICS])
    def commit_reports(staged: dict) -> dict:
        """Make the validated partition the month's (an atomic pointer swap)."""
        from transforms.pipeline import police_statistics as steps

        report = steps.commit_statistics_month(task_settings(), run_month(), staged["partition"])
        return {k: v for k, v in report.items() if k != "inputs"}

    commit_reports(check_and_stage(fetch_reports()))


police_statistics()
