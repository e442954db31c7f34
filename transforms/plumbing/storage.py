"""File primitives every stage uses: atomic writes, pointers, content hashes.

Everything that readers follow (``latest.json``, partition pointers) is replaced in one
``os.replace``, so a reader sees either the old or the new state, never half of one.
"""

from __future__ import annotations

import base64
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

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from transforms.plumbing.columns import without_dictionaries

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
        GIL, and a decade's release is several gigabytes."""
        todo = sorted({p.resolve() for p in paths} - self._known.keys(), key=_size, reverse=True)
        with ThreadPoolExecutor(max_workers=threads) as pool:
            self._known.update(zip(todo, pool.map(sha256_file, todo), strict=True))


class StreamedFile:
    """A large file written once, front to back (a release's multi-gigabyte CSV and GeoJSON),
    hashed as it is written and written past the page cache (``O_DIRECT``) where the file
    system allows it.

    Through the page cache, every gigabyte written takes memory pages the kernel must clear
    and copy into (seconds of system time per gigabyte on virtual machines), and the checksum
    then reads the bytes back. Direct writes go from an aligned buffer to the disk, and wait
    for it:
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


# --- Parquet: the project's writer settings, for staged and published files alike ---


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with ParquetAppender(path) as file:
        file.append(frame)


ROW_GROUP_ROWS = 1024 * 1024  # pyarrow's default: the most rows a row group holds


# A column chunk's dictionary grows to this size before the column falls back to plain pages.
# Codes and names (a country's 6,258 municipality codes: 60 kB) fit; ids and coordinates, mostly
# distinct, stop being hashed after some 16,000 values rather than 130,000 (Arrow's 1 MB):
# quicker to write, and fewer bytes.
DICTIONARY_PAGE_BYTES = 128 * 1024


class ParquetAppender:
    """One Parquet file written part by part (a release table a year at a time); the project's
    Parquet settings. Every part must have the first part's columns.

    Text is stored as text, whether a part holds it plain, dictionary-encoded (Arrow) or as
    categories (pandas): readers get the same columns, types and values either way.
    Dictionary-encoded text goes into the file's dictionary pages as it is, without being
    spelled out and hashed again.
    """

    def __init__(self, path: Path, *, staging: bool = False):
        """``staging``: a file between the pipeline's own tasks, never published, which they
        read whole: without row-group statistics (half of the writing: Arrow takes the
        minimum and maximum of each dictionary-encoded column from the values its rows use)
        and in LZ4, quicker than zstd to write and to read, for a quarter more bytes."""
        self.path = path
        self.staging = staging
        self._writer: pq.ParquetWriter | None = None
        self._stored: pa.Schema | None = None  # what readers see, when the writer's is not

    def append(self, part: pd.DataFrame | pa.Table) -> None:
        """Append a frame, or an Arrow table (dictionary-encoded text is written as text)."""
        if isinstance(part, pd.DataFrame):
            part = _arrow_table(part)
        if self._writer is None:
            encoded = any(pa.types.is_dictionary(f.type) for f in part.schema)
            self._writer = pq.ParquetWriter(
                self.path,
                _int32_dictionaries(part.schema),
                compression="lz4" if self.staging else "zstd",
                dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES,
                write_statistics=not self.staging,
                # Arrow would store the dictionary types, and readers would get them back
                store_schema=not encoded,
            )
            self._stored = without_dictionaries(part.schema) if encoded else None
        # a row group at a time (the writer's own size): the row groups are those of the
        # whole part
        for start in range(0, part.num_rows, ROW_GROUP_ROWS) if part.num_rows else [0]:
            piece = part.slice(start, ROW_GROUP_ROWS).cast(self._writer.schema)
            self._writer.write_table(
                pa.Table.from_arrays(
                    [_referenced_values(c) for c in piece.columns], schema=piece.schema
                )
            )

    def __enter__(self) -> ParquetAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._writer is None:
            return
        if self._stored is not None:
            self._writer.add_key_value_metadata(_stored_schema_metadata(self._stored))
        self._writer.close()


def _referenced_values(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary-encoded column with only the values its rows use, in their order. Arrow's
    Parquet writer takes a row group's min and max from the whole dictionary when the column
    has a missing value (from the values used otherwise): an unused value would widen the
    statistics a reader filters by."""
    if not pa.types.is_dictionary(column.type) or column.null_count == 0:
        return column
    return pa.chunked_array([_used_dictionary(c) for c in column.chunks], column.type)


