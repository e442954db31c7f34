"""The DAGs under a real Airflow deployment: PostgreSQL metadata database, scheduler,
dag-processor and api-server as separate processes, LocalExecutor, driven through the REST API.

What a police force's data engineer does after `docker compose up`, minus Docker: a fresh
metadata database is migrated, the services start, and a script with a token unpauses and
triggers the pipeline, waits for it, and finds the release — then the Airflow UI's Releases page
(the project's plugin, served by the same api-server) shows it. Needs PostgreSQL on
127.0.0.1:5432 (`.ci/run` starts it); skipped where none answers.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.airflow.test_end_to_end import airflow_env, run
from tests.browser import chromium_path, driven_browser, keep_screenshot, rendered
from tests.loopback import free_port, wait_until_serving
from tests.postgres import POSTGRES, temporary_database
from tests.postgres import sqlalchemy_url as postgres_url

pytestmark = pytest.mark.airflow

PIPELINE_TIMEOUT_S = 900


@dataclass
class Stack:
    base: str
    data_root: Path
    database: str
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]]
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        token = httpx.get(f"{self.base}/auth/token", timeout=30).json()["access_token"]
        self.client = httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, f"/api/v2{path}", **kwargs)
        status = response.status_code
        assert status < 300, f"{method} {path}: {status} {response.text}"
        return response.json()

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]
        return found

    def wait(self, what: str, done: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            dead = [name for name, p in self.processes.items() if p.poll() is not None]
            if dead:
                raise AssertionError(f"{dead} stopped while waiting for {what}\n{self.log_tails()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n{self.log_tails()}")
            time.sleep(2)

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in sorted(self.logs.glob("*.log"))
        )


@contextmanager
def airflow_stack(
    tmp_path_factory: pytest.TempPathFactory,
    data_in: Path,
    settings: dict[str, str],
    services: list[tuple[str, list[str]]],
    data_root: Path | None = None,
) -> Iterator[Stack]:
    """A fresh metadata database in PostgreSQL, migrated; the services as subprocesses; all
    stopped and the database dropped afterwards."""
    with temporary_database("opencrime_it") as database:
        home = tmp_path_factory.mktemp("airflow_pg_home")
        data_root = data_root or tmp_path_factory.mktemp("pg_data")
        logs = tmp_path_factory.mktemp("pg_logs")
        port = free_port()
        env = (
            airflow_env(home, data_root, data_in)
            | {
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres_url(database),
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                # as in docker-compose.yaml: the contract register beside Airflow's tables
                "OPENCRIME_CONTRACTS_DB": postgres_url(database),
            }
            | settings
        )
        airflow = str(Path(sys.executable).with_name("airflow"))
        processes: dict[str, subprocess.Popen[bytes]] = {}
        try:
            migrate = run([airflow, "db", "migrate"], env, home)
            assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
            api = ("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(port)])
            for name, args in [api, *services]:
                with (logs / f"{name}.log").open("wb") as log:
                    processes[name] = subprocess.Popen(
                        [airflow, *args],
                        env=env,
                        cwd=home,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its workers and tasks stop with it
                    )
            base = f"http://127.0.0.1:{port}"
            wait_until_serving(f"{base}/api/v2/monitor/health", 180)
            yield Stack(base, data_root, database, logs, processes)
        finally:
            for process in processes.values():
                _stop(process)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Iterator[Stack]:
    settings = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # a data officer approves each release (through the REST API, as the UI does)
        "OPENCRIME_REQUIRE_APPROVAL": "true",
        "OPENCRIME_FIRST_MONTH": "2025-01",
        "OPENCRIME_LAST_MONTH": "2025-03",
    }
    services = [
        ("dag-processor", ["dag-processor"]),
        ("scheduler", ["scheduler"]),
        ("triggerer", ["triggerer"]),  # waits on the human approval
    ]
    with airflow_stack(tmp_path_factory, sample_dir, settings, services) as running:
        yield running


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _all_succeeded(stack: Stack, dag_id: str, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        runs = stack.runs(dag_id)
        failed = [r for r in runs if r["state"] == "failed"]
        assert not failed, f"{dag_id} runs failed: {failed}\n{stack.log_tails()}"
        return len(runs) >= expected and all(r["state"] == "success" for r in runs)

    return check


def test_the_pipeline_runs_under_the_scheduler_on_postgresql(stack: Stack) -> None:
    stack.wait(
        "the dag-processor to store the DAGs",
        lambda: (
            {d["dag_id"] for d in stack.api("GET", "/dags")["dags"]}
            >= {"boundaries", "police_incidents", "publish", "extract"}
        ),
        180,
    )
    # the geography first: the months are placed in its municipalities
    stack.api("PATCH", "/dags/boundaries", json={"is_paused": False})
    stack.api("POST", "/dags/boundaries/dagRuns", json={"logical_date": None})
    stack.wait("boundaries", _all_succeeded(stack, "boundaries", 1), PIPELINE_TIMEOUT_S)

    # unpausing the police DAG lets the scheduler catch up 2025-01..2025-03, one month at a time
    stack.api("PATCH", "/dags/police_incidents", json={"is_paused": False})
    stack.wait(
        "the three police months", _all_succeeded(stack, "police_incidents", 3), PIPELINE_TIMEOUT_S
    )
    months = sorted(r["data_interval_start"][:7] for r in stack.runs("police_incidents"))
    assert months == ["2025-01", "2025-02", "2025-03"]

    stack.api("PATCH", "/dags/publish", json={"is_paused": False})
    stack.api("POST", "/dags/publish/dagRuns", json={"logical_date": None})
    approved: list[str] = []
    first_seen: dict[str, float] = {}
    published = _all_succeeded(stack, "publish", 1)

    def approve_and_check() -> bool:
        """The data officer: approve every release waiting for a decision. A person reads the
        request first; an answer within a second of it can be lost in Airflow 3.3.2 (the
        scheduler re-queues the task before it hears that the waiting process ended, then fails
        it), so the test, too, answers a request seen for a few seconds."""
        for request in stack.api("GET", "/dags/publish/dagRuns/~/hitlDetails")["hitl_details"]:
            if request["response_received"]:
                continue
            assert request["options"] == ["Approve", "Reject"]
            ti = request["task_instance"]
            seen = first_seen.setdefault(f"{ti['id']}/{ti['try_number']}", time.monotonic())
            if time.monotonic() - seen < 5:
                continue
            stack.api(
                "PATCH",
                f"/dags/publish/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}"
                f"/{ti['map_index']}/hitlDetails",
                json={"chosen_options": ["Approve"]},
            )
            approved.append(ti["dag_run_id"])
        return published()

    stack.wait("publish, approved by a data officer", approve_and_check, PIPELINE_TIMEOUT_S)
    assert approved  # nothing was published without an approval

    dataset = stack.data_root / "releases" / "cz-crime"
    latest = httpx.get(f"{stack.base}/opencrime/files/latest.json", timeout=30).json()
    assert latest["version"] == "2025-03.1"
    assert (dataset / "2025-03.1" / "manifest.json").is_file()
    tasks = stack.api("GET", "/dags/publish/dagRuns/~/taskInstances")["task_instances"]
    assert {"audit", "validate_tables", "approve_release", "write_release"} <= {
        t["task_id"] for t in tasks if t["state"] == "success"
    }
    # the runs are in PostgreSQL, not in a SQLite file
    import psycopg2

    with psycopg2.connect(dbname=stack.database, **POSTGRES) as db, db.cursor() as cursor:
        cursor.execute("select dag_id, count(*) from dag_run group by dag_id order by dag_id")
        counted = dict(cursor.fetchall())
    assert counted["boundaries"] >= 1 and counted["police_incidents"] == 3
    assert counted["publish"] >= 1


def test_the_airflow_ui_lists_the_releases(stack: Stack) -> None:
    """After the run above: the plugin's page through the same api-server."""
    plugins = stack.api("GET", "/plugins")["plugins"]
    [plugin] = [p for p in plugins if p["name"] == "opencrime"]
    [view] = [v for v in plugin["external_views"] if v["name"] == "Releases"]
    assert view["href"] == "opencrime/" and view["destination"] == "nav"
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/opencrime"

    listing = httpx.get(f"{stack.base}/opencrime/api/releases", timeout=30).json()
    [release] = listing["releases"]
    assert release["version"] == "2025-03.1" and release["latest"]
    assert release["validation"]["passed"] and release["audit"]["passed"]
    assert set(release["validation"]["suites"]) == {"published_counts", "published_points"}
    assert release["row_counts"]["counts"] > 0

    page = httpx.get(f"{stack.base}/opencrime/", timeout=30)
    assert page.status_code == 200 and "2025-03.1" in page.text
    for link in ("files/2025-03.1/index.html", "files/2025-03.1/validation/data_docs/index.html"):
        assert f'href="{link}"' in page.text
        assert httpx.get(f"{stack.base}/opencrime/{link}", timeout=30).status_code == 200
    # in a real browser: the page, and the Airflow UI's own route that frames it in its nav
    browser = chromium_path()
    dom = rendered(browser, f"{stack.base}/opencrime/", stack.logs / "browser-page")
    assert "Releases of cz-crime" in dom and "<b>2025-03.1</b> (latest)" in dom
    assert dom.count('class="ok">passed') == 2  # validation and audit of the one release
    ui = rendered(browser, f"{stack.base}/plugin/opencrime-releases", stack.logs / "browser-ui")
    assert re.search(r'<iframe[^>]+src="[^"]*opencrime/"', ui), ui[-3000:]

    # an encoded "../" reaches the route as a path: it must not leave the releases folder
    for outside in ("files/..%2F..%2F..%2F..%2Fetc%2Fpasswd", "files/.staging-x/manifest.json"):
        assert httpx.get(f"{stack.base}/opencrime/{outside}", timeout=30).status_code == 404


