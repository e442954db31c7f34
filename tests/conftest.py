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
# where the test releases would be served (the catalogue records' IRIs build on it), as the demo
os.environ.setdefault("OPENCRIME_PUBLIC_BASE_URL", "https://localhost/opencrime/releases")


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
    from tests.sample_pipeline import run_sample
    from transforms.plumbing.settings import get_settings

    root = tmp_path_factory.mktemp("pipeline")
    return run_sample(get_settings(data_root=root, data_in=sample_dir), "test")
