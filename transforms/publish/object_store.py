"""Releases mirrored to an object store (``s3://bucket/prefix``, or any fsspec URL).

The release is built and checked on the file system first (``transforms.publish.folder``); this
copies the latest one to the store so that municipalities and web maps download it from there.
Object stores have no folder rename, so the order of writes carries the guarantees instead:

1. every file of the version under ``<dataset>/<version>/``, the manifest last: a version whose
   ``manifest.json`` is in the store is complete, and it is only written once the sizes of all
   other files have been read back from the store and match;
2. the dataset's ``index.html`` and ``latest/index.html``;
3. ``latest.json``, first under a temporary key, then copied over the pointer in one server-side
   operation (a single object write is atomic on S3): a reader that follows the pointer sees
   the old release or the new one, never a half-uploaded one.

A failed upload leaves ``latest.json`` where it was; the next run uploads again (the same bytes to
the same keys). A version already complete in the store (same manifest) is not uploaded twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsspec.core import url_to_fs

from transforms.publish.folder import CHECKSUMS, LATEST, LATEST_PAGE, MANIFEST, latest


class ObjectStoreError(RuntimeError):
    """The store refused a write or holds something else than what was written."""


@dataclass(frozen=True)
class MirrorResult:
    url: str  # the version's folder in the store
    version: str
    uploaded_files: int  # 0 when the store already held the complete version


def mirror_latest(
    dataset_dir: Path, store_url: str, storage_options: Mapping[str, Any] | None = None
) -> MirrorResult | None:
    """Copy the dataset's latest release to ``store_url``, then move the store's pointer."""
    pointer = latest(dataset_dir)
    if pointer is None:
        return None
    version = str(pointer["version"])
    fs, base = url_to_fs(store_url.rstrip("/"), **dict(storage_options or {}))
    remote = f"{base}/{dataset_dir.name}"
    local = dataset_dir / version
    manifest = (local / MANIFEST).read_bytes()
    remote_manifest = f"{remote}/{version}/{MANIFEST}"
    uploaded = 0
    if not (fs.exists(remote_manifest) and fs.cat_file(remote_manifest) == manifest):
        files = sorted(
            p for p in local.rglob("*") if p.is_file() and p.name not in {MANIFEST, CHECKSUMS}
        )
        for path in [*files, local / CHECKSUMS]:
            fs.put_file(str(path), f"{remote}/{version}/{path.relative_to(local).as_posix()}")
            uploaded += 1
        for path in [*files, local / CHECKSUMS]:
            key = f"{remote}/{version}/{path.relative_to(local).as_posix()}"
            if fs.size(key) != path.stat().st_size:
                raise ObjectStoreError(f"{key}: the store holds another size than was written")
        fs.pipe_file(remote_manifest, manifest)
        uploaded += 1
    for page in ("index.html", LATEST_PAGE):
        if (dataset_dir / page).exists():
            fs.pipe_file(f"{remote}/{page}", (dataset_dir / page).read_bytes())
    staged_pointer = f"{remote}/.{LATEST}.{uuid.uuid4().hex}"
    fs.pipe_file(staged_pointer, (dataset_dir / LATEST).read_bytes())
    fs.copy(staged_pointer, f"{remote}/{LATEST}")
    fs.rm_file(staged_pointer)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return MirrorResult(f"{protocol}://{remote}/{version}", version, uploaded)
