"""Publishing under faults: a process killed at any step, and two runs publishing at once.

Each run is a real process. The crash is ``os._exit`` just before a chosen step (a data file, the
manifest, the checksums, the rename into place, the ``latest`` pointer): no clean-up code runs,
as when a worker is killed.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from transforms.publish.folder import STAGING_PREFIX, latest, publish_release, versions

PUBLISHER = r"""
import json, os, pathlib, sys, time
import transforms.publish.folder as release

dataset, fingerprint = sys.argv[1], sys.argv[2]
crash_at, pause = int(sys.argv[3]), float(sys.argv[4])
steps = []

def step(name):
    if len(steps) == crash_at:
        os._exit(17)
    steps.append(name)

def crashing(function, name):
    def wrapped(*args, **kwargs):
        step(name)
        return function(*args, **kwargs)
    return wrapped

release.write_bytes_atomic = crashing(release.write_bytes_atomic, "checksummed file")
release._point_latest = crashing(release._point_latest, "latest pointer")
pathlib.Path.rename = crashing(pathlib.Path.rename, "rename")

def write(folder, version):
    time.sleep(pause)
    for name in ("counts.csv", "counts.parquet", "incidents.geojson"):
        step(name)
        (folder / name).write_text(f"{name} of {fingerprint}\n")
    return {"row_counts": {"counts": 1}}

result = release.publish_release(pathlib.Path(dataset), "2025-02", fingerprint, write, {})
print(json.dumps({"version": result.version, "created": result.created, "steps": steps}))
"""


def publish_in_process(
    dataset: Path, fingerprint: str, crash_at: int = -1, pause: float = 0.0
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(dataset), fingerprint, str(crash_at), str(pause)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, dict]:
    out, err = process.communicate(timeout=60)
    return process.returncode, (json.loads(out) if process.returncode == 0 else {"stderr": err})


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def first_release(dataset: Path) -> None:
    def write(folder: Path, version: str) -> dict:
        (folder / "counts.csv").write_text("January\n")
        return {}

    publish_release(dataset, "2025-01", "january", write, {})


def test_a_clean_run_takes_these_steps(tmp_path: Path) -> None:
    first_release(tmp_path)
    code, result = finish(publish_in_process(tmp_path, "february"))
    assert code == 0
    assert result["steps"] == [
        "counts.csv",
        "counts.parquet",
        "incidents.geojson",
        "checksummed file",  # manifest.json
        "checksummed file",  # SHA256SUMS
        "rename",
        "latest pointer",
        "checksummed file",  # latest/index.html, then latest.json
    ]


@pytest.mark.parametrize("crash_at", range(8))
def test_a_crash_at_any_step_leaves_the_last_release_and_the_next_run_completes(
    tmp_path: Path, crash_at: int
) -> None:
    first_release(tmp_path)
    before = tree_digest(tmp_path / "2025-01.1")
    pointer = (tmp_path / "latest.json").read_bytes()

    code, _ = finish(publish_in_process(tmp_path, "february", crash_at))

    assert code == 17  # killed before the step
    assert (tmp_path / "latest.json").read_bytes() == pointer
    assert tree_digest(tmp_path / "2025-01.1") == before
    # the next run needs no clean-up by hand
    code, result = finish(publish_in_process(tmp_path, "february"))
    assert code == 0
    assert result["version"] == "2025-02.1"
    assert versions(tmp_path) == ["2025-01.1", "2025-02.1"]
    assert latest(tmp_path)["version"] == "2025-02.1"
    assert '"../2025-02.1/index.html"' in (tmp_path / "latest" / "index.html").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]
    assert tree_digest(tmp_path / "2025-01.1") == before
    release = tmp_path / "2025-02.1"
    for line in (release / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest


def test_two_runs_of_the_same_inputs_at_once_publish_once(tmp_path: Path) -> None:
    first_release(tmp_path)
    runs = [publish_in_process(tmp_path, "february", pause=0.5) for _ in range(2)]
    results = [finish(run) for run in runs]
    assert [code for code, _ in results] == [0, 0]
    assert sorted(r["created"] for _, r in results) == [False, True]
    assert {r["version"] for _, r in results} == {"2025-02.1"}
    assert versions(tmp_path) == ["2025-01.1", "2025-02.1"]


def test_two_runs_of_different_inputs_at_once_publish_both_in_turn(tmp_path: Path) -> None:
    first_release(tmp_path)
    runs = [publish_in_process(tmp_path, fp, pause=0.5) for fp in ("february", "february fix")]
    results = [finish(run) for run in runs]
    assert [code for code, _ in results] == [0, 0]
    assert sorted(r["version"] for _, r in results) == ["2025-02.1", "2025-02.2"]
    assert versions(tmp_path) == ["2025-01.1", "2025-02.1", "2025-02.2"]
    pointed = latest(tmp_path)
    assert pointed is not None
    # latest names the release that finished last, and that release holds those inputs
    manifest = json.loads((tmp_path / pointed["version"] / "manifest.json").read_text())
    assert manifest["inputs_fingerprint"] == pointed["inputs_fingerprint"]
