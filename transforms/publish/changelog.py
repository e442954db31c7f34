"""Which published figures changed between two releases: ``changes.csv`` and its summary.

A row per cell of the counts table whose published value or status is not what the previous
release said: a revised count, a cell now hidden or now published, a cell one release has and
the other has not (a new unit, say). Compared are the months both releases hold, and the years
whose months are the same in both; a month added or dropped (past retention) and a year now
summed over more months are listed in the summary, not cell by cell (a month is 700,000 cells
of a national table). A year at a time, by a hash join of the two tables' keys.

What it tells: only counts each release published itself (a count is given where its own
release published it, never for a hidden cell), and the statuses both releases carry. A reader
who holds both releases, as the audit assumes, can work all of it out already.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms.publish.csv import CsvAppender

KEY = ["geo_level", "geo_code", "period", "offence_code"]
NAMES = ["geo_name", "offence_name"]
COLUMNS = [*KEY, *NAMES, "count", "status"]
# what happened to a cell, as the file says it ("new"/"gone": one release has no such cell)
REVISED, HIDDEN_NOW, PUBLISHED_NOW, NEW, GONE = (
    "revised",
    "now_suppressed",
    "now_published",
    "new",
    "gone",
)
CHANGE_ORDER = (REVISED, HIDDEN_NOW, PUBLISHED_NOW, NEW, GONE)
OUTPUT = [
    "change",
    "geo_level",
    "geo_code",
    "geo_name",
    "period",
    "offence_code",
    "offence_name",
    "count_before",
    "status_before",
    "count_now",
    "status_now",
]


def write_changes(previous: Path | None, current: Path, target: Path) -> dict[str, object]:
    """``changes.csv`` at ``target`` from the counts tables of the previous release
    (``previous``; None for a first release) and this one; returns the summary the release page
    shows: how many cells each kind of change touched, the months with a changed figure, the
    months added and dropped, and the years now summed over other months."""
    tally: Counter[str] = Counter()
    changed_months: set[str] = set()
    # a first release has nothing to compare (a decade's periods take seconds to read)
    months_now = _months(current) if previous is not None else set()
    months_before = _months(previous) if previous is not None else set()
    held_by_both = months_now & months_before
    regrouped = sorted(
        year
        for year in {m[:4] for m in held_by_both}
        if {m for m in months_now if m.startswith(year)}
        != {m for m in months_before if m.startswith(year)}
    )
    with CsvAppender(target) as out:
        out.append(pd.DataFrame(columns=OUTPUT))
        if previous is not None:
            for year in sorted({m[:4] for m in held_by_both}):
                compared = sorted(m for m in held_by_both if m.startswith(year))
                if year not in regrouped:
                    compared.append(year)
                changed = _changed(_cells(previous, compared), _cells(current, compared))
                if len(changed):
                    out.append(changed)
                    tally.update(changed["change"])
                    changed_months.update(p for p in changed["period"] if len(p) == 7)
    return {
        "compared_with": previous.parent.name if previous is not None else None,
        "cells": {change: tally.get(change, 0) for change in CHANGE_ORDER},
        "months_with_changes": sorted(changed_months),
        "months_added": sorted(months_now - months_before),
        "months_dropped": sorted(months_before - months_now),
        "years_over_other_months": regrouped,
    }


def _months(counts: Path) -> set[str]:
    periods = pq.read_table(counts, columns=["period"])["period"]
    return {p for p in pc.unique(periods.cast(pa.string())).to_pylist() if len(p) == 7}


def _cells(counts: Path, periods: list[str]) -> pa.Table:
    """The cells of ``periods`` (one year's), text as plain strings; only the row groups that
    hold them are read (a release writes its counts a year at a time)."""
    table = pq.read_table(counts, columns=COLUMNS, filters=[("period", "in", periods)])
    return pa.table(
        {
            name: table[name].cast(pa.string()) if name != "count" else table[name]
            for name in COLUMNS
        }
    )


def _changed(before: pa.Table, now: pa.Table) -> pd.DataFrame:
    """The cells whose status or published count differ, with what each release said."""
    joined = now.join(
        before,
        keys=KEY,
        join_type="full outer",
        left_suffix="_now",
        right_suffix="_before",
        coalesce_keys=True,
        use_threads=True,
    )
    status_now, status_before = joined["status_now"], joined["status_before"]
    count_now, count_before = joined["count_now"], joined["count_before"]

    def where(condition: pa.ChunkedArray) -> np.ndarray:
        return pc.fill_null(condition, False).to_numpy(zero_copy_only=False)

    both_published = pc.and_kleene(
        pc.equal(status_now, "published"), pc.equal(status_before, "published")
    )
    # each cell's change, decided once; "" where there is none
    change = np.select(
        [
            where(pc.is_null(status_before)),
            where(pc.is_null(status_now)),
            where(pc.and_kleene(both_published, pc.not_equal(count_now, count_before))),
            where(pc.not_equal(status_now, status_before)),
        ],
        [
            NEW,
            GONE,
            REVISED,
            np.where(where(pc.equal(status_now, "suppressed")), HIDDEN_NOW, PUBLISHED_NOW),
        ],
        default="",
    )
    changed = change != ""
    rows = joined.filter(pa.array(changed)).to_pandas()
    if rows.empty:
        return pd.DataFrame(columns=OUTPUT)
    rows["change"] = change[changed]
    # a name as the release that has the cell gives it (this one where both do)
    rows["geo_name"] = rows["geo_name_now"].fillna(rows["geo_name_before"])
    rows["offence_name"] = rows["offence_name_now"].fillna(rows["offence_name_before"])
    for column in ("count_now", "count_before"):
        rows[column] = rows[column].astype("Int64")
    order = {change: i for i, change in enumerate(CHANGE_ORDER)}
    rows = rows.assign(_order=rows["change"].map(order)).sort_values(
        ["_order", "geo_level", "geo_code", "period", "offence_code"], kind="stable"
    )
    return rows[OUTPUT].reset_index(drop=True)
