"""CSV files as pandas' ``to_csv`` writes them: UTF-8, ``\\n`` line ends, quotes only where
needed; the same table gives the same bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from transforms.plumbing.storage import StreamedFile
from transforms.publish.coded_text import (
    CodedText,
    by_dictionary_value,
    by_distinct_value,
    encoded,
    joined_coded,
    plain_value,
    text_bytes,
)

CSV_ROWS_AT_ONCE = 1 << 18  # rows whose text is built at once (tens of megabytes)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    with CsvAppender(path) as file:
        file.append(frame)


class CsvAppender:
    """One CSV file written part by part: UTF-8 without BOM, ``\\n`` line ends, empty field for
    a missing value, quotes only where a value needs them (the bytes pandas' ``to_csv``
    writes). The header comes from the first part; every part must have its columns.

    Rows are built a column at a time and each distinct value is formatted once, so a table of
    millions of cells is written in seconds.
    """

    def __init__(self, path: Path):
        self.path = path
        self._file: StreamedFile | None = None
        self._columns: list[str] = []

    def append(self, part: pd.DataFrame | pa.Table) -> None:
        """Append a frame, or an Arrow table: its dictionary-encoded columns are formatted a
        dictionary value at a time, the others as the table's pandas metadata types them."""
        names = (
            [str(c) for c in part.columns] if isinstance(part, pd.DataFrame) else part.column_names
        )
        if self._file is None:
            self._file = StreamedFile(self.path)
            self._columns = names
            self._file.write((",".join(map(_csv_field, self._columns)) + "\n").encode("utf-8"))
        if names != self._columns:
            raise ValueError(f"{self.path}: a part's columns differ from the first part's")
        # a slice at a time: the text is built in memory that is used again, not spelled out
        # for a whole year at once (3.4 M rows, 330 MB)
        for start in range(0, len(part) if names else 0, CSV_ROWS_AT_ONCE):
            piece = (
                part.iloc[start : start + CSV_ROWS_AT_ONCE]
                if isinstance(part, pd.DataFrame)
                else part.slice(start, CSV_ROWS_AT_ONCE)
            )
            # the line end comes with the last field: rows are joined in one pass
            columns = _csv_columns(piece, last_field_ends_line=True)
            self._file.write(text_bytes(joined_coded(columns, ",")))

    def __enter__(self) -> CsvAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()

    @property
    def sha256(self) -> str:
        """The written file's SHA-256 (once closed, with at least one part appended)."""
        if self._file is None:
            raise RuntimeError(f"{self.path}: nothing was appended")
        return self._file.sha256


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_value(value: Any) -> str:
    value = plain_value(value)
    return "" if value is None else _csv_field(str(value))


def _csv_columns(
    part: pd.DataFrame | pa.Table, last_field_ends_line: bool = False
) -> list[CodedText]:
    """Each column of ``part`` as its CSV fields (the last one's with ``\\n`` if asked)."""
    names = [str(c) for c in part.columns] if isinstance(part, pd.DataFrame) else part.column_names
    encoders = [_csv_value] * len(names)
    if last_field_ends_line:
        encoders[-1] = _csv_line_end
    if isinstance(part, pd.DataFrame):
        return [
            by_distinct_value(part[c], encode)
            for c, encode in zip(part.columns, encoders, strict=True)
        ]
    part = part.unify_dictionaries()
    # numbers are dictionary-encoded in Arrow: their Python values print as pandas' do
    numbers = {
        f.name for f in part.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
    }
    coded = {f.name for f in part.schema if pa.types.is_dictionary(f.type)} | numbers
    # anything else through pandas, typed as the table's metadata says
    plain = part.select([n for n in names if n not in coded]).to_pandas()
    return [
        by_dictionary_value(encoded(part.column(n)) if n in numbers else part.column(n), encode)
        if n in coded
        else by_distinct_value(plain[n], encode)
        for n, encode in zip(names, encoders, strict=True)
    ]


def _csv_line_end(value: Any) -> str:
    return _csv_value(value) + "\n"
