"""
### Police history: a batch of months in one task (a full rebuild)

For re-publishing the whole history (a policy change, a new geography, a code fix): trigger with
`first_month` and `last_month` (`YYYY-MM`). Each month goes through exactly the steps of a
`police_incidents` run (snapshot, `raw_incidents`, parse, spatial join, canonical schema,
`incident_ledger` and `canonical_incidents`, commit) and lands in the same partition, so the
monthly DAG carries on from where this one stops. What the months share is loaded once: the
geography and its point locator, the ids already committed, Great Expectations' context. Data
Docs are built only for a month that fails a suite.

Months run oldest first; the first month that fails stops the run with its reason, earlier months
stay committed, and clearing the task resumes (committed months give the same partitions).

**Produces** the same partitions and the Asset `opencrime_incidents`, which triggers `publish`
once for the whole batch.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, get_current_context
from opencrime_airflow.assets import INCIDENTS
from opencrime_airflow.config import DEFAULT_ARGS, TAGS_PIPELINE
from opencrime_airflow.settings import task_settings
from opencrime_airflow.tasks import run_id, step

from transforms.domain.periods import MONTH_PATTERN


@dag(
    dag_id="police_history",
    description="A batch of months in one task: the full history rebuilt",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "police"],
    doc_md=__doc__,
    params={
        "first_month": Param(
            "2013-01",
            type="string",
            pattern=MONTH_PATTERN,
            title="First month",
            description="YYYY-MM, the oldest month to ingest",
        ),
        "last_month": Param(
            "2022-12",
            type="string",
            pattern=MONTH_PATTERN,
            title="Last month",
            description="YYYY-MM, the newest month to ingest",
        ),
    },
)
def police_history() -> None:
    @step(outlets=[INCIDENTS])
    def ingest_months() -> dict:
        """Ingest the months oldest first; the first month that fails stops the run."""
        from transforms.pipeline import police_history as steps
        from transforms.plumbing.timing import Stages

        params = get_current_context()["params"]
        months = steps.months_between(params["first_month"], params["last_month"])
        stages = Stages()
        result = steps.ingest_history(task_settings(), months, run_id(), stages=stages)
        print(stages.summary())
        return result

    ingest_months()


police_history()
