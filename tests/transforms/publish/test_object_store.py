"""Releases in an object store: a real S3-compatible server (moto's, from PyPI) on loopback."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import s3fs

from tests.loopback import free_port, wait_until_serving
from transforms.publish.folder import LATEST, MANIFEST
from transforms.publish.object_store import mirror_latest


@pytest.fixture(scope="module")
def s3_server() -> Iterator[dict[str, Any]]:
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{endpoint}/moto-api/", 60)
        options = {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
        s3fs.S3FileSystem(**options).mkdir("opencrime-releases")
        yield options
    finally:
        server.terminate()
        server.wait(timeout=30)


def reader(options: dict[str, Any]) -> s3fs.S3FileSystem:
    """A client of its own, as a downloader would have (no cache shared with the writer)."""
    return s3fs.S3FileSystem(skip_instance_cache=True, **options)


@pytest.fixture
def dataset_dir(pipeline_run: dict[str, Any], tmp_path: Path) -> Path:
    settings = pipeline_run["settings"]
    source = settings.releases_dir / settings.dataset_id
    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    return copy


def test_the_latest_release_lands_in_the_store_complete(
    s3_server: dict[str, Any], dataset_dir: Path
) -> None:
    url = "s3://opencrime-releases/first"
    mirrored = mirror_latest(dataset_dir, url, s3_server)
    assert mirrored is not None
    store = reader(s3_server)
    root = f"opencrime-releases/first/{dataset_dir.name}"
    pointer = json.loads(store.cat_file(f"{root}/{LATEST}"))
    assert pointer["version"] == mirrored.version == "2025-03.1"
    assert mirrored.url == f"s3://{root}/2025-03.1"
    manifest = json.loads(store.cat_file(f"{root}/2025-03.1/{MANIFEST}"))
    for entry in manifest["files"]:
        body = store.cat_file(f"{root}/2025-03.1/{entry['path']}")
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["path"]
    assert store.exists(f"{root}/index.html")
    assert not [k for k in store.ls(root) if Path(k).name.startswith(".")]  # no temporary key
    # a web map or a notebook reads the GeoParquet straight from the store
    with store.open(f"{root}/2025-03.1/incidents.parquet", "rb") as handle:
        assert b"geo" in pq.ParquetFile(handle).schema_arrow.metadata


def test_a_failed_upload_leaves_the_previous_release_current(
    s3_server: dict[str, Any], dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "s3://opencrime-releases/faults"
    mirror_latest(dataset_dir, url, s3_server)  # 2025-03.1 is current in the store
    root = f"opencrime-releases/faults/{dataset_dir.name}"

    # a new version locally (a copy with another name is enough for the store's view)
    shutil.copytree(dataset_dir / "2025-03.1", dataset_dir / "2025-03.2")
    pointer = json.loads((dataset_dir / LATEST).read_text())
    (dataset_dir / LATEST).write_text(json.dumps(pointer | {"version": "2025-03.2"}))

    # the connection drops after a few files
    calls = {"n": 0}
    original = s3fs.S3FileSystem._put_file  # the coroutine behind put_file

    async def flaky(self: s3fs.S3FileSystem, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError("connection reset by peer")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", flaky)
    with pytest.raises(OSError, match="connection reset"):
        # a client made after the fault is in place (sync methods bind at construction)
        mirror_latest(dataset_dir, url, s3_server | {"skip_instance_cache": True})
    store = reader(s3_server)
    assert json.loads(store.cat_file(f"{root}/{LATEST}"))["version"] == "2025-03.1"
    assert not store.exists(f"{root}/2025-03.2/{MANIFEST}")  # incomplete: no manifest

    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", original)
    retried = mirror_latest(
        dataset_dir, url, s3_server | {"skip_instance_cache": True}
    )  # the task's retry
    assert retried is not None and retried.version == "2025-03.2"
    assert json.loads(reader(s3_server).cat_file(f"{root}/{LATEST}"))["version"] == "2025-03.2"


def test_mirroring_again_uploads_nothing(s3_server: dict[str, Any], dataset_dir: Path) -> None:
    url = "s3://opencrime-releases/again"
    first = mirror_latest(dataset_dir, url, s3_server)
    second = mirror_latest(dataset_dir, url, s3_server)
    assert first is not None and first.uploaded_files > 10
    assert second is not None and second.uploaded_files == 0
