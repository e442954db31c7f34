"""Versioned, immutable releases and the ``latest`` pointer.

Layout: ``<releases>/<dataset>/<version>/`` with a calendar version ``YYYY-MM.N`` (the newest
month of data, then a revision). A release folder is built under a hidden staging name and
renamed into place in one step, and ``latest.json`` is replaced atomically after the rename.

A crash at any point leaves the earlier releases and ``latest.json`` as they were, plus at most
a staging folder (removed by the next run) or a complete release that ``latest`` does not point
to yet (the next run with the same inputs points ``latest`` at it instead of writing it again).
Publishing holds an exclusive lock on the dataset folder, so two runs at once publish one after
the other, and the second finds the first's release instead of writing a duplicate; the rename,
which fails onto an existing version, is a second guard.
"""

from __future__ import annotations

import fcntl
import html
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transforms.plumbing.storage import (
    canonical_json,
    read_json_or_none,
    sha256_file,
    write_bytes_atomic,
    write_json_atomic,
)

VERSION = re.compile(r"^(\d{4}-\d{2})\.(\d+)$")
STAGING_PREFIX = ".staging-"
LATEST = "latest.json"
# a stable address for people: <dataset>/latest/ opens the newest release (a page that sends the
# browser on, relative, so it works from disk, any static server and object storage alike)
LATEST_PAGE = "latest/index.html"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"


@dataclass(frozen=True)
class PublishResult:
    version: str
    path: Path
    created: bool  # False: the inputs equal the latest release's, nothing new was written


def versions(dataset_dir: Path) -> list[str]:
    if not dataset_dir.exists():
        return []
    found = [p.name for p in dataset_dir.iterdir() if p.is_dir() and VERSION.match(p.name)]
    return sorted(found, key=_version_key)


def _version_key(version: str) -> tuple[str, int]:
    match = VERSION.match(version)
    assert match, version
    return match.group(1), int(match.group(2))


def next_version(dataset_dir: Path, data_month: str) -> str:
    revisions = [_version_key(v)[1] for v in versions(dataset_dir) if v.startswith(data_month)]
    return f"{data_month}.{max(revisions, default=0) + 1}"


def latest(dataset_dir: Path) -> dict[str, Any] | None:
    pointer = read_json_or_none(dataset_dir / LATEST)
    return pointer if isinstance(pointer, dict) else None


def describe_releases(dataset_dir: Path) -> list[dict[str, Any]]:
    """Every published version, newest first, as a data engineer reviews them: the months, the
    policy, the validation and audit outcomes, row counts, and the paths of its pages."""
    pointer = latest(dataset_dir) or {}
    described = []
    for version in reversed(versions(dataset_dir)):
        folder = dataset_dir / version
        manifest = read_json_or_none(folder / MANIFEST)
        if manifest is None:
            continue  # not a complete release
        audit = read_json_or_none(folder / "audit.json") or {}
        validation = manifest.get("validation") or {}
        summary = manifest.get("summary", {})
        described.append(
            {
                "version": version,
                "latest": pointer.get("version") == version,
                "data_months": manifest["data_months"],
                "policy": manifest["policy"],
                "validation": {
                    "passed": bool(validation.get("success")),
                    "suites": {s["suite"]: s["success"] for s in validation.get("suites", [])},
                },
                "audit": {
                    "passed": bool(audit.get("passed")),
                    "cells": audit.get("cells"),
                    "suppressed": audit.get("suppressed"),
                },
                "row_counts": manifest.get("row_counts", {}),
                "quarantined_rows": summary.get("quarantined_rows"),
                "cells_suppressed": summary.get("cells_suppressed"),
                "changes": manifest.get("changes", []),
                "pages": {
                    "portal": f"{version}/index.html",
                    "data_docs": f"{version}/validation/data_docs/index.html",
                    "manifest": f"{version}/{MANIFEST}",
                },
            }
        )
    return described


def remove_stale_staging(dataset_dir: Path) -> list[str]:
    """Staging folders are left only by a crashed run; nothing reads them: remove them."""
    removed = []
    if dataset_dir.exists():
        for path in dataset_dir.iterdir():
            if path.name.startswith(STAGING_PREFIX):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
    return removed


