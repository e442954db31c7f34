"""`make airflow PORT=…` as a new user runs it: every component starts (they are started as
`airflow …`, so the environment's bin must be on PATH), and a task runs to its end, which it
only does when the execution API moved to the same port as the UI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.loopback import free_port, wait_until_serving

PROJECT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.airflow


def api(base: str, token: str, path: str, body: dict | None = None, method: str = "GET") -> dict:
    request = urllib.request.Request(
        f"{base}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_for(what: str, check, timeout_s: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:  # not serving yet, or 404 until the DAG is parsed
            result = None
        if result:
            return result
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def test_make_airflow_on_another_port_runs_a_task_to_its_end(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPENCRIME"))}
    # a login-free UI for the test's API calls; PATH as a new user's shell has it (no .venv)
    env |= {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    data_root = tmp_path / "data"
    stack = subprocess.Popen(
        [
            "make",
            "-s",
            "-C",
            str(PROJECT),
            "airflow",
            f"PORT={port}",
            f"AIRFLOW_HOME={tmp_path / 'home'}",
            f"DATA_ROOT={data_root}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # standalone's components are its children: stopped together
    )
    base = f"http://localhost:{port}"
    try:
        wait_until_serving(f"{base}/api/v2/monitor/health", 240)
        with urllib.request.urlopen(f"{base}/auth/token", timeout=10) as response:
            token = json.loads(response.read())["access_token"]
        wait_for(
            "the extract DAG to be parsed", lambda: api(base, token, "/api/v2/dags/extract"), 180
        )
        api(base, token, "/api/v2/dags/extract", {"is_paused": False}, "PATCH")
        # no release is published in this data root: the request is refused by the task itself
        run = api(
            base,
            token,
            "/api/v2/dags/extract/dagRuns",
            {"logical_date": None, "conf": {"geo_codes": ["535419"]}},
            "POST",
        )

        def finished() -> dict | None:
            state = api(base, token, f"/api/v2/dags/extract/dagRuns/{run['dag_run_id']}")
            return state if state["state"] in ("success", "failed") else None

        assert wait_for("the extract run to end", finished, 240)["state"] == "failed"
        task = api(
            base,
            token,
            f"/api/v2/dags/extract/dagRuns/{run['dag_run_id']}/taskInstances/make_extract",
        )
        # the task ran (the execution API answered on the moved port) and failed at once
        assert (task["state"], task["try_number"]) == ("failed", 1)
        (record,) = (data_root / "runs" / "failures" / "extract").rglob("make_extract.json")
        assert "no release has been published" in json.loads(record.read_text())["error"]
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        try:
            stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
