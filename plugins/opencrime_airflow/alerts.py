"""What happens when a task fails for good: a failure record a data engineer (or a monitor) reads.

``record_failure`` is every task's ``on_failure_callback`` (after its retries are spent): it
writes ``runs/failures/<dag_id>/<run_id>/<task_id>.json`` under the data root with what failed,
when, why, and the link to the task's log, and logs the same in one line. Alerting channels
(e-mail, chat) can watch that folder or be added as Airflow notifiers beside it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from transforms.plumbing.errors import PermanentFailure


def failure_records_folder(runs_dir: Path, dag_id: str, run_id: str) -> Path:
    """Where the failure records of a DagRun are: ``runs/failures/<dag_id>/<run_id>/``."""
    return runs_dir / "failures" / dag_id / re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


def failure_record(context: Any) -> dict[str, Any]:
    ti = context["ti"]
    error = context.get("exception")
    if error is not None and isinstance(error.__cause__, PermanentFailure):
        error = error.__cause__  # the step's own error, which the task decorator failed fast
    return {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "map_index": getattr(ti, "map_index", -1),
        "try_number": getattr(ti, "try_number", None),
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "error": f"{type(error).__name__}: {error}" if error is not None else None,
        "log_url": getattr(ti, "log_url", None),
    }


def record_failure(context: Any) -> None:
    from opencrime_airflow.settings import task_settings
    from transforms.plumbing.storage import write_json_atomic

    record = failure_record(context)
    folder = failure_records_folder(
        task_settings().runs_dir, str(record["dag_id"]), str(record["run_id"])
    )
    path = folder / f"{record['task_id']}.json"
    write_json_atomic(path, record)
    print(f"FAILED {record['dag_id']}.{record['task_id']} ({record['run_id']}): {record['error']}")
    print(f"failure record: {path}")