def test_the_contracts_page_lists_the_register_kept_beside_airflows_tables(stack: Stack) -> None:
    """A contract in the register (PostgreSQL, Airflow's own database, as in the compose stack)
    and one delivery: the api-server's Contracts page shows them, with the log's chain intact;
    the contact stays in the register. (This stack signs everyone in as admin; the page's
    refusal of anyone not signed in: test_end_to_end's share test.)"""
    from datetime import date

    from transforms.contracts.deliveries import log_delivery
    from transforms.contracts.keys import generate_key_pair
    from transforms.contracts.register import add_contract, new_contract, open_register, units_of
    from transforms.pipeline.boundaries import load_current_units
    from transforms.plumbing.settings import get_settings
    from transforms.privacy.policy import load_policy

    settings = get_settings(data_root=stack.data_root, contracts_db=postgres_url(stack.database))
    engine = open_register(settings.contracts_db_url)
    geography = units_of(load_current_units(settings))
    add_contract(engine, new_contract(
        contract_id="mb-page", party="535419", tier="municipal", key=generate_key_pair().public,
        valid_from=date(2026, 1, 1), valid_to=date(2099, 12, 31), contact="jana.novakova@mb.cz",
        policy=load_policy(settings.policy_path)[0], geography=geography,
    ))  # fmt: skip
    log_delivery(engine, contract_id="mb-page", release="2025-03.1", policy_sha256="a" * 64,
                 package_sha256="b" * 64, target="deliveries/mb-page/2025-03.1.ocp")  # fmt: skip
    engine.dispose()

    page = stack.client.get("/opencrime/contracts")
    assert page.status_code == 200, page.text
    assert (
        "mb-page" in page.text and "Mladá Boleslav" in page.text and "bbbbbbbbbbbbbbbb" in page.text
    )
    assert "chain is intact (1 entries)" in page.text
    assert "jana.novakova" not in page.text
    report = stack.client.get("/opencrime/api/contracts").json()
    [contract] = report["contracts"]
    assert contract["state"] == "active" and contract["last_delivery"]["release"] == "2025-03.1"
    assert "contact" not in contract and report["log_problems"] == []
    plugins = stack.api("GET", "/plugins")["plugins"]
    [plugin] = [p for p in plugins if p["name"] == "opencrime"]
    hrefs = {v["href"] for v in plugin["external_views"]}
    assert hrefs == {"opencrime/", "opencrime/contracts", "opencrime/feedback"}


