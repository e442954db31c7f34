"""Police of the Czech Republic, "Mapa kriminality" open data: monthly records and their code lists.

Formats (see docs/sources.md for what is certain and what is inferred):

- ``{YYYYMM}.zip``: ``{YYYYMM}.csv`` (``id,x,y,mp,date,state,relevance,types``, read by header, one
  row per offence type) plus the code lists ``types.csv``, ``states.csv``, ``relevance.csv``.
- ``{YYYYMM}.geojson``: one feature per incident, ``types`` a list of codes.
- ``types.json``/``states.json``/``relevance.json``: the national code-list JSON form
  ``{"polozky": [{"kod": …, "nazev": {"cs": …}, "popis": {"cs": …}}]}``.

Codes are always joined with the code lists of the same download: the ``states`` list is known to
change between releases.
"""

from __future__ import annotations

import io
import json
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.arrays import sorted_unique
from transforms.countries import CountryProfile
from transforms.errors import PermanentFailure
from transforms.periods import Month
from transforms.quarantine import Reason, concat_quarantine, quarantine_frame
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

CODE_LIST_NAMES = ("types", "states", "relevance")

# State labels (normalised: lower case, no diacritics) that mean "not an offence that happened".
_EXCLUDED_STATE_MARKERS = ("skutek se nestal", "neni trestnym cinem", "fingovan")


class CorruptDownloadError(PermanentFailure, ValueError):
    """The downloaded archive or file cannot be read at all."""


@dataclass(frozen=True)
class OffenceTypes:
    """The ``types`` hierarchy: every code, its name and its root (the offence group)."""

    names: dict[int, str]
    parent: dict[int, int | None]

    def group_of(self, code: int) -> int:
        seen = set()
        while (up := self.parent.get(code)) is not None and code not in seen:
            seen.add(code)
            code = up
        return code

    def ancestors(self, code: int) -> set[int]:
        found, current = set(), self.parent.get(code)
        while current is not None and current not in found:
            found.add(current)
            current = self.parent.get(current)
        return found


@dataclass(frozen=True)
class PoliceCodeLists:
    types: OffenceTypes
    states: dict[int, str]
    relevance: dict[int, str]

    @property
    def excluded_states(self) -> frozenset[int]:
        """States whose label says the act did not happen, was no offence, or was made up."""
        return frozenset(
            code
            for code, label in self.states.items()
            if any(marker in _normalise(label) for marker in _EXCLUDED_STATE_MARKERS)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "types": [
                {"code": c, "name": self.types.names[c], "parent": self.types.parent.get(c)}
                for c in sorted(self.types.names)
            ],
            "states": [{"code": c, "label": lbl} for c, lbl in sorted(self.states.items())],
            "relevance": [{"code": c, "label": lbl} for c, lbl in sorted(self.relevance.items())],
        }


def _normalise(label: str) -> str:
    stripped = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return " ".join(stripped.lower().split())


# --- code lists -------------------------------------------------------------------------------


def _first_present(columns: list[str], candidates: tuple[str, ...], what: str) -> str:
    for name in candidates:
        if name in columns:
            return name
    raise SchemaError(f"code list {what}: none of the columns {candidates} found in {columns}")


def _int_or_none(value: object) -> int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if text in ("", "NA", "nan", "None", "null"):
        return None
    return int(float(text))


