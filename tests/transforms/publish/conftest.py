"""Fixtures of the portal's browser tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import chromium_path
from tests.loopback import free_port, wait_until_serving


@pytest.fixture(scope="module")
def chromium() -> str:
    """The system's Chromium for the portal's browser tests (skipped or failed without it)."""
    return chromium_path()


@pytest.fixture(scope="module")
def release(pipeline_run) -> Path:
    """The sample pipeline's release folder."""
    return Path(pipeline_run["release"]["path"])


@pytest.fixture(scope="module")
def server(pipeline_run):
    """``python -m http.server`` on a free loopback port, serving the dataset's releases."""
    dataset = Path(pipeline_run["release"]["path"]).parent
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=dataset,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{base}/index.html", 20)
    yield base
    process.terminate()
    process.wait(timeout=10)