def test_a_report_is_digested_answered_and_shown_to_the_data_officer(stack: Stack) -> None:
    """The feedback loop through the real api-server on PostgreSQL: a report posted to the
    plugin is stored redacted; the feedback_digest DAG, run by the scheduler, sends it to the
    police unit of its municipality; the answer given through the API shows on the Feedback
    page (screenshot kept for the README)."""
    import psycopg2

    said = "Krádeže u nádraží jsou v jiné části města."
    report = {"release": "2025-03.1", "unit": "535419", "month": "2025-02", "offence_group": "35",
              "kind": "misplaced", "text": f"{said} Volejte 603 123 456."}  # fmt: skip
    posted = httpx.post(f"{stack.base}/opencrime/api/feedback", json=report, timeout=30)
    assert posted.status_code == 201, posted.text
    report_id = posted.json()["id"]
    with psycopg2.connect(dbname=stack.database, **POSTGRES) as db, db.cursor() as cursor:
        cursor.execute("select text from opencrime_feedback where id = %s", (report_id,))
        assert cursor.fetchone() == (f"{said} Volejte [telefon].",)

    # the police's units say where a report goes
    stack.api("PATCH", "/dags/police_districts", json={"is_paused": False})
    stack.wait("the police units", _all_succeeded(stack, "police_districts", 1), 600)
    stack.api("PATCH", "/dags/feedback_digest", json={"is_paused": False})
    stack.api("POST", "/dags/feedback_digest/dagRuns", json={"logical_date": None})
    stack.wait("the feedback digest", _all_succeeded(stack, "feedback_digest", 1), 600)
    [forwarded] = stack.client.get("/opencrime/api/feedback/reports").json()["reports"]
    assert forwarded["status"] == "forwarded" and forwarded["police_units"]
    digests = list((stack.data_root / "feedback" / "digests").glob("*/*.csv"))
    assert {d.stem for d in digests} == set(forwarded["police_units"])
    assert "Volejte [telefon]" in digests[0].read_text("utf-8-sig")

    answered = stack.client.patch(
        f"/opencrime/api/feedback/{report_id}",
        json={"status": "answered", "answer": "Místa jsou podle hlášení; prověříme."},
    )
    assert answered.status_code == 200, answered.text
    missing = stack.client.patch("/opencrime/api/feedback/999", json={"status": "closed"})
    assert missing.status_code == 404 and "no report 999" in missing.text
    page = stack.client.get("/opencrime/feedback", params={"status": "answered"}).text
    assert "Místa jsou podle hlášení; prověříme." in page and "603 123 456" not in page
    browser = chromium_path()
    with driven_browser(browser) as chromium:
        shown = chromium.new_page(viewport={"width": 1400, "height": 700})
        shown.goto(f"{stack.base}/opencrime/feedback")
        assert "prověříme" in shown.content()
        keep_screenshot(shown, "feedback-page")


