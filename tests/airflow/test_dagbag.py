"""Every DAG imports cleanly and documents itself: owner, tags, retries, docs, schedule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
APPROVED_TAGS = {"opencrime", "geography", "police", "release", "extract", "operations", "feedback"}
# a late release is a fact, not an outage: the alarm is not retried
NOT_RETRIED = {("release_freshness", "check_release_is_current")}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {
        "boundaries",
        "police_incidents",
        "police_history",
        "police_districts",
        "police_statistics",
        "publish",
        "publish_statistics",
        "extract",
        "release_freshness",
        "share",
        "feedback_digest",
    }


def test_every_dag_is_documented_owned_tagged_retried_and_reports_failures(dagbag) -> None:
    from opencrime_airflow.alerts import record_failure

    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        assert dag.description, dag_id  # the DAG list shows it
        assert dag.tags and set(dag.tags) <= APPROVED_TAGS, dag_id
        for task in dag.tasks:
            assert task.owner == "opencrime", (dag_id, task.task_id)
            assert task.doc_md, (dag_id, task.task_id)  # the task's page in the UI shows it
            if (dag_id, task.task_id) not in NOT_RETRIED:
                assert task.retries >= 2, (dag_id, task.task_id)
            callbacks = task.on_failure_callback  # a list, or one function on mapped tasks
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert record_failure in callbacks, (dag_id, task.task_id)


def test_publishing_has_one_shape_and_decides_on_approval_at_run_time(dagbag) -> None:
    """The approval step is always in the graph: a short-circuit skips it unless the settings
    ask for a data officer's approval, and writing runs after a skipped approval."""
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.providers.standard.operators.python import ShortCircuitOperator

    publish = dagbag.dags["publish"]
    approve = publish.get_task("approve_release")
    assert isinstance(approve, ApprovalOperator)
    decide = publish.get_task("approval_required")
    assert isinstance(decide, ShortCircuitOperator)
    assert decide.upstream_task_ids == {"audit", "validate_tables"}
    assert approve.upstream_task_ids == {"approval_required"}
    assert not decide.ignore_downstream_trigger_rules  # only the approval is skipped
    write = publish.get_task("write_release")
    assert "approve_release" in write.upstream_task_ids
    assert write.trigger_rule == "none_failed"
    # (the demo's end-to-end run shows the skip, the scheduler test the approval)


def test_publishing_gates_run_side_by_side(dagbag) -> None:
    publish = dagbag.dags["publish"]
    # the two gates run side by side on the staged tables; writing waits for both
    for gate in ("audit", "validate_tables"):
        assert publish.get_task(gate).upstream_task_ids == {"build_tables"}
    assert publish.get_task("write_release").upstream_task_ids == {
        "build_tables",
        "audit",
        "validate_tables",
        "approve_release",
    }
    assert publish.get_task("mirror_release").retries >= 4  # a network step


def test_police_dag_has_one_month_intervals(dagbag) -> None:
    from airflow.sdk import CronDataIntervalTimetable

    dag = dagbag.dags["police_incidents"]
    assert dag.catchup
    # a data-interval timetable: each run covers [month start, next month start)
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 0 1 * *"
    fetch = dag.get_task("fetch_month")
    assert fetch.retries >= 4 and fetch.retry_exponential_backoff


def test_the_spatial_join_is_mapped_per_region(dagbag) -> None:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    dag = dagbag.dags["police_incidents"]
    place = dag.get_task("place_in_region")
    assert isinstance(place, MappedOperator)
    assert place.upstream_task_ids == {"check_raw_month"}
    assert "place_in_region" in dag.get_task("parse_and_place").upstream_task_ids


def test_publish_runs_on_any_of_its_assets(dagbag) -> None:
    """A new geography, month of incidents, set of police units or month of the police's
    statistics each starts a release: the audit takes readers to hold the statistics."""
    from airflow.sdk import AssetAny

    condition = dagbag.dags["publish"].timetable.asset_condition
    assert isinstance(condition, AssetAny)
    assert {a.name for a in condition.objects} == {
        "opencrime_geography",
        "opencrime_incidents",
        "opencrime_police_units",
        "opencrime_police_statistics",
    }


def test_extract_form_is_typed_and_refuses_bad_input(dagbag) -> None:
    """The trigger form shows dropdowns for the enums and checks months before a run starts."""
    from airflow.sdk import Param

    dag = dagbag.dags["extract"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # on request only
    schema = {name: dag.params.get_param(name).schema for name in dag.params}
    assert schema["level"]["enum"] == ["table", "incidents"]
    assert schema["format"]["enum"] == ["csv", "parquet", "geojson"]
    assert schema["geo_codes"]["items"] == {"type": "string"}
    # "empty: all": the lists may be left empty, so the form does not mark them required
    for name in ("geo_codes", "offence_codes", "first_month", "last_month"):
        assert "null" in schema[name]["type"], name
    # every field has a name a journalist reads, and help
    for name, field in schema.items():
        assert field.get("title"), name
        assert dag.params.get_param(name).description or field.get("values_display"), name
    month = schema["first_month"]
    assert Param("2025-01", **month).resolve() == "2025-01"
    assert Param(None, **month).resolve() is None
    with pytest.raises(Exception, match="does not match"):
        Param("January", **month).resolve()


def test_dag_files_do_no_heavy_imports_at_parse_time() -> None:
    """The dag-processor re-parses files every 30 s: GX and geopandas load only inside tasks."""
    import subprocess
    import sys

    code = (
        "import sys, runpy, pathlib\n"
        f"for f in sorted(pathlib.Path({str(DAGS)!r}).glob('*.py')):\n"
        "    runpy.run_path(str(f))\n"
        "heavy = [m for m in ('great_expectations', 'geopandas', 'transforms.pipeline') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1:] in ([], [""])
