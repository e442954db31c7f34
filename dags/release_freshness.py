"""
### Release freshness: the alarm for a late monthly release

Runs daily and checks that the latest published release covers every month the disclosure
policy says is due (`time.release_lag_months` full months after the month ends, plus
`OPENCRIME_RELEASE_GRACE_DAYS`). A late release fails the run with a message naming the missing
month and how many days it is overdue; the failure callback writes it to
`runs/failures/release_freshness/…` under the data root, where alerting picks it up. A series
closed with `OPENCRIME_LAST_MONTH` is never late after that month.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, get_current_context
from opencrime_airflow.config import DEFAULT_ARGS, TAGS_PIPELINE
from opencrime_airflow.settings import task_settings
from opencrime_airflow.tasks import step


@dag(
    dag_id="release_freshness",
    description="The daily alarm for a late monthly release",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # a late release is a fact, not an outage: no retries
    default_args=DEFAULT_ARGS | {"retries": 0},
    tags=[TAGS_PIPELINE, "operations"],
    doc_md=__doc__,
)
def release_freshness() -> None:
    @step()
    def check_release_is_current() -> dict:
        """Fail, naming the missing month, when the latest release is overdue."""
        from airflow.sdk.exceptions import AirflowFailException

        from transforms.pipeline.publish import operations

        moment = get_current_context()["logical_date"] or pendulum.now("UTC")
        result = operations.check_freshness(task_settings(), moment.date())
        print(result["message"])
        if result["late"]:
            raise AirflowFailException(result["message"])
        return result

    check_release_is_current()


release_freshness()