def test_tasks_run_on_celery_workers_through_redis(
    tmp_path_factory: pytest.TempPathFactory, sample_dir: Path, pipeline_run: dict[str, Any]
) -> None:
    """The production executor: the scheduler queues tasks in Redis (127.0.0.1:6379), a Celery
    worker process takes them. A journalist's extract of the sample release, through the API."""
    import redis

    broker = "redis://127.0.0.1:6379/11"
    try:
        redis.Redis.from_url(broker, socket_connect_timeout=3).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    data_root = tmp_path_factory.mktemp("celery_data")
    source = pipeline_run["settings"].releases_dir
    shutil.copytree(source, data_root / "releases")
    settings = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
    }
    services = [
        ("dag-processor", ["dag-processor"]),
        ("scheduler", ["scheduler"]),
        ("celery-worker", ["celery", "worker", "--concurrency", "2"]),
    ]
    with airflow_stack(tmp_path_factory, sample_dir, settings, services, data_root) as stack:
        stack.wait(
            "the extract DAG",
            lambda: "extract" in {d["dag_id"] for d in stack.api("GET", "/dags")["dags"]},
            180,
        )
        stack.api("PATCH", "/dags/extract", json={"is_paused": False})
        conf = {"geo_codes": ["535419"], "format": "csv"}
        stack.api("POST", "/dags/extract/dagRuns", json={"logical_date": None, "conf": conf})
        stack.wait("the extract on a Celery worker", _all_succeeded(stack, "extract", 1), 300)
        [record] = (data_root / "extracts").glob("*/extract.json")
        assert json.loads(record.read_text())["request"]["geo_codes"] == ["535419"]
        worker_log = (stack.logs / "celery-worker.log").read_text(errors="replace")
        assert "make_extract" in worker_log  # the worker, not the scheduler, ran the task
