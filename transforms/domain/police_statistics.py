"""The police's statistical report as data: checks of a report, months from cumulative figures.

A report gives each police unit's figures per TSK code cumulated from 1 January to the end of its
month. A month's own figures are the difference from the previous month's report of the same year
(January's are its report). The police correct classifications during the year, so a difference
can be negative: such a figure is kept (the months of a year then still add up to its latest
report, which is the rule: *the latest report wins*) and marked ``revised``, and every drop is
listed per unit, TSK code and measure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import numpy as np
import pandas as pd

from transforms.domain.periods import Month
from transforms.sources.police_reports import COUNT_MEASURES

# measures a report gives as they stand on its date, not summed over its period: of the
# offences found since 1 January, those closed and those still under investigation then (an
# investigation closed in February takes a January offence from one to the other)
STOCK_MEASURES = ("found_closed", "found_under_investigation")
FLOW_MEASURES = tuple(m for m in COUNT_MEASURES if m not in STOCK_MEASURES)

KEY = ["unit_code", "tsk_code"]


def code_range(code: str) -> tuple[int, int]:
    """The leaf codes a row covers: ``101`` → (101, 101), ``101-106`` → (101, 106)."""
    low, _, high = code.partition("-")
    return int(low), int(high or low)


def widest_code(codes: Iterable[str]) -> str:
    """The range that covers the most codes: all offences (``101-903`` in the Czech reports);
    ties go to the first in order."""
    spans = {str(c): code_range(str(c))[1] - code_range(str(c))[0] for c in codes}
    return max(sorted(spans), key=lambda c: spans[c])


def subtotal_mismatches(report: pd.DataFrame) -> pd.DataFrame:
    """Subtotal rows whose figure differs from the sum of the leaf rows in their range (per unit
    and measure): ``unit_code, tsk_code, measure, stated, rows_sum``. One grouped sum per range
    code, not per row: a national month has some 550 units × 40 ranges."""
    leaves = report[~report["is_subtotal"]]
    leaf_codes = leaves["tsk_code"].astype(int)
    subtotals = report[report["is_subtotal"]]
    found: list[tuple[object, ...]] = []
    for code, stated in subtotals.groupby("tsk_code", sort=True):
        low, high = code_range(str(code))
        inside = leaves[(leaf_codes >= low) & (leaf_codes <= high)]
        sums = inside.groupby("unit_code")[list(COUNT_MEASURES)].sum()
        sums = sums.reindex(stated["unit_code"], fill_value=0)
        for measure in COUNT_MEASURES:
            differs = ~np.isclose(
                sums[measure].to_numpy(), stated[measure].to_numpy(), rtol=0, atol=0.5
            )
            found.extend(
                zip(
                    stated["unit_code"][differs],
                    [code] * int(differs.sum()),
                    [measure] * int(differs.sum()),
                    stated[measure][differs],
                    sums[measure].to_numpy()[differs],
                    strict=True,
                )
            )
    columns = [*KEY, "measure", "stated", "rows_sum"]
    return pd.DataFrame(found, columns=columns).sort_values(columns[:3], ignore_index=True)


def report_view(report: pd.DataFrame, known_codes: set[str], month: Month) -> pd.DataFrame:
    """The report as the ``raw_police_reports`` suite checks it: each row with whether its code
    is known, its subtotal adds up and its period is the month's."""
    view = report.copy()
    view["tsk_code_known"] = view["is_subtotal"] | view["tsk_code"].isin(known_codes)
    mismatched = subtotal_mismatches(report)[KEY].drop_duplicates()
    flagged = view[KEY].merge(mismatched.assign(bad=True), on=KEY, how="left")["bad"]
    view["subtotal_matches"] = flagged.isna().to_numpy()
    view["period_matches"] = (view["period_start"] == f"{month.year:04d}-01-01") & (
        view["period_end"] == (month.next().first_day - timedelta(days=1)).isoformat()
    )
    return view


def cumulative_drops(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Leaf figures lower than in the previous month's report of the same year: the police
    reclassified earlier offences (a stock, :data:`STOCK_MEASURES`, falls whenever cases
    close: not a drop). ``unit_code, tsk_code, measure, previous, current``."""
    merged = current.loc[~current["is_subtotal"], [*KEY, *FLOW_MEASURES]].merge(
        previous.loc[~previous["is_subtotal"], [*KEY, *FLOW_MEASURES]],
        on=KEY,
        suffixes=("", "_previous"),
    )
    found: list[pd.DataFrame] = []
    for measure in FLOW_MEASURES:
        lower = merged[measure] < merged[f"{measure}_previous"]
        part = merged.loc[lower, [*KEY, f"{measure}_previous", measure]]
        found.append(part.set_axis([*KEY, "previous", "current"], axis=1).assign(measure=measure))
    columns = [*KEY, "measure", "previous", "current"]
    return pd.concat(found, ignore_index=True)[columns].sort_values(columns[:3], ignore_index=True)


def monthly_figures(cumulative: pd.DataFrame) -> pd.DataFrame:
    """Each month's own figures from the reports (one row per ``month, unit_code, tsk_code``,
    figures cumulated from January). A month whose previous month has no report for the unit has
    no figures of its own (NaN, ``previous_missing``): the difference would span two months.
    ``revised``: a figure below zero, the police's correction of an earlier month. A stock
    (:data:`STOCK_MEASURES`) has no month's figure: it is NaN."""
    frame = cumulative.sort_values(["month", *KEY], ignore_index=True)
    months = frame["month"].map(Month.parse)
    frame["year"] = [m.year for m in months]
    frame["month_number"] = [m.month for m in months]
    previous = frame[[*KEY, "year", "month_number", *COUNT_MEASURES]].copy()
    previous["month_number"] += 1
    joined = frame.merge(
        previous, on=[*KEY, "year", "month_number"], how="left", suffixes=("", "_before")
    )
    january = joined["month_number"] == 1
    joined["previous_missing"] = ~january & joined[f"{COUNT_MEASURES[0]}_before"].isna()
    revised = np.zeros(len(joined), dtype=bool)
    for measure in COUNT_MEASURES:
        before = joined[f"{measure}_before"].where(~january, 0)
        joined[measure] = joined[measure] - before
        if measure in STOCK_MEASURES:  # a difference of two stocks is no month's figure
            joined[measure] = np.nan
        else:
            revised |= (joined[measure] < 0).to_numpy()
    joined["revised"] = revised
    keep = [c for c in cumulative.columns if c not in COUNT_MEASURES and c != "solved_percent"]
    return joined[[*keep, *COUNT_MEASURES, "previous_missing", "revised"]]
