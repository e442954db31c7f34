"""Releases: immutable versions, an atomic latest pointer, no duplicate for the same inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from transforms.plumbing.storage import sha256_file
from transforms.publish.folder import latest, publish_release, versions


def writer(content: str):
    def write(folder: Path, version: str) -> dict:
        (folder / "data.csv").write_text(content)
        return {"row_counts": {"data": content.count("\n")}}

    return write


def test_first_release_then_same_inputs_then_new_inputs(tmp_path: Path) -> None:
    first = publish_release(tmp_path, "2025-01", "fp1", writer("a\n"), {"dataset": "d"})
    assert (first.version, first.created) == ("2025-01.1", True)
    again = publish_release(tmp_path, "2025-01", "fp1", writer("a\n"), {"dataset": "d"})
    assert (again.version, again.created) == ("2025-01.1", False)
    correction = publish_release(tmp_path, "2025-01", "fp2", writer("b\n"), {"dataset": "d"})
    assert correction.version == "2025-01.2"
    assert versions(tmp_path) == ["2025-01.1", "2025-01.2"]
    assert latest(tmp_path)["version"] == "2025-01.2"
    assert (tmp_path / "2025-01.1" / "data.csv").read_text() == "a\n"  # never overwritten


def test_manifest_and_checksums_cover_every_file(tmp_path: Path) -> None:
    result = publish_release(tmp_path, "2025-03", "fp", writer("x\n"), {"dataset": "d"})
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["version"] == "2025-03.1" and manifest["inputs_fingerprint"] == "fp"
    assert manifest["files"] == [
        {"path": "data.csv", "bytes": 2, "sha256": sha256_file(result.path / "data.csv")}
    ]
    sums = dict(
        line.split("  ")[::-1] for line in (result.path / "SHA256SUMS").read_text().splitlines()
    )
    assert set(sums) == {"data.csv", "manifest.json"}
    for name, digest in sums.items():
        assert sha256_file(result.path / name) == digest


def test_a_failing_writer_leaves_the_previous_release_and_pointer(tmp_path: Path) -> None:
    publish_release(tmp_path, "2025-01", "fp1", writer("a\n"), {})
    pointer = (tmp_path / "latest.json").read_bytes()

    def broken(folder: Path, version: str) -> dict:
        (folder / "half.csv").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        publish_release(tmp_path, "2025-02", "fp2", broken, {})
    assert (tmp_path / "latest.json").read_bytes() == pointer
    assert versions(tmp_path) == ["2025-01.1"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_prefetched_digests_are_each_files_sha256(tmp_path) -> None:
    """A release's files are hashed on two threads before the page, the data package and the
    manifest list them; each digest is its own file's."""
    import hashlib

    from transforms.plumbing.storage import FinishedFileDigests

    files = []
    for i, size in enumerate([0, 1, 5 << 20, 3 << 20, 7]):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(bytes([i]) * size)
        files.append(path)
    digests = FinishedFileDigests()
    digests.prefetch([*files, files[0]])
    for path in files:
        assert digests(path) == hashlib.sha256(path.read_bytes()).hexdigest()
