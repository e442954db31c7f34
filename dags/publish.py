"""
### Publish: a protected, audited, validated, versioned open-data release

Runs whenever the geography, a month of incidents, the police units or a month of the police's
statistics changes (the audit takes readers to hold the police's own figures).

1. **check_policy**: loads `policy/disclosure.yaml` and refuses it, before anything runs, if it is
   inconsistent or names offence codes the police code list does not know.
2. **build_tables**: counts offences by geography (municipality → district → region → country) ×
   period (month → year) × offence (type → group → all); suppresses small cells (primary) and
   the cells that would let them be recomputed (secondary), never faking a value; builds the
   k-anonymous incident point file (grid cells 250 m → 5 km, then municipality).
3. **audit**: the gate. An LP interval attack on every hidden cell using every published total,
   the previous release and the police's own statistics where their codes map. A cell narrowed
   below its protection width fails the run, naming the cells (never their values).
4. **validate_tables**: the `published_counts` and `published_points` Great Expectations suites.
   The audit and the validation are independent gates on the staged tables and run side by
   side; writing waits for both.
5. **write_release**: an immutable `releases/<dataset>/<YYYY-MM.N>/` (Parquet, CSV, GeoParquet,
   GeoJSON, the policy, the audit, Data Docs, `manifest.json`, `SHA256SUMS`); `latest.json`
   moves only after the release is complete.
6. **mirror_release**: when `OPENCRIME_RELEASE_STORE` is set (e.g. `s3://bucket/prefix`), copies
   the release to that object store, manifest last, then moves the store's `latest.json`;
   skipped otherwise.

Between the gates and the writing, **approve_release** (Airflow's human-in-the-loop approval)
waits for a data officer to approve or reject the release in the UI (Required actions) when
`OPENCRIME_REQUIRE_APPROVAL=true`; a rejection publishes nothing. Without it, the step is skipped
(**approval_required** decides at run time, so the graph is the same either way).

**Idempotent**: when the inputs (geography, month partitions, policy, code version) equal those of
the latest release, nothing new is written. A failed audit or validation publishes nothing; the
Data Docs are under `runs/publish/<run_id>/data_docs/`.
"""

# TaskFlow passes XComArgs where the task functions declare their resolved types.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import dag, task
from opencrime_airflow.assets import (
    GEOGRAPHY,
    INCIDENTS,
    POLICE_STATISTICS,
    POLICE_UNITS,
    RELEASE,
)
from opencrime_airflow.config import DEFAULT_ARGS, NETWORK_RETRIES, TAGS_PIPELINE
from opencrime_airflow.settings import task_settings
from opencrime_airflow.tasks import run_id, step


@dag(
    dag_id="publish",
    description="Count, protect, audit, validate → a versioned open-data release",
    schedule=(GEOGRAPHY | INCIDENTS | POLICE_UNITS | POLICE_STATISTICS),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "release"],
    doc_md=__doc__,
)
def publish() -> None:
    @step()
    def check_policy() -> dict:
        """Load the disclosure policy; refuse it before anything runs if it is inconsistent."""
        from transforms.pipeline.publish import inputs

        return inputs.check_policy(task_settings())

    @step()
    def build_tables(policy: dict) -> dict:
        """Count, suppress and generalise: the staged release tables."""
        from transforms.pipeline.publish import stage

        return stage.stage_release_tables(task_settings())

    @step(task_id="audit")
    def audit_tables(staged: dict) -> dict:
        """The disclosure audit: attack every hidden cell with everything readers hold."""
        from transforms.pipeline.publish import audit

        return audit.audit_release_tables(task_settings(), staged["staged"])

    @step()
    def validate_tables(staged: dict) -> dict:
        """The `published_counts` and `published_points` suites on the staged tables."""
        from transforms.pipeline.publish import validate

        return validate.validate_release_tables(task_settings(), staged["staged"], run_id())

    # the approval's decision is made at run time: skipped (and write_release runs) unless the
    # settings ask for a data officer's approval
    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def approval_required() -> bool:
        """Whether a data officer must approve (`OPENCRIME_REQUIRE_APPROVAL`)."""
        return task_settings().require_approval

    @step(outlets=[RELEASE], trigger_rule="none_failed")
    def write_release(staged: dict, audited: dict, validation: dict) -> dict:
        """Write the immutable release folder, then move `latest`."""
        from transforms.pipeline.publish import write

        result = write.write_release(task_settings(), staged["staged"], run_id())
        print(("new release " if result["created"] else "unchanged, latest is ") + result["path"])
        return result

    @step(**NETWORK_RETRIES)
    def mirror_release(written: dict) -> dict:
        """Copy the release to the object store (`OPENCRIME_RELEASE_STORE`), if one is set."""
        from airflow.sdk.exceptions import AirflowSkipException

        from transforms.pipeline.publish import operations

        mirrored = operations.mirror_release(task_settings())
        if mirrored is None:
            raise AirflowSkipException("no release store configured (OPENCRIME_RELEASE_STORE)")
        print(f"release {mirrored['version']} in the store: {mirrored['url']}")
        return mirrored

    staged = build_tables(check_policy())
    # two independent gates on the staged tables, side by side on an executor with two slots
    audited, validated = audit_tables(staged), validate_tables(staged)
    approve = ApprovalOperator(
        task_id="approve_release",
        doc_md="A data officer approves or rejects the release; skipped unless required.",
        subject="Publish the new opencrime release?",
        body=(
            "The tables passed the disclosure audit and validation. Check the staged "
            "tables and the audit report in the `build_tables`, `audit` and "
            "`validate_tables` logs, then approve to publish, or reject to publish nothing."
        ),
        response_timeout=timedelta(days=14),
        fail_on_reject=True,  # a rejected release is a decision the run should show
    )
    written = write_release(staged, audited, validated)
    [audited, validated] >> approval_required() >> approve >> written
    mirror_release(written)


publish()