def _used_dictionary(array: pa.DictionaryArray) -> pa.DictionaryArray:
    codes = array.indices.fill_null(-1).to_numpy()
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(array.dictionary)))
    if len(used) == len(array.dictionary):
        return array
    position = np.full(len(array.dictionary) + 1, -1, dtype=np.int64)  # the last: missing
    position[used] = np.arange(len(used))
    renumbered = position[codes]
    indices = pa.array(renumbered, mask=renumbered < 0).cast(array.type.index_type)
    return pa.DictionaryArray.from_arrays(indices, array.dictionary.take(pa.array(used)))


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow; text categories as dictionary-encoded text, with the pandas
    metadata the same frame of plain text has (the file stores text)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    categories = {
        c: "str"
        for c in frame.columns
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
        and pd.api.types.is_string_dtype(frame[c].cat.categories)
    }
    if not categories:
        return table
    as_text = pa.Schema.from_pandas(frame.head(0).astype(categories), preserve_index=False)
    return table.cast(
        pa.schema(
            [
                f.with_type(pa.dictionary(f.type.index_type, as_text.field(f.name).type))
                if f.name in categories
                else f
                for f in table.schema
            ],
            metadata=as_text.metadata,
        )
    )


def _int32_dictionaries(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every dictionary's indices 32-bit: the parts' may be narrower or wider."""
    return pa.schema(
        [
            f.with_type(pa.dictionary(pa.int32(), f.type.value_type))
            if pa.types.is_dictionary(f.type)
            else f
            for f in schema
        ],
        metadata=schema.metadata,
    )


def _stored_schema_metadata(schema: pa.Schema) -> dict[bytes, bytes]:
    """The key-value metadata Arrow's Parquet writer stores for ``schema``: its own metadata
    and, under ``ARROW:schema``, the schema serialised and base64-encoded (Arrow's format)."""
    return dict(schema.metadata or {}) | {
        b"ARROW:schema": base64.b64encode(schema.serialize().to_pybytes())
    }


def read_text_as_dictionaries(
    path: Path, filters: list[Any] | None = None, columns: list[str] | None = None
) -> pa.Table:
    """A Parquet file or folder with its text columns dictionary-encoded (read from the file's
    own dictionaries, each value once) and every dictionary's values of the stored type: the
    appenders then write the bytes the table was written with. ``columns``: only those."""
    stored = pq.ParquetDataset(path).schema
    text = [c for c in text_columns(stored) if columns is None or c in columns]
    table = pq.read_table(path, columns=columns, filters=filters, read_dictionary=text)
    schema = pa.schema(
        [
            f.with_type(pa.dictionary(f.type.index_type, stored.field(f.name).type))
            if pa.types.is_dictionary(f.type)
            else f
            for f in table.schema
        ],
        metadata=table.schema.metadata,
    )
    return table.cast(schema)


def text_columns(schema: pa.Schema) -> list[str]:
    """The names of ``schema``'s text (string or large string) fields."""
    return [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]


def write_geoparquet(frame: gpd.GeoDataFrame, path: Path) -> None:
    """GeoParquet 1.1: WKB geometry, ``geo`` metadata and a bbox covering column."""
    frame.to_parquet(
        path,
        index=False,
        compression="zstd",
        schema_version="1.1.0",
        write_covering_bbox=True,
    )
