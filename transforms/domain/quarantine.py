"""Rows that cannot be used are kept, never dropped: each with a reason code and its original text.

The invariant every run checks: ``input rows = accepted rows + quarantined rows``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd


class Reason(StrEnum):
    """Why a source row was quarantined. The values are a published vocabulary: do not rename."""

    MALFORMED_LINE = "malformed_line"  # wrong number of fields, unbalanced quotes
    UNDECODABLE_TEXT = "undecodable_text"  # bytes that are neither UTF-8 nor Windows-1250
    MISSING_VALUE = "missing_value"  # a required field is empty
    BAD_ID = "bad_id"  # incident id is not a positive integer
    BAD_COORDINATE = "bad_coordinate"  # x/y not numbers
    SWAPPED_AXES = "swapped_axes"  # lat/lon given in the wrong order
    WRONG_CRS = "wrong_crs"  # projected metres (e.g. S-JTSK) where WGS84 degrees are expected
    OUTSIDE_COUNTRY = "outside_country"  # a valid coordinate outside the country
    OUTSIDE_GEOGRAPHY = "outside_geography"  # inside the country, in no unit of the geography
    BAD_DATE = "bad_date"  # date cannot be parsed
    DATE_OUTSIDE_INTERVAL = "date_outside_interval"  # reported outside the run's month
    UNKNOWN_OFFENCE_CODE = "unknown_offence_code"  # type not in the download's own code list
    BAD_CODE = "bad_code"  # state/relevance/type not an integer
    DUPLICATE_RECORD = "duplicate_record"  # the same (id, offence type) again in this file
    DUPLICATE_ACROSS_MONTHS = "duplicate_across_months"  # id already accepted in an earlier month


REASON_DESCRIPTIONS: dict[Reason, str] = {
    Reason.MALFORMED_LINE: "The line has the wrong number of fields or broken quoting.",
    Reason.UNDECODABLE_TEXT: "The text is neither valid UTF-8 nor Windows-1250.",
    Reason.MISSING_VALUE: "A required field (id, x, y, date or types) is empty.",
    Reason.BAD_ID: "The incident id is not a positive integer.",
    Reason.BAD_COORDINATE: "x or y is not a number.",
    Reason.SWAPPED_AXES: "x/y look like latitude/longitude swapped: check the source's axis order.",
    Reason.WRONG_CRS: "x/y look like projected metres (S-JTSK), not WGS84 degrees.",
    Reason.OUTSIDE_COUNTRY: "The point lies outside the country.",
    Reason.OUTSIDE_GEOGRAPHY: "The point lies in the country but in no unit of the boundary file.",
    Reason.BAD_DATE: "The date cannot be read.",
    Reason.DATE_OUTSIDE_INTERVAL: "The reported date is outside the month this run covers.",
    Reason.UNKNOWN_OFFENCE_CODE: "The offence type is not in the code list of the same download.",
    Reason.BAD_CODE: "A state, relevance or type code is not an integer.",
    Reason.DUPLICATE_RECORD: "The same incident id and offence type appear again in the file.",
    Reason.DUPLICATE_ACROSS_MONTHS: (
        "The incident id was already accepted in an earlier month: counted there, once."
    ),
}

QUARANTINE_COLUMNS = ["source_row", "reason", "detail", "raw"]


def quarantine_frame(
    source_rows: pd.Series | list[int], reason: Reason, raw: pd.Series | list[str], detail: str = ""
) -> pd.DataFrame:
    """Quarantine records for rows sharing one reason."""
    rows = pd.Series(source_rows, dtype="int64").reset_index(drop=True)
    return pd.DataFrame(
        {
            "source_row": rows,
            "reason": pd.Series([str(reason)] * len(rows), dtype="str"),
            "detail": pd.Series([detail] * len(rows), dtype="str"),
            "raw": pd.Series(raw, dtype="str").reset_index(drop=True),
        }
    )


def empty_quarantine() -> pd.DataFrame:
    return quarantine_frame([], Reason.MALFORMED_LINE, [])


def concat_quarantine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_quarantine()
    return pd.concat(frames, ignore_index=True).sort_values("source_row", kind="stable")


@dataclass
class ReasonSummary:
    reason: str
    count: int
    examples: list[str] = field(default_factory=list)


def summarise(quarantine: pd.DataFrame, examples: int = 3) -> list[ReasonSummary]:
    """Per reason: how many rows and the first few original rows, for the run report."""
    summaries = []
    for reason, group in quarantine.groupby("reason", sort=True):
        summaries.append(
            ReasonSummary(
                reason=str(reason),
                count=len(group),
                examples=[str(v) for v in group["raw"].head(examples)],
            )
        )
    return summaries


# a month with at least this share of its rows dated in another month was given the wrong file
WRONG_MONTH_SHARE = 0.5


def ledger_explanation(
    report: Mapping[str, Any], limit: float, quarantine_file: str, limit_setting: str
) -> list[str]:
    """What a month's ledger that failed its gate tells its user: the figures, the likely cause
    and the fix, in plain sentences. ``report``: the month's ``report.json``; ``limit``: the
    largest share of rows the month may quarantine (0-1)."""
    month, rows = report["month"], int(report["input_rows"])
    quarantined, share = int(report["quarantined_rows"]), float(report["quarantine_share"])
    lines = []
    if report["unaccounted_rows"]:
        lines.append(
            f"{month}: {report['unaccounted_rows']:,} of {rows:,} rows were neither accepted "
            "nor quarantined. This is a bug in the loader: please report it with the file."
        )
    if share <= limit:
        return lines
    by_reason = {r["reason"]: r for r in report["quarantine_reasons"]}
    outside = by_reason.get(str(Reason.DATE_OUTSIDE_INTERVAL), {}).get("count", 0)
    if rows and outside / rows >= WRONG_MONTH_SHARE:
        return [
            *lines,
            f"{month}: {outside:,} of {rows:,} rows are dated outside {month}: this file holds "
            "another month's records.",
            f"Fix: put {month}'s file in its place, then clear the run. The rows, each with its "
            f"reason: {quarantine_file}",
        ]
    lines.append(
        f"{month}: {quarantined:,} of {rows:,} rows quarantined ({share:.2%}), over the limit "
        f"of {limit:.2%}."
    )
    reasons = sorted(by_reason.values(), key=lambda r: (-r["count"], r["reason"]))
    lines.append(
        "Reasons: "
        + "; ".join(
            f"{r['count']:,} × {r['reason']} ({REASON_DESCRIPTIONS[Reason(r['reason'])]})"
            for r in reasons
        )
    )
    lines.append(
        "Fix: correct the file and clear the run; or, if these rows may be left out, raise the "
        f"limit ({limit_setting}). Each quarantined row, with its reason: {quarantine_file}"
    )
    return lines