def read_code_list_csv(data: bytes, kind: str) -> pd.DataFrame:
    """A code-list CSV as ``code, label[, parent]`` (types: parent is the nearest given parent)."""
    frame = pd.read_csv(io.BytesIO(decode(data).text_bytes), dtype="str", keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    columns = list(frame.columns)
    code_col = _first_present(columns, ("id", "kod", "code"), kind)
    label_col = _first_present(columns, ("name", "label", "nazev", "popis"), kind)
    out = pd.DataFrame(
        {
            "code": [_int_or_none(v) for v in frame[code_col].tolist()],
            "label": frame[label_col].str.strip(),
        }
    )
    if kind == "types":
        # parent_id3 if given, else parent_id2, else parent_id1: the nearest ancestor.
        parents = [c for c in ("parent_id3", "parent_id2", "parent_id1") if c in columns]
        if not parents:
            raise SchemaError(f"code list types: no parent_id columns in {columns}")
        given = zip(*([_int_or_none(v) for v in frame[c].tolist()] for c in parents), strict=True)
        out["parent"] = [next((v for v in row if v is not None), None) for row in given]
    if out["code"].isna().any():
        raise SchemaError(f"code list {kind}: a row has no code")
    return out


def read_code_list_json(data: bytes, kind: str) -> pd.DataFrame:
    """The national code-list JSON form ``{"polozky": [{"kod", "nazev": {"cs"}, ...}]}``."""
    try:
        items = json.loads(decode(data).text_bytes)["polozky"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise SchemaError(f"code list {kind}: not the 'polozky' code-list JSON ({error})") from None
    rows = []
    for item in items:
        name = item.get("nazev")
        label = name.get("cs") if isinstance(name, dict) else name
        parent = next(
            (
                _int_or_none(item[k])
                for k in ("parent_id3", "parent_id2", "parent_id1", "nadrazena_polozka")
                if _int_or_none(item.get(k)) is not None
            ),
            None,
        )
        rows.append(
            {"code": _int_or_none(item.get("kod")), "label": str(label).strip(), "parent": parent}
        )
    frame = pd.DataFrame(rows, columns=["code", "label", "parent"])
    return frame if kind == "types" else frame[["code", "label"]]


def code_lists_from_frames(frames: dict[str, pd.DataFrame]) -> PoliceCodeLists:
    missing = [k for k in CODE_LIST_NAMES if k not in frames and k != "relevance"]
    if missing:
        raise SchemaError(f"the download has no code list(s) {missing}: cannot join codes")
    types = frames["types"]
    relevance = frames.get("relevance", pd.DataFrame({"code": [], "label": []}))
    return PoliceCodeLists(
        types=OffenceTypes(
            names={int(c): str(n) for c, n in zip(types["code"], types["label"], strict=True)},
            parent={
                int(c): (None if pd.isna(p) else int(p))
                for c, p in zip(types["code"], types["parent"], strict=True)
            },
        ),
        states={
            int(c): str(n)
            for c, n in zip(frames["states"]["code"], frames["states"]["label"], strict=True)
        },
        relevance={
            int(c): str(n) for c, n in zip(relevance["code"], relevance["label"], strict=True)
        },
    )


# --- record files -----------------------------------------------------------------------------


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


# --- to the canonical schema -------------------------------------------------------------------


def _raw_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The source row as it was read (the file's own fields, comma-joined)."""
    text = frame[columns].astype("str").fillna("")
    rest: list[pd.Series] = [text[c] for c in columns[1:]]
    return text[columns[0]].str.cat(rest, sep=",")  # type: ignore[arg-type]


class _Quarantiner:
    """Moves failing rows out of the working frame, recording reason and original fields."""

    def __init__(self, source_columns: list[str], *frames: pd.DataFrame):
        self.source_columns = source_columns
        self.frames = list(frames)

    def split(
        self, frame: pd.DataFrame, bad: pd.Series, reason: Reason, detail: str = ""
    ) -> pd.DataFrame:
        bad = bad.reindex(frame.index).fillna(True).astype(bool)
        if not bad.any():
            return frame  # the usual case: no copy of the month's rows for a check they pass
        self._record(frame[bad], reason, detail)
        return frame[~bad]

    def drop(
        self,
        frame: pd.DataFrame,
        rows: np.ndarray,
        bad: np.ndarray,
        reason: Reason,
        detail: str,
        *aligned: np.ndarray,
    ) -> Any:
        """:meth:`split` on ``frame``'s ``rows`` (positions): quarantines the ``bad`` ones,
        returns the others (with the arrays ``aligned`` with them, if any), without copying
        the frame."""
        bad = np.asarray(bad, dtype=bool)
        if bad.any():
            # in the file's order, whatever the order of ``rows`` (a row repeated for each of
            # its types is quarantined once per type, each time the same)
            self._record(frame.take(np.sort(rows[bad])), reason, detail)
        if not aligned:
            return rows[~bad]
        return (rows[~bad], *(a[~bad] for a in aligned))

    def _record(self, rejected: pd.DataFrame, reason: Reason, detail: str) -> None:
        """Quarantine ``rejected`` rows as the file had them, with the reason."""
        self.frames.append(
            quarantine_frame(
                rejected["source_row"], reason, _raw_text(rejected, self.source_columns), detail
            )
        )


def _in_box(x: pd.Series, y: pd.Series, box: tuple[float, float, float, float]) -> pd.Series:
    return (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])


Matcher = Callable[[pa.Array], pa.Array]  # per value: it has the form (null where missing)


def _pattern(regex: str) -> Matcher:
    return lambda text: pc.match_substring_regex(text, regex)


def _whole_number(text: pa.Array) -> pa.Array:
    """``^[0-9]{1,18}$`` without a regex: ASCII digits only, at least one (what
    ``ascii_is_decimal`` tests), at most 18 of them; a tenth of the regex's time."""
    return pc.and_(pc.ascii_is_decimal(text), pc.less_equal(pc.binary_length(text), 18))


def _trimmed_if_all_match(series: pd.Series, matches: Matcher) -> pa.Array | None:
    """The values trimmed, as Arrow text, when every one ``matches`` (the usual file: read in
    Arrow, no Python object per value); None when any does not (or there are none), for the
    general path to decide."""
    text = pc.utf8_trim_whitespace(pa.array(series.astype("str"), from_pandas=True))
    if len(text) and pc.all(matches(text)).as_py():
        return text
    return None


def _plain_numbers(series: pd.Series, matches: Matcher, kind: pa.DataType) -> np.ndarray | None:
    """The values cast in Arrow when every one, trimmed, ``matches``; else None."""
    text = _trimmed_if_all_match(series, matches)
    return None if text is None else pc.cast(text, kind).to_numpy()


def _parse_float(series: pd.Series) -> pd.Series:
    """Decimal numbers; NaN for anything else."""
    plain = _plain_numbers(series, _pattern(r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"), pa.float64())
    if plain is not None:
        return pd.Series(plain, index=series.index)
    return pd.to_numeric(series.str.strip(), errors="coerce")


def _parse_int(series: pd.Series) -> pd.Series:
    """Whole numbers (``7``, `` 7 ``, ``7.0``); missing for anything else."""
    plain = _plain_numbers(series, _whole_number, pa.int64())
    if plain is not None:
        return pd.Series(plain, index=series.index, dtype="Int64")
    numbers = pd.to_numeric(series.str.strip().replace("", None), errors="coerce")
    whole = numbers.notna() & (numbers % 1 == 0)
    return numbers.where(whole).astype("Int64")


Locator = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Screened:
    """A month's rows that passed every check made before the placement, in order: what
    :func:`canonicalise` places and finishes. Screening in one process and finishing in
    another (a batch's helper and its task) gives the canonicalisation of one call."""

    rows: pd.DataFrame
    quarantine: _Quarantiner  # the rows moved out so far, each with its reason
    types: pd.Series  # per row its offence type, or its list of types (``listed``)
    listed: bool

    @property
    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The coordinates the placement is asked about, in the rows' order."""
        return self.rows["lon"].to_numpy(), self.rows["lat"].to_numpy()


class IdIndex:
    """Incident ids accepted in earlier months, by month: one sorted array per month, so a
    history of millions of ids is searched without a Python object per id."""

    def __init__(self) -> None:
        self._months: list[tuple[str, np.ndarray]] = []

    @classmethod
    def of(cls, first_month: Mapping[int, str]) -> IdIndex:
        index = cls()
        frame = pd.DataFrame({"id": list(first_month), "month": list(first_month.values())})
        for month, ids in frame.groupby("month")["id"]:
            index.add(str(month), ids.to_numpy(dtype=np.int64))
        return index

    def add(self, month: str, ids: np.ndarray) -> None:
        """Ids first accepted in ``month`` (the months are added oldest first)."""
        self._months.append((month, sorted_unique(np.asarray(ids, dtype=np.int64))))

    def first_month(self, ids: np.ndarray) -> np.ndarray:
        """Per id, the earliest month that accepted it, or None.

        The ids are sorted once, and each month is searched only for the ids within its
        smallest and largest: police ids grow over time, so of a new month's ids only the few
        exported again fall within an earlier month's (a decade's last month searched all
        119 months before it in full, 0.1 s)."""
        ids = np.asarray(ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        queries = ids[order]
        found = np.full(len(ids), None, dtype=object)
        for month, known in sorted(self._months, reverse=True):  # the earliest month wins
            if not len(known):
                continue
            low = np.searchsorted(queries, known[0], side="left")
            high = np.searchsorted(queries, known[-1], side="right")
            within = queries[low:high]
            at = np.minimum(np.searchsorted(known, within), len(known) - 1)
            found[order[low:high][known[at] == within]] = month
        return found


def canonicalise(
    raw: RawRecords,
    codes: PoliceCodeLists,
    month: Month,
    country: CountryProfile,
    locate: Locator,
    earlier_ids: Mapping[int, str] | IdIndex | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Source rows → canonical incident rows (one per offence type) and quarantined rows.

    Each check moves failing rows to the quarantine with its own reason, in a fixed order, so a
    row is quarantined once, for the first thing wrong with it. ``locate`` maps lon/lat arrays to
    municipality codes (None outside every unit): see ``transforms.geography.locate_points``.
    ``earlier_ids``: incident ids already accepted in earlier months, with that month; such an
    id here is the same incident exported twice, and is counted once, in its first month.
    """
    return finish(screen(raw, codes, month, country), codes, month, locate, earlier_ids)


def screen(
    raw: RawRecords, codes: PoliceCodeLists, month: Month, country: CountryProfile
) -> Screened:
    """The checks of :func:`canonicalise` up to the placement: each failing row goes to the
    quarantine with its reason, the first thing wrong with it."""
    q = _Quarantiner([c for c in raw.frame.columns if c != "source_row"], raw.quarantine)
    df = raw.frame.copy()
    for column in ("state", "relevance", "mp"):
        if column not in df.columns:
            df[column] = ""

    blank = pd.Series(False, index=df.index)
    for column in REQUIRED_COLUMNS:
        blank |= df[column].str.strip().isin(["", "nan", "None", "NA"])
    df = q.split(df, blank, Reason.MISSING_VALUE, "id, x, y, date and types are required")

    ids = _parse_int(df["id"])
    df = q.split(df, ids.isna() | (ids <= 0), Reason.BAD_ID, "")
    df["incident_id"] = ids[df.index].astype("int64")

    x, y = _parse_float(df["x"]), _parse_float(df["y"])
    df = q.split(df, x.isna() | y.isna(), Reason.BAD_COORDINATE, "")
    x, y = x[df.index], y[df.index]
    inside = _in_box(x, y, country.bbox)
    swapped = ~inside & _in_box(y, x, country.bbox)
    projected = ~inside & ~swapped & _in_box(x, y, country.native_extent)
    df = q.split(df, swapped, Reason.SWAPPED_AXES, "y/x inside the country")
    df = q.split(df, projected, Reason.WRONG_CRS, f"looks like {country.native_crs} metres")
    df = q.split(df, ~inside[df.index], Reason.OUTSIDE_COUNTRY, "")
    df["lon"], df["lat"] = x[df.index].astype("float64"), y[df.index].astype("float64")

    local = _parse_local_time(df["date"], country.timezone)
    df = q.split(df, local.isna(), Reason.BAD_DATE, "")
    local = local[df.index]
    in_month = (local.dt.year == month.year) & (local.dt.month == month.month)
    df = q.split(df, ~in_month, Reason.DATE_OUTSIDE_INTERVAL, f"run covers {month}")
    df["reported_at"] = local[df.index].dt.tz_convert("UTC")

    state, relevance = _parse_int(df["state"]), _parse_int(df["relevance"])
    bad_code = (df["state"].str.strip().ne("") & state.isna()) | (
        df["relevance"].str.strip().ne("") & relevance.isna()
    )
    df = q.split(df, bad_code, Reason.BAD_CODE, "state or relevance")

    known = pd.Series(list(codes.types.names), dtype="int64")
    listed = bool(df["types"].str.contains("|", regex=False).fillna(False).any())
    if not listed:  # the CSV: one type per row, checked without a list per row
        types = _parse_int(df["types"])
        df = q.split(df, types.isna(), Reason.BAD_CODE, "types")
        unknown = ~types[df.index].isin(known)
    else:
        types = _parse_type_lists(df["types"])
        df = q.split(df, types.isna(), Reason.BAD_CODE, "types")
        types = types[df.index]
        unknown = types.explode().astype("int64").isin(known).groupby(level=0).all().eq(False)
    df = q.split(df, unknown, Reason.UNKNOWN_OFFENCE_CODE, "not in types of this download")
    return Screened(df, q, types, listed)


def finish(
    screened: Screened,
    codes: PoliceCodeLists,
    month: Month,
    locate: Locator,
    earlier_ids: Mapping[int, str] | IdIndex | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`canonicalise` from the placement on, for rows :func:`screen` passed.

    The rows are followed as positions in the screened frame: each check quarantines the rows
    it rejects, and only the columns the canonical rows need are copied, once, at the end."""
    df = screened.rows
    # a quarantine of its own: finishing leaves the screened state as it was
    q = _Quarantiner(screened.quarantine.source_columns, *screened.quarantine.frames)
    located = np.asarray(locate(*screened.points), dtype=object)
    rows = np.arange(len(df))
    rows = q.drop(df, rows, pd.isna(located), Reason.OUTSIDE_GEOGRAPHY, _NO_MUNICIPALITY)
    types = screened.types.loc[df.index].to_numpy()
    if not screened.listed:
        offence = types[rows].astype("int64")
    else:
        # lists (GeoJSON) may name a type and its ancestors: keep the most specific; a row
        # then stands for each of its types
        lists = [v if len(v) == 1 else _most_specific(v, codes.types) for v in types[rows]]
        rows = np.repeat(rows, [len(v) for v in lists])
        offence = np.array([c for v in lists for c in v], dtype="int64")

    # in the canonical order, by id then type, from here on (stable: a row's first
    # occurrence stays first; the quarantine keeps the file's order)
    incident = df["incident_id"].to_numpy(dtype="int64")
    order = _by_id_and_type(incident[rows], offence)
    rows, offence = rows[order], offence[order]
    # a source row with any repeated (id, type) goes whole, so it is never half accepted
    ids = incident[rows]
    repeated = np.zeros(len(ids), dtype=bool)
    repeated[1:] = (ids[1:] == ids[:-1]) & (offence[1:] == offence[:-1])
    source_row = df["source_row"].to_numpy(dtype="int64")
    duplicated = np.isin(source_row[rows], source_row[rows[repeated]])
    rows, offence = q.drop(
        df,
        rows,
        duplicated,
        Reason.DUPLICATE_RECORD,
        "same id and type earlier in the file",
        offence,
    )
    index = earlier_ids if isinstance(earlier_ids, IdIndex) else IdIndex.of(earlier_ids or {})
    first_month = index.first_month(incident[rows])
    for earlier in sorted(set(first_month[pd.notna(first_month)].tolist())):
        rows, offence, first_month = q.drop(
            df,
            rows,
            first_month == earlier,
            Reason.DUPLICATE_ACROSS_MONTHS,
            f"id already reported in {earlier}",
            offence,
            first_month,
        )
    canonical = _canonical_frame(df, rows, offence, located[rows], codes, month)
    return canonical, concat_quarantine(q.frames)


_NO_MUNICIPALITY = "in no municipality of the boundary file"


def _by_id_and_type(incident: np.ndarray, offence: np.ndarray) -> np.ndarray:
    """The stable order of rows by (id, type); checked first, as a file is often in it."""
    same_id = incident[1:] == incident[:-1]
    if ((incident[1:] > incident[:-1]) | (same_id & (offence[1:] >= offence[:-1]))).all():
        return np.arange(len(incident))
    return np.lexsort((offence, incident))


def _parse_type_lists(types: pd.Series) -> pd.Series:
    """Each row's offence types as a list of ints; missing where any is not an integer.

    The CSV has one type per row: those are parsed in one vectorised pass; only the rows that
    list several (``a|b``, the GeoJSON form) are split and grouped."""
    values = np.full(len(types), None, dtype=object)
    several = types.str.contains("|", regex=False).fillna(False).to_numpy(dtype=bool)
    single = _parse_int(types[~several])
    fine = single.notna().to_numpy()
    for position, code in zip(
        np.flatnonzero(~several)[fine], single[fine].astype("int64").tolist(), strict=True
    ):
        values[position] = [code]
    if several.any():
        listed = types[several]
        parts = _parse_int(listed.str.split("|").explode())
        valid = parts.notna().groupby(level=0).all()
        lists = parts.dropna().astype("int64").groupby(level=0).agg(list)
        lists = lists.reindex(listed.index).where(valid.reindex(listed.index, fill_value=False))
        values[np.flatnonzero(several)] = lists.to_numpy(dtype=object)
    return pd.Series(values, index=types.index, dtype=object)


def _most_specific(type_codes: list[int], types: OffenceTypes) -> list[int]:
    """Drop codes that are ancestors of another listed code: a GeoJSON list may name both."""
    unique = sorted(set(type_codes))
    covered = set().union(*(types.ancestors(c) for c in unique)) if unique else set()
    return [c for c in unique if c not in covered]


# a leap second (:60) or year 0 is left to the general path, which refuses them as pandas does
POLICE_TIME = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-5][0-9]$"


def _parse_local_time(values: pd.Series, timezone: str) -> pd.Series:
    """Reported date and time. Naive values are local time; an offset or ``Z`` is respected."""
    trimmed = _trimmed_if_all_match(values, _pattern(POLICE_TIME))
    if trimmed is not None:
        # the police's own form, local time without an offset, parsed once in Arrow (half the
        # time of pandas); an impossible date or time is missing, as in the general path.
        # Arrow refuses a 13th month or a 25th hour but rolls 31 April over into 1 May: a day
        # that is not the one written is refused here.
        parsed = pc.strptime(trimmed, format="%Y-%m-%d %H:%M:%S", unit="us", error_is_null=True)
        written_day = pc.cast(pc.utf8_slice_codeunits(trimmed, 8, 10), pa.int64())
        parsed = pc.if_else(pc.equal(pc.day(parsed), written_day), parsed, None)
        local = pd.Series(
            parsed.to_numpy(zero_copy_only=False).astype("datetime64[us]"), index=values.index
        )
        local = local.dt.tz_localize(timezone, ambiguous=False, nonexistent="shift_forward")
        return local.dt.tz_convert(timezone)
    text = values.str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    naive = ~text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
    if naive.any():
        local = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
        local = local.dt.tz_localize(timezone, ambiguous=False, nonexistent="shift_forward")
        parsed[naive] = local.dt.tz_convert("UTC")
    return parsed.dt.tz_convert(timezone)


CANONICAL_COLUMNS = [
    "incident_id",
    "offence_code",
    "offence_group",
    "state_code",
    "relevance_code",
    "counted",
    "reported_at",
    "reported_month",
    "lon",
    "lat",
    "municipality_code",
    "municipality_code_source",
    "source_row",
]


def _canonical_frame(
    df: pd.DataFrame,
    rows: np.ndarray,
    offence: np.ndarray,
    located: np.ndarray,
    codes: PoliceCodeLists,
    month: Month,
) -> pd.DataFrame:
    """The canonical columns of ``df``'s ``rows``, in that order, each with its type."""
    municipality_column = next((c for c in MUNICIPALITY_COLUMNS if c in df.columns), None)
    needed = ["incident_id", "state", "relevance", "reported_at", "lon", "lat", "source_row"]
    taken = df[needed + ([municipality_column] if municipality_column else [])].take(rows)
    taken.index = pd.RangeIndex(len(rows))
    state = _parse_int(taken["state"])
    excluded = state.isin(list(codes.excluded_states)).fillna(False).astype(bool)
    groups = {c: codes.types.group_of(c) for c in np.unique(offence).tolist()}
    return pd.DataFrame(
        {
            "incident_id": taken["incident_id"].astype("int64"),
            "offence_code": pd.Series(offence.astype("int32"), index=taken.index),
            "offence_group": pd.Series(offence, index=taken.index).map(groups).astype("int32"),
            "state_code": state.astype("Int16"),
            "relevance_code": _parse_int(taken["relevance"]).astype("Int16"),
            "counted": ~excluded,
            "reported_at": taken["reported_at"],
            "reported_month": pd.Series(str(month), index=taken.index, dtype="str"),
            "lon": taken["lon"].astype("float64"),
            "lat": taken["lat"].astype("float64"),
            "municipality_code": pd.Series(located, index=taken.index, dtype="str"),
            "municipality_code_source": (
                taken[municipality_column].str.strip().str.zfill(6).astype("str")
                if municipality_column is not None
                else pd.Series(pd.NA, index=taken.index, dtype="str")
            ),
            "source_row": taken["source_row"].astype("int64"),
        }
    )
