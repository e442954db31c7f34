"""Large release files written past the page cache: the same bytes and the same checksum."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.plumbing.storage import StreamedFile

chunks = st.lists(
    st.binary(max_size=3 * StreamedFile.ALIGN)
    | st.integers(0, 5 * StreamedFile.ALIGN).map(lambda n: bytes([n % 251]) * n),
    max_size=12,
)


def _write(path: Path, parts: list[bytes], buffer_bytes: int) -> StreamedFile:
    with StreamedFile(path, buffer_bytes=buffer_bytes) as out:
        for part in parts:
            out.write(part)
    return out


@settings(max_examples=60, deadline=None)
@given(chunks, st.sampled_from([1, 2, 3]))
def test_a_streamed_file_holds_the_bytes_written_and_their_checksum(
    parts: list[bytes], blocks: int
) -> None:
    """Whatever the sizes of the parts against the aligned buffer (several buffers, a part
    larger than the buffer, an unaligned end, nothing at all), the file holds exactly the
    bytes written, and the checksum is theirs."""
    expected = b"".join(parts)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.csv"
        out = _write(path, parts, blocks * StreamedFile.ALIGN)
        assert path.read_bytes() == expected
        assert out.sha256 == hashlib.sha256(expected).hexdigest()


def test_large_files_go_past_the_page_cache_where_the_file_system_allows(tmp_path: Path) -> None:
    """On a disk file system the writes are direct up to the last aligned block; the end of
    the file is written through the page cache. The file is then an ordinary file."""
    data = os.urandom(5 * StreamedFile.ALIGN + 123)
    out = _write(tmp_path / "big.geojson", [data], 2 * StreamedFile.ALIGN)
    if not hasattr(os, "O_DIRECT"):
        pytest.skip("no direct writes on this system")
    assert out.direct_bytes == 5 * StreamedFile.ALIGN
    assert (tmp_path / "big.geojson").read_bytes() == data
    assert oct((tmp_path / "big.geojson").stat().st_mode & 0o777) == "0o644"
    assert out.sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_written_through_the_page_cache_gets_the_same_bytes(tmp_path: Path) -> None:
    """Where direct writes are refused (at open or at the first write), the writer goes on
    through the page cache from where it is: the same bytes and checksum."""
    data = os.urandom(3 * StreamedFile.ALIGN + 7)
    with StreamedFile(tmp_path / "points.geojson", buffer_bytes=StreamedFile.ALIGN) as out:
        out.write(data[:100])
        if out.direct:
            out._buffered()  # what a refused direct write leads to
        out.write(data[100:])
    assert not out.direct and out.direct_bytes == 0
    assert (tmp_path / "points.geojson").read_bytes() == data
    assert out.sha256 == hashlib.sha256(data).hexdigest()


def test_the_checksum_is_asked_for_only_once_the_file_is_closed(tmp_path: Path) -> None:
    out = StreamedFile(tmp_path / "open.csv")
    out.write(b"a,b\n")
    with pytest.raises(RuntimeError, match="still being written"):
        _ = out.sha256
    out.close()
    assert out.sha256 == hashlib.sha256(b"a,b\n").hexdigest()
