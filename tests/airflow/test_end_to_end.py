"""The whole pipeline through a real Airflow (SQLite metadata DB) into a temporary root."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.airflow


def airflow_env(home: Path, data_root: Path, data_in: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPENCRIME"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        GX_ANALYTICS_ENABLED="false",
        OPENCRIME_DATA_ROOT=str(data_root),
        OPENCRIME_DATA_IN=str(data_in),
        OPENCRIME_PUBLIC_BASE_URL="https://localhost/opencrime/releases",
    )
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path):
    home = tmp_path_factory.mktemp("airflow_home")
    data_root = tmp_path_factory.mktemp("data")
    env = airflow_env(home, data_root, sample_dir)
    airflow = str(Path(sys.executable).with_name("airflow"))
    migrate = run([airflow, "db", "migrate"], env, home)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    return home, data_root, env


def dag_runs(home: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(home / "airflow.db") as db:
        return db.execute("select dag_id, state from dag_run order by id").fetchall()


def test_demo_pipeline_publishes_a_release_and_is_idempotent(airflow_home) -> None:
    home, data_root, env = airflow_home
    first = run([sys.executable, "-m", "opencrime_airflow.runner", "--demo-contract"], env, home)
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-5000:]
    assert "Release:" in first.stdout
    assert "Portal:" in first.stdout and "index.html" in first.stdout
    # the police's statistics, a dataset of their own, published by the same run
    assert "Police statistics release:" in first.stdout
    statistics = data_root / "releases" / "cz-crime-police-statistics" / "2025-03.1"
    assert (statistics / "figures.csv").is_file() and (statistics / "SHA256SUMS").is_file()

    # every DAG ran as a real DagRun in Airflow's metadata database, and succeeded; the
    # police's statistics before the release, whose audit takes readers to hold them and whose
    # municipality pages link to their police units' pages
    runs = dag_runs(home)
    assert [dag for dag, _ in runs] == [
        "boundaries",
        *["police_incidents"] * 3,
        "police_districts",
        *["police_statistics"] * 3,
        "publish_statistics",
        "publish",
        "share",
    ]
    assert {state for _, state in runs} == {"success"}
    # make demo's contract: its package delivered, and the summary says how to open it
    package = data_root / "deliveries" / "demo-municipal" / "2025-03.1.ocp"
    assert package.is_file()
    assert f"Contract package: {package}" in first.stdout
    assert "opencrime package open" in first.stdout
    # the police's statistical reports: each month's workbooks read and committed, none missing
    committed = sorted((data_root / "canonical" / "police_statistics" / "months").glob("*.json"))
    assert [p.stem for p in committed] == ["2025-01", "2025-02", "2025-03"]
    for pointer in committed:
        month = json.loads(pointer.read_text())
        folder = data_root / "canonical" / "police_statistics" / "parts" / pointer.stem
        report = json.loads((folder / month["partition"] / "report.json").read_text())
        assert report["units"] == 10 and report["missing_districts"] == []
    # no approval asked for: the approval step was skipped, and the release written after it
    with sqlite3.connect(home / "airflow.db") as db:
        states = dict(
            db.execute(
                "select task_id, state from task_instance where dag_id = 'publish'"
            ).fetchall()
        )
    assert states["approve_release"] == "skipped"
    assert states["write_release"] == "success"

    dataset = data_root / "releases" / "cz-crime"
    assert json.loads((dataset / "latest.json").read_text())["version"] == "2025-03.1"
    release = dataset / "2025-03.1"
    for name in (
        "counts.parquet",
        "counts.csv",
        "municipalities.geojson",
        "municipalities.parquet",
        "manifest.json",
        "SHA256SUMS",
        "disclosure-policy.yaml",
        "datapackage.json",
        "catalog/dataset.jsonld",
        "index.html",
        "districts.geojson",
        "regions.geojson",
        "municipalities.pmtiles",
    ):
        assert (release / name).is_file(), name
    assert (release / "validation" / "data_docs" / "index.html").is_file()
    # a town's page leads to its police unit's page in the police statistics' release
    town = (release / "units" / "municipality-535419.html").read_text()
    links = re.findall(r'href="(\.\./\.\./\.\./cz-crime-police-statistics/[^"]+)"', town)
    assert links and all((release / "units" / link).resolve().is_file() for link in links)
    manifest = json.loads((release / "manifest.json").read_text())
    # the ledger adds up the country's sensitive total, which the police's unit figures make
    # the sample hide: withheld from the release, kept in the operator's report
    assert manifest["summary"]["ledger_withheld"] is True
    staged = data_root / "runs" / "publish" / manifest["inputs_fingerprint"][:16]
    operator = json.loads((staged / "inputs.json").read_text())["operator_report"]
    assert operator["ledger"]["input_rows"] == 4361
    assert json.loads((release / "audit.json").read_text())["passed"]
    with sqlite3.connect(home / "airflow.db") as db:
        tasks = {
            t
            for (t,) in db.execute(
                "select task_id from task_instance where dag_id = 'publish' and state = 'success'"
            )
        }
    assert {"check_policy", "build_tables", "audit", "validate_tables", "write_release"} <= tasks
    # the spatial join ran as one mapped task per region (2 in the sample) for each month
    with sqlite3.connect(home / "airflow.db") as db:
        mapped = db.execute(
            "select count(*), count(distinct map_index) from task_instance where dag_id = "
            "'police_incidents' and task_id = 'place_in_region' and state = 'success'"
        ).fetchone()
    assert mapped == (3 * 2, 2)
    # the raw inputs are kept as snapshots named by their SHA-256
    snapshots = sorted(p.name for p in (data_root / "snapshots" / "police").glob("*.zip"))
    assert len(snapshots) == 3 and all(len(n) == len("0" * 64 + ".zip") for n in snapshots)

    second = run([sys.executable, "-m", "opencrime_airflow.runner"], env, home)
    assert second.returncode == 0, second.stdout[-5000:] + second.stderr[-5000:]
    # no second release: the same folders and pointers, latest/ the stable address of the first
    assert sorted(p.name for p in dataset.iterdir()) == [
        "2025-03.1",
        "catalog",
        "index.html",
        "latest",
        "latest.json",
    ]
    assert "no new release" in second.stdout.lower()


def test_an_extract_is_requested_through_airflow_with_typed_params(airflow_home) -> None:
    """After the demo release (the test above): the extract DAG, triggered with a conf."""
    home, data_root, env = airflow_home
    airflow = str(Path(sys.executable).with_name("airflow"))
    conf = {"geo_codes": ["535419"], "first_month": "2025-02", "offence_codes": ["NONSENSITIVE"]}
    good = run([airflow, "dags", "test", "extract", "--conf", json.dumps(conf)], env, home)
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-3000:]
    [record_path] = (data_root / "extracts").glob("*/extract.json")
    record = json.loads(record_path.read_text())
    assert record["request"]["geo_codes"] == ["535419"]
    assert record["source"]["release"] == "2025-03.1"
    assert (record_path.parent / "extract.csv").is_file()

    bad = run(
        [airflow, "dags", "test", "extract", "--conf", '{"geo_codes": ["999999"]}'], env, home
    )
    assert "unknown unit code" in bad.stdout + bad.stderr
    with sqlite3.connect(home / "airflow.db") as db:
        runs = db.execute(
            "select r.state, max(t.try_number) from dag_run r join task_instance t "
            "on t.run_id = r.run_id and t.dag_id = r.dag_id where r.dag_id = 'extract' "
            "group by r.id order by r.id"
        ).fetchall()
    assert runs == [("success", 1), ("failed", 1)]  # a bad request is not retried
    # the failure callback left a record saying why, where a monitor looks
    [failure] = (data_root / "runs" / "failures" / "extract").glob("*/make_extract.json")
    record = json.loads(failure.read_text())
    assert record["dag_id"] == "extract" and "unknown unit code" in record["error"]


def test_an_extract_is_requested_through_the_rest_api(airflow_home) -> None:
    """POST /api/v2/dags/extract/dagRuns: the request is accepted, a bad month is refused (400)."""
    import urllib.error
    import urllib.request

    from tests.loopback import free_port, wait_until_serving

    home, _, env = airflow_home
    port = free_port()
    env = env | {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
    airflow = str(Path(sys.executable).with_name("airflow"))
    server = subprocess.Popen(
        [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/api/v2/monitor/health", 120)
        with urllib.request.urlopen(f"{base}/auth/token", timeout=10) as response:
            token = json.loads(response.read())["access_token"]

        def trigger(conf: dict) -> tuple[int, dict]:
            request = urllib.request.Request(
                f"{base}/api/v2/dags/extract/dagRuns",
                data=json.dumps({"logical_date": None, "conf": conf}).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read() or b"{}")

        status, run = trigger({"geo_codes": ["535419"], "format": "parquet"})
        assert status == 200, run
        assert run["conf"]["geo_codes"] == ["535419"] and run["state"] == "queued"
        status, refusal = trigger({"first_month": "January"})
        assert status == 400, refusal
        assert "first_month" in json.dumps(refusal)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_month_is_read_from_a_police_database_named_by_an_airflow_connection(
    airflow_home, tmp_path: Path, sample_dir: Path
) -> None:
    """`OPENCRIME_POLICE_SQL_CONN_ID` names a Connection (here from an AIRFLOW_CONN_ variable):
    the fetch task reads the month from that database and keeps it as a hashed snapshot."""
    import sqlalchemy as sa

    from tests.transforms.sources.test_police_sql import fill
    from transforms.domain.periods import Month
    from transforms.sources.police_sql import month_archive

    home, _, env = airflow_home
    police_db = tmp_path / "police.db"
    engine = sa.create_engine(f"sqlite:///{police_db}")
    fill(engine, sample_dir)
    data_root = tmp_path / "data"
    env = env | {
        "OPENCRIME_DATA_ROOT": str(data_root),
        "OPENCRIME_POLICE_SQL_CONN_ID": "police_db",
        "AIRFLOW_CONN_POLICE_DB": json.dumps({"conn_type": "sqlite", "host": str(police_db)}),
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    done = run(
        [
            airflow,
            "tasks",
            "test",
            "police_incidents",
            "fetch_month",
            "2025-03-01",
            "--task-params",
            '{"month": "2025-02"}',
        ],
        env,
        home,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [recorded] = json.loads(
        (data_root / "snapshots" / "police" / "index" / "2025-02.json").read_text()
    )
    snapshot = data_root / "snapshots" / "police" / f"{recorded['sha256']}.zip"
    assert snapshot.read_bytes() == month_archive(engine, Month(2025, 2))


def test_the_share_dag_delivers_a_contracts_package_once(airflow_home, tmp_path: Path) -> None:
    """A contract registered with the command in a PostgreSQL register; the `share` DAG, run
    by Airflow, delivers its package of the demo's release, which its recipient opens; run
    again, it delivers nothing twice."""
    from datetime import UTC, datetime

    from tests.postgres import sqlalchemy_url, temporary_database
    from transforms.contracts.deliveries import check_log, read_log
    from transforms.contracts.keys import generate_key_pair, generate_signing_pair
    from transforms.contracts.register import open_register
    from transforms.contracts.seal import open_package

    home, _, env = airflow_home
    airflow = str(Path(sys.executable).with_name("airflow"))
    opencrime = str(Path(sys.executable).with_name("opencrime"))
    publisher, recipient = generate_signing_pair(), generate_key_pair()
    (tmp_path / "publisher.key").write_text(publisher.private)
    year = datetime.now(UTC).year
    with temporary_database("share") as name:
        env = env | {
            "OPENCRIME_CONTRACTS_DB": sqlalchemy_url(name),
            "OPENCRIME_PUBLISHER_SIGNING_KEY_FILE": str(tmp_path / "publisher.key"),
            "OPENCRIME_DELIVERIES_DIR": str(tmp_path / "deliveries"),
        }
        added = run(
            [opencrime, "contracts", "add", "--id", "liberec", "--party", "563889", "--tier",
             "municipal", "--public-key", recipient.public, "--from", f"{year}-01-01", "--to",
             f"{year}-12-31", "--contact", "prevence@liberec.cz"],
            env, home,
        )  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
        for _ in range(2):
            shared = run([airflow, "dags", "test", "share"], env, home)
            assert shared.returncode == 0, shared.stdout[-3000:] + shared.stderr[-3000:]
        package = (tmp_path / "deliveries" / "liberec" / "2025-03.1.ocp").read_bytes()
        opened = open_package(
            package, recipient.private, publisher.public, datetime.now(UTC).date()
        )
        assert opened.manifest["contract"]["id"] == "liberec"
        engine = open_register(sqlalchemy_url(name))
        log = read_log(engine)
        engine.dispose()
        assert [(e.contract_id, e.release) for e in log] == [("liberec", "2025-03.1")]
        assert check_log(log) == []

        # the Airflow UI's Contracts page, from Airflow's own API app with a real sign-in
        (tmp_path / "passwords.json").write_text(json.dumps({"officer": "s3cret-pass"}))
        signed_in = env | {
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "officer:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "passwords.json"),
            "AIRFLOW__API_AUTH__JWT_SECRET": "a-secret-for-this-test-only-0123456789",
            "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
            "PYTHONPATH": str(PROJECT),
        }
        probe = run([sys.executable, "-m", "tests.airflow.signed_in_pages_probe", "officer",
                     "s3cret-pass"], signed_in, PROJECT)  # fmt: skip
        assert probe.returncode == 0, probe.stdout[-3000:] + probe.stderr[-3000:]
        answers = json.loads(probe.stdout.strip().splitlines()[-1])
        assert answers["anonymous"] == answers["anonymous_json"] == 401
        assert answers["forged"] in (401, 403) and answers["releases_open_to_all"] == 200
        assert answers["feedback_anonymous"] == answers["answer_anonymous"] == 401
        assert answers["feedback_signed_in"] == 200
        [contract] = answers["report"]["contracts"]
        assert contract["id"] == "liberec" and contract["state"] == "active"
        assert contract["last_delivery"]["package_sha256"] == log[0].package_sha256
        assert (
            log[0].package_sha256[:16] in answers["page"] and "chain is intact" in answers["page"]
        )
        assert "prevence@liberec.cz" not in answers["page"] + json.dumps(answers["report"])
