"""Reading delimited text exactly: one record per line, bad lines quarantined, never guessed at.

The police record files hold numbers and dates only, so a record never spans two lines. That lets
us count separators per line with numpy, hand the clean lines to pyarrow's CSV reader in one go and
keep every bad line, with its number, for the quarantine.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from transforms.domain.quarantine import Reason, concat_quarantine, quarantine_frame
from transforms.plumbing.errors import PermanentFailure

UTF8_BOM = b"\xef\xbb\xbf"


class SchemaError(PermanentFailure, ValueError):
    """The file's header does not carry the columns the loader needs."""


@dataclass
class DecodedText:
    text_bytes: bytes  # always UTF-8
    encoding: str
    undecodable_lines: list[int] = field(default_factory=list)  # 0-based line indexes


def decode(data: bytes) -> DecodedText:
    """UTF-8 first (with or without BOM), then Windows-1250, which Czech exports still use.

    Lines that fit neither are blanked and reported, so one bad byte costs one row, not the file.
    """
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    try:
        data.decode("utf-8")
        return DecodedText(data, "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return DecodedText(data.decode("cp1250").encode("utf-8"), "cp1250")
    except UnicodeDecodeError:
        pass
    lines, bad = [], []
    for index, line in enumerate(data.split(b"\n")):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                lines.append(line.decode("cp1250"))
            except UnicodeDecodeError:
                lines.append("")
                bad.append(index)
    return DecodedText("\n".join(lines).encode("utf-8"), "mixed", bad)


@dataclass
class DelimitedRecords:
    """The records of a delimited file as strings, keyed by their 1-based data row number."""

    frame: pd.DataFrame  # one string column per header name, plus ``source_row``
    quarantine: pd.DataFrame
    header: list[str]
    encoding: str
    input_rows: int  # non-blank data lines, good or bad
    delimiter: str = ","


def _line_bounds(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    newlines = np.flatnonzero(buf == ord("\n"))
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [len(buf)]])
    if len(buf) == 0 or starts[-1] == len(buf):  # no text after the final newline
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def _count_per_line(mask: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    positions = np.flatnonzero(mask)  # few next to the buffer: search them, don't scan sums
    return np.searchsorted(positions, ends) - np.searchsorted(positions, starts)


# the separators a spreadsheet or database export may use, the expected one first
DELIMITERS = (",", ";", "\t", "|")


def header_delimiter(header_line: str) -> str:
    """The separator of a header line: the one of :data:`DELIMITERS` that splits it into the
    most names (a comma on a tie). Decided once, from the header, never per row: an export
    saved with semicolons (as Czech spreadsheets save CSV) is read, not refused."""
    fields = {d: len(next(csv.reader([header_line], delimiter=d))) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (fields[d], d == ","))


def read_delimited(data: bytes, delimiter: str | None = None) -> DelimitedRecords:
    """Split a delimited file into well-formed records and quarantined lines.

    A data line is well-formed when it has as many fields as the header. Quoted fields are allowed
    (checked line by line with the csv module); a line with unbalanced quotes is malformed.
    Without ``delimiter``, the header's separator (:func:`header_delimiter`).
    """
    decoded = decode(data)
    buf = np.frombuffer(decoded.text_bytes, dtype=np.uint8)
    starts, ends = _line_bounds(buf)
    if len(starts) == 0:
        raise SchemaError("the file is empty: no header line")
    header_line = decoded.text_bytes[starts[0] : ends[0]].decode("utf-8").rstrip("\r")
    delimiter = delimiter or header_delimiter(header_line)
    header = [name.strip() for name in next(csv.reader([header_line], delimiter=delimiter))]
    n_fields = len(header)

    starts, ends = starts[1:], ends[1:]
    line_numbers = np.arange(1, len(starts) + 1)  # 1-based data row number
    content = ends - starts - (buf[np.maximum(ends - 1, 0)] == ord("\r"))
    blank = content <= 0
    separators = _count_per_line(buf == ord(delimiter), starts, ends)
    quotes = _count_per_line(buf == ord('"'), starts, ends)
    clean = (~blank) & (separators == n_fields - 1) & (quotes == 0)
    suspect = np.flatnonzero((~blank) & ~clean)

    bad_rows, bad_text, good_suspects = [], [], {}
    undecodable = {i - 1 for i in decoded.undecodable_lines}  # header is line 0
    for index in suspect:
        text = decoded.text_bytes[starts[index] : ends[index]].decode("utf-8").rstrip("\r")
        fields = _parse_quoted_line(text, delimiter)
        if fields is not None and len(fields) == n_fields:
            good_suspects[int(index)] = fields
        else:
            bad_rows.append(int(line_numbers[index]))
            bad_text.append(text)
    quarantines = [
        quarantine_frame(bad_rows, Reason.MALFORMED_LINE, bad_text, f"expected {n_fields} fields")
    ]
    undecodable_rows = sorted(int(line_numbers[i]) for i in undecodable if 0 <= i < len(starts))
    if undecodable_rows:
        quarantines.append(
            quarantine_frame(
                undecodable_rows, Reason.UNDECODABLE_TEXT, [""] * len(undecodable_rows)
            )
        )
        blank[[r - 1 for r in undecodable_rows]] = True  # keep them out of the data frame
        clean[[r - 1 for r in undecodable_rows]] = False

    clean_idx = np.flatnonzero(clean)
    frame = _read_clean_lines(decoded.text_bytes, starts, ends, clean_idx, header, delimiter)
    frame["source_row"] = line_numbers[clean_idx]
    if good_suspects:
        extra = pd.DataFrame(list(good_suspects.values()), columns=header, dtype="str")
        extra["source_row"] = line_numbers[list(good_suspects)]
        frame = pd.concat([frame, extra], ignore_index=True)
        frame = frame.sort_values("source_row", kind="stable", ignore_index=True)
    input_rows = int((~blank).sum()) + len(undecodable_rows)
    return DelimitedRecords(
        frame=frame,
        quarantine=concat_quarantine(quarantines),
        header=header,
        encoding=decoded.encoding,
        input_rows=input_rows,
        delimiter=delimiter,
    )


def _parse_quoted_line(text: str, delimiter: str) -> list[str] | None:
    if text.count('"') % 2:
        return None
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def _read_clean_lines(
    text: bytes,
    starts: np.ndarray,
    ends: np.ndarray,
    indexes: np.ndarray,
    header: list[str],
    delimiter: str,
) -> pd.DataFrame:
    if len(indexes) == 0:
        return pd.DataFrame({name: pd.Series([], dtype="str") for name in header})
    if len(indexes) == len(starts):
        body = text[starts[0] :]
    else:  # stitch the clean lines together: bad lines are few, so this is a short loop
        runs = np.split(indexes, np.flatnonzero(np.diff(indexes) != 1) + 1)
        body = b"\n".join(text[starts[run[0]] : ends[run[-1]]] for run in runs)
    table = pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get).astype("str")