@contextmanager
def publishing_lock(dataset_dir: Path) -> Iterator[None]:
    """An exclusive lock on the dataset folder, held while a release is published."""
    dataset_dir.mkdir(parents=True, exist_ok=True)
    handle = os.open(dataset_dir, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock, also when the process dies


def publish_release(
    dataset_dir: Path,
    data_month: str,
    inputs_fingerprint: str,
    write_files: Callable[[Path, str], dict[str, Any]],
    manifest: dict[str, Any],
    digest: Callable[[Path], str] = sha256_file,
) -> PublishResult:
    """Write a new release unless one was already built from the same inputs.

    ``write_files(folder, version)`` writes the data files into ``folder`` and returns extra
    manifest entries (e.g. row counts); this function adds ``manifest.json`` and ``SHA256SUMS``,
    with each file's SHA-256 from ``digest`` (``write_files`` may have hashed some already).
    """
    with publishing_lock(dataset_dir):
        current = latest(dataset_dir)
        if current and current.get("inputs_fingerprint") == inputs_fingerprint:
            _point_latest_page(dataset_dir, current["version"])  # a dataset published before it
            return PublishResult(current["version"], dataset_dir / current["version"], False)
        # nobody else publishes now: a staging folder is a crashed run's leftover
        remove_stale_staging(dataset_dir)
        same = _release_with_fingerprint(dataset_dir, inputs_fingerprint)
        if same:  # written by a run that died before it moved ``latest``
            _point_latest(dataset_dir, same, inputs_fingerprint)
            return PublishResult(same, dataset_dir / same, created=False)
        version = next_version(dataset_dir, data_month)
        staging = dataset_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            extra = write_files(staging, version)
            _finish_folder(
                staging,
                {**manifest, **extra, "version": version, "inputs_fingerprint": inputs_fingerprint},
                digest,
            )
            staging.rename(dataset_dir / version)  # fails if the version exists
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _point_latest(dataset_dir, version, inputs_fingerprint)
        return PublishResult(version, dataset_dir / version, created=True)


def _point_latest(dataset_dir: Path, version: str, inputs_fingerprint: str) -> None:
    # the page first: a crash between the two leaves it on a release that is complete (renamed
    # into place), and the next run, finding latest.json behind, points both again
    _point_latest_page(dataset_dir, version)
    write_json_atomic(
        dataset_dir / LATEST,
        {"version": version, "path": version, "inputs_fingerprint": inputs_fingerprint},
    )


def _point_latest_page(dataset_dir: Path, version: str) -> None:
    page = latest_page(version).encode("utf-8")
    path = dataset_dir / LATEST_PAGE
    if not path.exists() or path.read_bytes() != page:
        write_bytes_atomic(path, page)


def latest_page(version: str) -> str:
    """``latest/index.html``: sends the browser to the newest release's page (a link for
    readers without redirects). It names a version and nothing else."""
    target = f"../{html.escape(version)}/index.html"
    return (
        '<!doctype html>\n<html lang="cs"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0; url={target}">'
        f'<link rel="canonical" href="{target}"><title>Nejnovější vydání / Latest release: '
        f"{html.escape(version)}</title></head>\n<body><p>"
        f'<a href="{target}">Nejnovější vydání / latest release: {html.escape(version)}</a>'
        "</p></body></html>\n"
    )


def _release_with_fingerprint(dataset_dir: Path, inputs_fingerprint: str) -> str | None:
    for version in reversed(versions(dataset_dir)):
        manifest = read_json_or_none(dataset_dir / version / MANIFEST) or {}
        if manifest.get("inputs_fingerprint") == inputs_fingerprint:
            return version
    return None


def _finish_folder(folder: Path, manifest: dict[str, Any], digest: Callable[[Path], str]) -> None:
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.name not in (MANIFEST, CHECKSUMS)
    )
    digests = {p: digest(p) for p in files}  # once each: a decade's files are gigabytes
    manifest = {
        **manifest,
        "files": [
            {
                "path": p.relative_to(folder).as_posix(),
                "sha256": digests[p],
                "bytes": p.stat().st_size,
            }
            for p in files
        ],
    }
    write_bytes_atomic(folder / MANIFEST, canonical_json(manifest))
    digests[folder / MANIFEST] = sha256_file(folder / MANIFEST)
    lines = [f"{digests[p]}  {p.relative_to(folder).as_posix()}" for p in sorted(digests)]
    write_bytes_atomic(folder / CHECKSUMS, ("\n".join(lines) + "\n").encode("utf-8"))
