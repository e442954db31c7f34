"""A monthly police download: the archive, its record file (CSV by header, any separator, or
GeoJSON) and what it tells of the export (renamed and unused columns); a file that cannot be
read is refused with its cause."""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field, replace

import pandas as pd

from transforms.domain.periods import Month
from transforms.domain.quarantine import concat_quarantine
from transforms.plumbing.errors import PermanentFailure
from transforms.sources.czech_police.codes import (
    CODE_LIST_NAMES,
    PoliceCodeLists,
    code_lists_from_frames,
    read_code_list_csv,
)
from transforms.sources.text import SchemaError, decode, read_delimited

RECORD_COLUMNS = ("id", "x", "y", "mp", "date", "state", "relevance", "types")


REQUIRED_COLUMNS = ("id", "x", "y", "date", "types")


# Names seen in consumers' code or plausible renames; mapped, then reported as schema drift.
COLUMN_ALIASES = {
    "lon": "x",
    "lng": "x",
    "lat": "y",
    "datum": "date",
    "type": "types",
    "typ": "types",
    "stav": "state",
    "relevance_id": "relevance",
    "state_id": "state",
}


# Columns that carry a municipality code when the file is a per-municipality extract.
MUNICIPALITY_COLUMNS = ("municipality_code", "obec", "kod_obce", "obec_kod")


class CorruptDownloadError(PermanentFailure, ValueError):
    """The downloaded archive or file cannot be read at all."""


@dataclass
class RawRecords:
    """Source rows as text, before any value is trusted."""

    frame: pd.DataFrame  # str columns RECORD_COLUMNS (those present) + source_row
    quarantine: pd.DataFrame
    input_rows: int
    encoding: str
    renamed_columns: dict[str, str] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    delimiter: str = ","


