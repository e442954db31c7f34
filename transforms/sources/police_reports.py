"""Police statistical reports ("Statistický výkaz č. 1 – kriminalita"): TSK code × police unit.

One workbook per district (``a{KK}{OO}__.xls``), one sheet per police unit (``a{KK}{OO}{UU}``).
Values are cumulative from 1 January to the end of the report's month. A data row has the TSK code
in column 1, either a leaf code stored as a float (``101.0``) or a subtotal range (``101-106``);
page headers repeat inside the sheet and are skipped. Unit sheets have 22 columns; region and
country sheets 21 (no clearance percentage).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pandas as pd
import xlrd

from transforms.sources.text import SchemaError

MEASURES_22 = (
    "found",
    "found_closed",
    "found_under_investigation",
    "solved",
    "solved_percent",
    "solved_later",
    "under_influence",
    "under_alcohol",
    "by_recidivists",
    "by_children_1_14",
    "by_juveniles_15_17",
    "by_minors_1_17",
    "charged_total",
    "charged_recidivists",
    "charged_children_1_14",
    "charged_juveniles_15_17",
    "charged_women",
    "damage_total_thousand_czk",
    "damage_secured_thousand_czk",
)
MEASURES_21 = tuple(m for m in MEASURES_22 if m != "solved_percent")
_PERIOD = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})\s*do\s*(\d{1,2})\.(\d{1,2})\.(\d{4})")
_LEAF = re.compile(r"^\d{3}(\.0+)?$")
_RANGE = re.compile(r"^\d{3}-\d{3}$")


@dataclass(frozen=True)
class ReportPeriod:
    start: date
    end: date  # values are cumulative from ``start`` to ``end``


def _period(sheet: xlrd.sheet.Sheet) -> ReportPeriod:
    for row in range(min(sheet.nrows, 8)):
        for value in sheet.row_values(row):
            match = _PERIOD.search(str(value))
            if match:
                d1, m1, y1, d2, m2, y2 = (int(g) for g in match.groups())
                return ReportPeriod(date(y1, m1, d1), date(y2, m2, d2))
    raise SchemaError(f"sheet {sheet.name}: no period 'D.M.YYYY do D.M.YYYY' in its header")


def _label(sheet: xlrd.sheet.Sheet, caption: str) -> str:
    for row in range(min(sheet.nrows, 8)):
        values = sheet.row_values(row)
        if len(values) > 2 and str(values[1]).strip() == caption:
            return str(values[2]).strip()
    return ""


def _code(value: object) -> str | None:
    text = str(value).strip()
    if _LEAF.match(text):
        return text.split(".")[0]
    if _RANGE.match(text):
        return text
    return None


def read_report_sheet(sheet: xlrd.sheet.Sheet) -> pd.DataFrame:
    if sheet.ncols not in (21, 22):
        raise SchemaError(f"sheet {sheet.name}: {sheet.ncols} columns, expected 21 or 22")
    measures = MEASURES_22 if sheet.ncols == 22 else MEASURES_21
    period = _period(sheet)
    rows = []
    for index in range(sheet.nrows):
        values = sheet.row_values(index)
        code = _code(values[1])
        if code is None:
            continue  # title, page header or blank line
        numbers = [float(v) if v not in ("", None) else 0.0 for v in values[3:]]
        rows.append(
            {
                "tsk_code": code,
                "tsk_name": str(values[2]).strip().rstrip(":"),
                "is_subtotal": "-" in code,
                **dict(zip(measures, numbers, strict=True)),
            }
        )
    frame = pd.DataFrame(rows)
    frame.insert(0, "unit_code", sheet.name.removeprefix("a").rstrip("_"))
    frame.insert(1, "unit_name", _label(sheet, "Útvar:") or _label(sheet, "Okres:"))
    frame.insert(2, "period_start", period.start.isoformat())
    frame.insert(3, "period_end", period.end.isoformat())
    counts = [m for m in measures if not m.startswith(("solved_percent", "damage"))]
    frame[counts] = frame[counts].round().astype("int64")
    return frame


def read_report_workbook(data: bytes) -> pd.DataFrame:
    """Every unit sheet of a report workbook as one table."""
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except xlrd.XLRDError as error:
        raise SchemaError(f"not a readable .xls statistical report ({error})") from None
    return pd.concat(
        [read_report_sheet(book.sheet_by_name(n)) for n in book.sheet_names()], ignore_index=True
    )
