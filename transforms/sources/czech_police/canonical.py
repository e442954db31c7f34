"""A screened month placed in the geography and written in the canonical incident schema: one
row per incident and offence type."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from transforms.domain.countries import CountryProfile
from transforms.domain.periods import Month
from transforms.domain.quarantine import Reason, concat_quarantine
from transforms.sources.czech_police.codes import OffenceTypes, PoliceCodeLists
from transforms.sources.czech_police.download import MUNICIPALITY_COLUMNS, RawRecords
from transforms.sources.czech_police.screening import (
    IdIndex,
    Locator,
    Quarantiner,
    Screened,
    parse_int,
    screen,
)


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
    municipality codes (None outside every unit): see ``transforms.domain.geography.locate_points``.
    ``earlier_ids``: incident ids already accepted in earlier months, with that month; such an
    id here is the same incident exported twice, and is counted once, in its first month.
    """
    return finish(screen(raw, codes, month, country), codes, month, locate, earlier_ids)


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
    q = Quarantiner(screened.quarantine.source_columns, *screened.quarantine.frames)
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


def _most_specific(type_codes: list[int], types: OffenceTypes) -> list[int]:
    """Drop codes that are ancestors of another listed code: a GeoJSON list may name both."""
    unique = sorted(set(type_codes))
    covered = set().union(*(types.ancestors(c) for c in unique)) if unique else set()
    return [c for c in unique if c not in covered]


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
    state = parse_int(taken["state"])
    excluded = state.isin(list(codes.excluded_states)).fillna(False).astype(bool)
    groups = {c: codes.types.group_of(c) for c in np.unique(offence).tolist()}
    return pd.DataFrame(
        {
            "incident_id": taken["incident_id"].astype("int64"),
            "offence_code": pd.Series(offence.astype("int32"), index=taken.index),
            "offence_group": pd.Series(offence, index=taken.index).map(groups).astype("int32"),
            "state_code": state.astype("Int16"),
            "relevance_code": parse_int(taken["relevance"]).astype("Int16"),
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
