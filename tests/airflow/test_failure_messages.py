"""A failed `make demo` on a bad file: what it prints first, through Airflow, without retries.

Each run is `make demo` itself (the Makefile's own recipe picks the lines it prints) on a copy
of the sample with one thing wrong, into its own Airflow home and data root.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.airflow


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPENCRIME"))}
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(PROJECT), *args],
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("airflow_home")


def demo(home: Path, data_in: Path, data_root: Path) -> subprocess.CompletedProcess[str]:
    return make("demo", f"AIRFLOW_HOME={home}", f"DATA_IN={data_in}", f"DATA_ROOT={data_root}")


def sample_copy(sample_dir: Path, target: Path) -> Path:
    shutil.copytree(sample_dir, target)
    return target


def failure_records(data_root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (data_root / "runs" / "failures").rglob("*.json")]


def test_another_months_file_fails_at_once_saying_so_and_a_stray_file_is_named(
    home: Path, sample_dir: Path, tmp_path: Path
) -> None:
    data_in = sample_copy(sample_dir, tmp_path / "in")
    police = data_in / "police"
    shutil.copy(police / "202501.zip", police / "202502.zip")  # January saved as February
    shutil.copy(police / "202501.zip", police / "202501 (1).zip")  # a browser's second copy
    (police / "202503.zip").unlink()

    result = demo(home, data_in, tmp_path / "data")

    assert result.returncode != 0
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"ignored {police / '202501 (1).zip'}: not a police month file (expected names like "
        "202501.zip, YYYYMM.zip)"
    )
    assert lines[1] == (
        "PIPELINE FAILED: validate_month: ValidationFailed: 2025-02: 1,411 of 1,414 rows are "
        "dated outside 2025-02: this file holds another month's records."
    )
    assert lines[2].startswith("Fix: put 2025-02's file in its place, then clear the run.")
    assert lines[-1].startswith("Full Airflow log of this run: ")
    # failed on its first try: a verdict is not retried
    (record,) = failure_records(tmp_path / "data")
    assert (record["task_id"], record["try_number"]) == ("validate_month", 1)
    # and nothing was published
    assert not (tmp_path / "data" / "releases").exists()


def test_an_empty_archive_says_so_and_how_to_replace_the_local_file(
    home: Path, sample_dir: Path, tmp_path: Path
) -> None:
    data_in = sample_copy(sample_dir, tmp_path / "in")
    (data_in / "police" / "202501.zip").write_bytes(b"")

    result = demo(home, data_in, tmp_path / "data")

    assert result.returncode != 0
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "PIPELINE FAILED: check_raw_month: CorruptDownloadError: the police archive for 2025-01 "
        "cannot be read: the file is empty (0 bytes). Fix: put a good copy of the police's "
        f"202501.zip in {data_in / 'police'} and clear the whole run (fetch_month included), so "
        "that the folder is read again"
    )
    (record,) = failure_records(tmp_path / "data")
    assert (record["task_id"], record["try_number"]) == ("check_raw_month", 1)


def test_a_second_run_in_the_same_airflow_home_is_refused_in_one_sentence(
    home: Path, sample_dir: Path, tmp_path: Path
) -> None:
    logs_before = set((home / "demo-logs").glob("*.log"))
    with (home / "pipeline-run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a run in progress
        result = demo(home, sample_dir, tmp_path / "data")
    assert result.returncode != 0
    assert result.stdout.splitlines()[:1] == [
        f"PIPELINE FAILED: another pipeline run is using the Airflow home {home}: wait for it "
        "to end (each run writes its own log), then run again",
    ]
    # each run has its own log: the refused one did not write over another's
    assert len(set((home / "demo-logs").glob("*.log")) - logs_before) == 1
    assert len(logs_before) == 2


def test_a_copied_clone_uses_its_own_metadata_database_and_logs(tmp_path: Path) -> None:
    """airflow.cfg names paths absolutely when it is written; the Makefile gives them from the
    Airflow home at run time, so a copy never writes into the original's database."""
    original = tmp_path / "original"
    original.mkdir()
    (original / "airflow.cfg").write_text(
        "[database]\nsql_alchemy_conn = sqlite:////somewhere/else/airflow.db\n"
        "[logging]\nbase_log_folder = /somewhere/else/logs\n"
    )
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    show = tmp_path / "show.mk"
    show.write_text(
        "show:\n\t@$(BIN)/python -m airflow config get-value database sql_alchemy_conn\n"
        "\t@$(BIN)/python -m airflow config get-value logging base_log_folder\n"
    )
    result = make("-f", "Makefile", "-f", str(show), "show", f"AIRFLOW_HOME={copy}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == [f"sqlite:///{copy}/airflow.db", f"{copy}/logs"]
