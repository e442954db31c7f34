"""Shared fixtures. Airflow's configuration is read when airflow is first imported, so the
environment for in-process DAG parsing is set here, before any test module imports it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED_SOURCES = PROJECT.parent / "shared" / "sources"

_airflow_home = Path(tempfile.mkdtemp(prefix="opencrime-airflow-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_airflow_home))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(PROJECT / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return PROJECT / "sample_data"


@pytest.fixture(scope="session")
def shared_sources() -> Path:
    """The real (non-commercially licensed) samples, read in place; skip where absent."""
    if not SHARED_SOURCES.exists():
        pytest.skip(f"real source samples not present at {SHARED_SOURCES}")
    return SHARED_SOURCES


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path):
    """The whole pipeline on the sample, step by step in plain Python (no Airflow), once."""
    from transforms.periods import Month
    from transforms.pipeline import geography, incidents, release
    from transforms.settings import get_settings

    root = tmp_path_factory.mktemp("pipeline")
    settings = get_settings(data_root=root, data_in=sample_dir)
    snapshots = geography.snapshot_boundary_inputs(settings)
    staged_geography = geography.stage_geography(settings, snapshots)
    geography.validate_geography(settings, staged_geography["version"], "test")
    geography.promote_geography(settings, staged_geography["version"])
    reports = []
    for month in (Month(2025, 1), Month(2025, 2), Month(2025, 3)):
        snapshot = incidents.fetch_police_month(settings, month)
        staged = incidents.stage_police_month(settings, month, snapshot, "test")
        incidents.validate_police_month(settings, month, staged["key"], "test")
        reports.append(incidents.commit_police_month(settings, month, staged["key"]))
    policy = release.check_policy(settings)
    tables = release.stage_release_tables(settings)
    audit = release.audit_release_tables(settings, tables["staged"])
    release.validate_release_tables(settings, tables["staged"], "test")
    published = release.write_release(settings, tables["staged"], "test")
    return {
        "settings": settings,
        "reports": reports,
        "tables": tables,
        "release": published,
        "policy": policy,
        "audit": audit,
    }
