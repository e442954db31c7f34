"""File primitives every stage uses: atomic writes, pointers, content hashes.

Everything that readers follow (``latest.json``, partition pointers) is replaced in one
``os.replace``, so a reader sees either the old or the new state, never half of one.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import mmap
import os
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
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


class StreamedFile:
    """A large file written once, front to back (a release's multi-gigabyte CSV and GeoJSON),
    hashed as it is written and written past the page cache (``O_DIRECT``) where the file
    system allows it.

    Through the page cache, every gigabyte written takes memory pages the kernel must clear
    and copy into: on the virtual machines here, 3 s of system time per fresh gigabyte (a
    decade's release writes 6 GB), and the checksum then reads the bytes back. Direct writes
    go from an aligned buffer to the disk (0.1 s of system time per 2 GB), and wait for it:
    a thread writes and hashes one buffer while the caller fills the other. Where ``O_DIRECT``
    is refused (some network and in-memory file systems), the same bytes go through the page
    cache.
    """

    ALIGN = 4096  # direct writes start and end on this boundary (a device block or a page)

    def __init__(self, path: Path, buffer_bytes: int = 8 << 20):
        self.path = path
        # page-aligned, as direct writes need: one being filled, one being written
        self._buffers = [mmap.mmap(-1, buffer_bytes), mmap.mmap(-1, buffer_bytes)]
        self._filled = 0
        self._writer = ThreadPoolExecutor(max_workers=1)
        self._writing: Future[None] | None = None
        self._hash = hashlib.sha256()
        self._digest: str | None = None
        self.direct_bytes = 0  # written past the page cache
        direct = getattr(os, "O_DIRECT", 0)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            self._fd = os.open(path, flags | direct, 0o644)
            self.direct = bool(direct)
        except OSError as error:
            if error.errno != errno.EINVAL:
                raise
            self._fd = os.open(path, flags, 0o644)
            self.direct = False

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        while len(view):
            buffer = self._buffers[0]
            taken = view[: len(buffer) - self._filled]
            buffer[self._filled : self._filled + len(taken)] = taken
            self._filled += len(taken)
            view = view[len(taken) :]
            if self._filled == len(buffer):
                self._hand_over()

    def _hand_over(self) -> None:
        """Have the full buffer written and hashed on the thread, and fill the other."""
        self._wait()
        self._writing = self._writer.submit(self._flush, self._buffers[0], self._filled)
        self._buffers.reverse()
        self._filled = 0

    def _wait(self) -> None:
        if self._writing is not None:
            self._writing.result()  # a failed write raises here
            self._writing = None

    def _flush(self, buffer: mmap.mmap, size: int, written: int = 0) -> None:
        """Hash and write the buffer's bytes from ``written`` up to ``size`` (aligned but at
        the file's end)."""
        with memoryview(buffer) as whole:
            self._hash.update(whole[written:size])
            while written < size:
                try:
                    step = os.write(self._fd, whole[written:size])
                    written += step
                    self.direct_bytes += step if self.direct else 0
                except OSError as error:
                    # a file system that opens direct files but refuses direct writes
                    if error.errno != errno.EINVAL or not self.direct:
                        raise
                    self._buffered()

    def _buffered(self) -> None:
        """Go on through the page cache (for the unaligned end of the file, or for good)."""
        fcntl.fcntl(self._fd, fcntl.F_SETFL, fcntl.fcntl(self._fd, fcntl.F_GETFL) & ~os.O_DIRECT)
        self.direct = False

    def close(self) -> None:
        if self._digest is not None:
            return
        try:
            self._wait()
            buffer, size = self._buffers[0], self._filled
            aligned = size - size % self.ALIGN if self.direct else size
            self._flush(buffer, aligned)
            if aligned < size:  # the unaligned end, through the page cache
                self._buffered()
                self._flush(buffer, size, written=aligned)
        finally:
            self._writer.shutdown()
            os.close(self._fd)
            for buffer in self._buffers:
                buffer.close()
        self._digest = self._hash.hexdigest()

    @property
    def sha256(self) -> str:
        """The SHA-256 of every byte written (once closed)."""
        if self._digest is None:
            raise RuntimeError(f"{self.path} is still being written")
        return self._digest

    def __enter__(self) -> StreamedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
