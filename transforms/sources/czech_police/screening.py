"""Every check of a month's rows made before the placement: ids, coordinates, dates, codes and
duplicates, each failing row quarantined with its reason."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.domain.countries import CountryProfile
from transforms.domain.periods import Month
from transforms.domain.quarantine import Reason, quarantine_frame
from transforms.plumbing.arrays import sorted_unique
from transforms.sources.czech_police.codes import PoliceCodeLists
from transforms.sources.czech_police.download import REQUIRED_COLUMNS, RawRecords


def _raw_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The source row as it was read (the file's own fields, comma-joined)."""
    text = frame[columns].astype("str").fillna("")
    rest: list[pd.Series] = [text[c] for c in columns[1:]]
    return text[columns[0]].str.cat(rest, sep=",")  # type: ignore[arg-type]


class Quarantiner:
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


def parse_int(series: pd.Series) -> pd.Series:
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
    quarantine: Quarantiner  # the rows moved out so far, each with its reason
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
        exported again fall within an earlier month's."""
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


def screen(
    raw: RawRecords, codes: PoliceCodeLists, month: Month, country: CountryProfile
) -> Screened:
    """The checks of :func:`canonicalise` up to the placement: each failing row goes to the
    quarantine with its reason, the first thing wrong with it."""
    q = Quarantiner([c for c in raw.frame.columns if c != "source_row"], raw.quarantine)
    df = raw.frame.copy()
    for column in ("state", "relevance", "mp"):
        if column not in df.columns:
            df[column] = ""

    blank = pd.Series(False, index=df.index)
    for column in REQUIRED_COLUMNS:
        blank |= df[column].str.strip().isin(["", "nan", "None", "NA"])
    df = q.split(df, blank, Reason.MISSING_VALUE, "id, x, y, date and types are required")

    ids = parse_int(df["id"])
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

    state, relevance = parse_int(df["state"]), parse_int(df["relevance"])
    bad_code = (df["state"].str.strip().ne("") & state.isna()) | (
        df["relevance"].str.strip().ne("") & relevance.isna()
    )
    df = q.split(df, bad_code, Reason.BAD_CODE, "state or relevance")

    known = pd.Series(list(codes.types.names), dtype="int64")
    listed = bool(df["types"].str.contains("|", regex=False).fillna(False).any())
    if not listed:  # the CSV: one type per row, checked without a list per row
        types = parse_int(df["types"])
        df = q.split(df, types.isna(), Reason.BAD_CODE, "types")
        unknown = ~types[df.index].isin(known)
    else:
        types = _parse_type_lists(df["types"])
        df = q.split(df, types.isna(), Reason.BAD_CODE, "types")
        types = types[df.index]
        unknown = types.explode().astype("int64").isin(known).groupby(level=0).all().eq(False)
    df = q.split(df, unknown, Reason.UNKNOWN_OFFENCE_CODE, "not in types of this download")
    return Screened(df, q, types, listed)


def _parse_type_lists(types: pd.Series) -> pd.Series:
    """Each row's offence types as a list of ints; missing where any is not an integer.

    The CSV has one type per row: those are parsed in one vectorised pass; only the rows that
    list several (``a|b``, the GeoJSON form) are split and grouped."""
    values = np.full(len(types), None, dtype=object)
    several = types.str.contains("|", regex=False).fillna(False).to_numpy(dtype=bool)
    single = parse_int(types[~several])
    fine = single.notna().to_numpy()
    for position, code in zip(
        np.flatnonzero(~several)[fine], single[fine].astype("int64").tolist(), strict=True
    ):
        values[position] = [code]
    if several.any():
        listed = types[several]
        parts = parse_int(listed.str.split("|").explode())
        valid = parts.notna().groupby(level=0).all()
        lists = parts.dropna().astype("int64").groupby(level=0).agg(list)
        lists = lists.reindex(listed.index).where(valid.reindex(listed.index, fill_value=False))
        values[np.flatnonzero(several)] = lists.to_numpy(dtype=object)
    return pd.Series(values, index=types.index, dtype=object)


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
