"""
### Feedback digest: reports about published figures, to the police unit responsible

Runs weekly (Monday) and on demand.

1. **import_answers**: the digests the police filled in and sent back
   (`DATA_IN/feedback_answers/*.csv`, the digest's own CSV with `answer_status` = answered or
   closed and `answer`): each forwarded report becomes answered or closed. A row taken before is
   skipped; a row naming no report, or one not yet sent, fails the task by name after the
   others are taken.
2. **make_digest**: every new report (`POST /opencrime/api/feedback`, screened and redacted),
   to each police unit that reaches its municipalities (the police polygons over the
   municipalities; a municipality split between two units goes to both): one CSV to fill in
   and one page to read per unit in `feedback/digests/<run>/`, with the figure each report is
   about. The reports are then `forwarded`: a run repeated sends none twice.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag
from opencrime_airflow.config import DEFAULT_ARGS, TAGS_PIPELINE
from opencrime_airflow.settings import task_settings
from opencrime_airflow.tasks import run_id, step


@dag(
    dag_id="feedback_digest",
    description="Reports about published figures, to the police unit responsible, and answers",
    schedule="0 6 * * 1",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "feedback"],
    doc_md=__doc__,
)
def feedback_digest() -> None:
    @step()
    def import_answers() -> dict:
        """Take the police's answers from the returned digests."""
        from transforms.pipeline import feedback

        result = feedback.import_answers(task_settings())
        print(result)
        return result

    @step()
    def make_digest() -> dict:
        """One digest per police unit of every new report; the reports become forwarded."""
        from transforms.pipeline import feedback

        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id())
        result = feedback.make_digest(task_settings(), safe)
        print(result)
        return result

    @step()
    def note_revisions() -> dict:
        """Mark the reports whose figure changed in the newest release."""
        from transforms.pipeline import feedback

        result = feedback.note_revisions(task_settings())
        print(result)
        return result

    import_answers()
    make_digest()
    note_revisions()


feedback_digest()