def _normalise_header(columns: list[str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    rename, renamed, extra = {}, {}, []
    for column in columns:
        key = column.strip().lower()
        if key in RECORD_COLUMNS or key in MUNICIPALITY_COLUMNS:
            rename[column] = key
        elif key in COLUMN_ALIASES:
            rename[column] = COLUMN_ALIASES[key]
            renamed[column] = COLUMN_ALIASES[key]
        else:
            extra.append(column)
    missing = [c for c in REQUIRED_COLUMNS if c not in rename.values()]
    if missing:
        raise SchemaError(
            f"police records: required column(s) {missing} not found; the header is {columns}. "
            "If the file's fields are not separated by commas, semicolons, tabs or |, save it "
            "with one of those; if the police renamed a column, add the new name to "
            f"COLUMN_ALIASES in {__name__}."
        )
    return rename, renamed, extra


DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def export_changes(records: RawRecords) -> list[str]:
    """How a record file departs from the export we know, in words for the log, the manifest
    and the changelog: renamed columns read through an alias, columns we do not use, another
    separator. Each is read correctly; a data engineer should still learn that the police
    changed their export."""
    changes = [
        f"column {original!r} read as {name!r}"
        for original, name in records.renamed_columns.items()
    ]
    if records.extra_columns:
        changes.append(f"column(s) not used: {', '.join(map(repr, records.extra_columns))}")
    if records.delimiter != ",":
        changes.append(f"fields separated by {DELIMITER_NAMES[records.delimiter]}, not commas")
    return changes


def read_records_csv(data: bytes) -> RawRecords:
    records = read_delimited(data)
    rename, renamed, extra = _normalise_header(records.header)
    frame = records.frame.rename(columns=rename)
    if records.delimiter != ",":
        # where commas do not separate fields, a comma in a coordinate is a decimal comma (as a
        # Czech spreadsheet writes 14,42)
        for axis in ("x", "y"):
            frame[axis] = frame[axis].str.replace(",", ".", n=1, regex=False)
    keep = [c for c in (*RECORD_COLUMNS, *MUNICIPALITY_COLUMNS) if c in frame.columns]
    return RawRecords(
        frame=frame[[*keep, "source_row"]],
        quarantine=records.quarantine,
        input_rows=records.input_rows,
        encoding=records.encoding,
        renamed_columns=renamed,
        extra_columns=extra,
        delimiter=records.delimiter,
    )


def read_records_geojson(data: bytes) -> RawRecords:
    """A GeoJSON FeatureCollection: ``types`` lists become ``|``-joined text for the same checks."""
    try:
        collection = json.loads(decode(data).text_bytes)
        features = collection["features"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise CorruptDownloadError(f"not a GeoJSON FeatureCollection ({error})") from None
    rows = []
    for number, feature in enumerate(features, start=1):
        props = dict(feature.get("properties") or {})
        coords = ((feature.get("geometry") or {}).get("coordinates") or [None, None])[:2]
        types = props.get("types")
        props["types"] = "|".join(str(t) for t in types) if isinstance(types, list) else types
        props["x"], props["y"] = coords if len(coords) == 2 else (None, None)
        props["source_row"] = number
        rows.append(props)
    frame = pd.DataFrame(rows)
    rename, renamed, extra = _normalise_header([c for c in frame.columns if c != "source_row"])
    frame = frame.rename(columns=rename)
    keep = [c for c in (*RECORD_COLUMNS, *MUNICIPALITY_COLUMNS) if c in frame.columns]
    text = frame[keep].astype("str").where(frame[keep].notna(), "")
    text["source_row"] = frame["source_row"].astype("int64")
    return RawRecords(
        frame=text,
        quarantine=concat_quarantine([]),
        input_rows=len(features),
        encoding="utf-8",
        renamed_columns=renamed,
        extra_columns=[c for c in extra if c != "source_row"],
    )


@dataclass
class PoliceDownload:
    records: RawRecords
    code_lists: PoliceCodeLists
    members: list[str]

    def without_rows(self) -> PoliceDownload:
        """The download with its source rows and early quarantine left out (its code lists and
        what the report says of the file kept): for a month whose rows travel screened."""
        records = replace(
            self.records,
            frame=self.records.frame.iloc[:0],
            quarantine=self.records.quarantine.iloc[:0],
        )
        return replace(self, records=records)


# what reading a damaged archive raises: a cut-short file, a bad CRC, undecodable data
ZIP_ERRORS = (zipfile.BadZipFile, EOFError, OSError, zlib.error)


def unreadable_archive_cause(data: bytes, error: Exception) -> str:
    """Why bytes that should be a zip archive are not one, in the words a user can act on."""
    head = data[:512].lstrip().lower()
    if not data:
        return "the file is empty (0 bytes)"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return (
            "the file is an HTML page, not a zip archive (a web server's error or login page "
            "saved under the archive's name)"
        )
    if not data.startswith(b"PK"):
        return f"the file is not a zip archive (it begins {data[:8]!r})"
    return f"the zip archive is damaged or cut short ({error})"


DEFAULT_ARCHIVE_FIX = "replace the file with a good copy of the police's archive and run again"


def read_month_zip(data: bytes, month: Month, fix: str = DEFAULT_ARCHIVE_FIX) -> PoliceDownload:
    """The monthly archive: the month's CSV and the code lists of the same release. ``fix``
    ends the message of an archive that cannot be read: what to do where the bytes came from."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {name.rsplit("/", 1)[-1].lower(): name for name in archive.namelist()}
    except ZIP_ERRORS as error:
        raise CorruptDownloadError(
            f"the police archive for {month} cannot be read: "
            f"{unreadable_archive_cause(data, error)}. Fix: {fix}"
        ) from None

    def member(name: str) -> bytes:
        """A member's bytes, checked against its CRC as it is read (a whole-archive check
        first would inflate every member twice)."""
        try:
            return archive.read(name)
        except ZIP_ERRORS as error:
            raise CorruptDownloadError(
                f"the police archive for {month} cannot be read: its member {name} is damaged "
                f"({error}). Fix: {fix}"
            ) from None

    record_name = members.get(f"{month.compact}.csv") or next(
        (
            original
            for lower, original in members.items()
            if lower.endswith(".csv") and lower[:-4] not in CODE_LIST_NAMES
        ),
        None,
    )
    if record_name is None:
        raise CorruptDownloadError(
            f"the police archive for {month} holds no records CSV: {members}"
        )
    frames = {}
    for kind in CODE_LIST_NAMES:
        if f"{kind}.csv" in members:
            frames[kind] = read_code_list_csv(member(members[f"{kind}.csv"]), kind)
    return PoliceDownload(
        records=read_records_csv(member(record_name)),
        code_lists=code_lists_from_frames(frames),
        members=sorted(archive.namelist()),
    )
