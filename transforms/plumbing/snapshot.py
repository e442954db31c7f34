"""Immutable raw snapshots: every input is kept byte for byte, named by its SHA-256.

A snapshot is written once and never changed; fetching the same bytes again finds it in place.
The index (``<source>/index/<key>.json``) records which snapshot a run used for which interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.storage import (
    read_json_or_none,
    sha256_bytes,
    sha256_file,
    write_bytes_atomic,
    write_json_atomic,
)


class SnapshotCorrupted(PermanentFailure, RuntimeError):
    """A stored snapshot no longer matches its name: the store was modified by hand."""


@dataclass(frozen=True)
class Snapshot:
    source: str
    sha256: str
    path: Path
    size: int
    original_name: str

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "sha256": self.sha256,
            "size": self.size,
            "original_name": self.original_name,
            "file": self.path.name,
        }


def _suffix(name: str) -> str:
    lowered = name.lower()
    for suffix in (".xml.zip", ".csv.zip", ".zip", ".geojson", ".json", ".csv", ".gpkg", ".kml"):
        if lowered.endswith(suffix):
            return suffix
    return "".join(Path(name).suffixes)


def store_snapshot(root: Path, source: str, data: bytes, original_name: str) -> Snapshot:
    digest = sha256_bytes(data)
    path = root / source / f"{digest}{_suffix(original_name)}"
    if path.exists():
        if sha256_file(path) != digest:
            raise SnapshotCorrupted(
                f"{path} does not match its SHA-256 name; restore it from backup"
            )
    else:
        write_bytes_atomic(path, data)
        path.chmod(0o444)
    return Snapshot(source, digest, path, len(data), original_name)


def record_snapshot(root: Path, source: str, key: str, snapshots: list[Snapshot]) -> None:
    """Remember which snapshots served ``key`` (e.g. a month) for lineage and re-runs."""
    write_json_atomic(root / source / "index" / f"{key}.json", [s.to_json() for s in snapshots])


def recorded_snapshots(root: Path, source: str, key: str) -> list[dict[str, object]] | None:
    value = read_json_or_none(root / source / "index" / f"{key}.json")
    return value if isinstance(value, list) else None
