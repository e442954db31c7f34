"""File primitives every stage uses: atomic writes, pointers, content hashes.

Everything that readers follow (``latest.json``, partition pointers) is replaced in one
``os.replace``, so a reader sees either the old or the new state, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class FinishedFileDigests:
    """SHA-256 of files that are written and no longer change (a release being assembled),
    each read once: the download page, the data package, the manifest and the checksums all
    list them, and a decade's files are gigabytes. Not for verifying files against a known
    digest: that must read the bytes every time (:func:`sha256_file`)."""

    def __init__(self) -> None:
        self._known: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        key = path.resolve()
        if key not in self._known:
            self._known[key] = sha256_file(path)
        return self._known[key]

    def add(self, digests: dict[Path, str]) -> None:
        """Digests of finished files that another process of this release hashed."""
        self._known.update({path.resolve(): digest for path, digest in digests.items()})

    def prefetch(self, paths: list[Path], threads: int = 2) -> None:
        """Hash ``paths`` now, on ``threads`` threads: hashlib and file reads release the
        GIL, and a decade's release is 5.7 GB (11 s on one core here)."""
        todo = sorted({p.resolve() for p in paths} - self._known.keys(), key=_size, reverse=True)
        with ThreadPoolExecutor(max_workers=threads) as pool:
            self._known.update(zip(todo, pool.map(sha256_file, todo), strict=True))


def _size(path: Path) -> int:
    return path.stat().st_size


def canonical_json(value: Any) -> bytes:
    """Stable bytes for the same value: sorted keys, fixed separators, UTF-8, final newline."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


def fingerprint(value: Any) -> str:
    return sha256_bytes(canonical_json(value))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def write_json_atomic(path: Path, value: Any) -> None:
    write_bytes_atomic(path, canonical_json(value))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_json_or_none(path: Path) -> Any:
    try:
        return read_json(path)
    except FileNotFoundError:
        return None
