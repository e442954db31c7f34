"""Police statistical reports ("Statistický výkaz č. 1 – kriminalita"): TSK code × police unit.

One workbook per district directorate (``a{KK}{OO}__.xls``; from 2016 the police publish
``.xlsx``, read the same way: the layout below is assumed unchanged, which no real 2016 file has
confirmed yet), one sheet per police unit (``a{KK}{OO}{UU}``). Values are cumulative from
1 January to the end of the report's month. A data row has the TSK code in column 1, either a
leaf code stored as a number (``101.0``) or a subtotal range (``101-106``); page headers repeat
inside the sheet and are skipped. Unit sheets have 22 columns; region and country sheets 21 (no
clearance percentage).

The TSK code list (``code,name``; every leaf code the reports may carry) is an input of its own,
kept beside the workbooks and vetted by the operator: :func:`tsk_codes_from_report` drafts one
from a report, so a classification change shows up as an unknown code instead of a silent loss.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import openpyxl
import pandas as pd
import xlrd
from openpyxl.utils.exceptions import InvalidFileException

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
UNIT_SHEET = re.compile(r"^a(\d{6})$")
DISTRICT_WORKBOOK = re.compile(r"^a(\d{4})__\.xlsx?$", re.IGNORECASE)
COUNT_MEASURES = tuple(m for m in MEASURES_22 if m != "solved_percent")


class ReportSheet(Protocol):
    """A report sheet's cells, as xlrd gives them (an empty cell is ``""``)."""

    name: str
    nrows: int
    ncols: int

    def row_values(self, rowx: int) -> list[Any]: ...


class XlsxSheet:
    """An ``.xlsx`` sheet as a :class:`ReportSheet`: as many columns as its widest row uses
    (a cell formatted but empty does not count, as in xlrd)."""

    def __init__(self, name: str, rows: list[tuple[Any, ...]]):
        self.name = name
        used = [max((i + 1 for i, v in enumerate(row) if v not in (None, "")), default=0)
                for row in rows]  # fmt: skip
        self.nrows, self.ncols = len(rows), max(used, default=0)
        self._rows = [["" if v is None else v for v in row[: self.ncols]] for row in rows]
        for row in self._rows:
            row += [""] * (self.ncols - len(row))

    def row_values(self, rowx: int) -> list[Any]:
        return self._rows[rowx]


@dataclass(frozen=True)
class ReportPeriod:
    start: date
    end: date  # values are cumulative from ``start`` to ``end``


def _period(sheet: ReportSheet) -> ReportPeriod:
    for row in range(min(sheet.nrows, 8)):
        for value in sheet.row_values(row):
            match = _PERIOD.search(str(value))
            if match:
                d1, m1, y1, d2, m2, y2 = (int(g) for g in match.groups())
                return ReportPeriod(date(y1, m1, d1), date(y2, m2, d2))
    raise SchemaError(f"sheet {sheet.name}: no period 'D.M.YYYY do D.M.YYYY' in its header")


def _label(sheet: ReportSheet, caption: str) -> str:
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


def read_report_sheet(sheet: ReportSheet) -> pd.DataFrame:
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
    if frame.empty:
        raise SchemaError(f"sheet {sheet.name}: no TSK rows (a code in column 2) found")
    frame.insert(0, "unit_code", sheet.name.removeprefix("a").rstrip("_"))
    frame.insert(1, "unit_name", _label(sheet, "Útvar:") or _label(sheet, "Okres:"))
    frame.insert(2, "period_start", period.start.isoformat())
    frame.insert(3, "period_end", period.end.isoformat())
    counts = [m for m in measures if not m.startswith(("solved_percent", "damage"))]
    frame[counts] = frame[counts].round().astype("int64")
    return frame


def read_report_workbook(data: bytes, district: str | None = None) -> pd.DataFrame:
    """Every unit sheet of a report workbook as one table. With ``district`` (the workbook's
    district directorate, ``KKOO``), a sheet that is not one of its units' is refused by name:
    a sheet added by hand or a unit filed in another district's workbook would be counted where
    it does not belong."""
    sheets = _sheets(data)
    if district is not None:
        foreign = [
            n
            for n in sheets
            if not ((m := UNIT_SHEET.match(n)) and m.group(1).startswith(district))
        ]
        if foreign:
            raise SchemaError(
                f"workbook of district {district}: sheet(s) {', '.join(map(repr, foreign))} "
                f"are not its police units' (expected names a{district}UU, e.g. a{district}10); "
                "remove them or put the workbook in its own district's place"
            )
    return pd.concat([read_report_sheet(sheet) for sheet in sheets.values()], ignore_index=True)


def is_xlsx(data: bytes) -> bool:
    """An ``.xlsx`` workbook (a zip archive), not a BIFF ``.xls``."""
    return data[:4] == b"PK\x03\x04"


def _sheets(data: bytes) -> dict[str, ReportSheet]:
    """A workbook's sheets by name, ``.xls`` or ``.xlsx`` by its first bytes."""
    if is_xlsx(data):
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as error:
            raise SchemaError(f"not a readable .xlsx statistical report ({error})") from None
        try:
            return {ws.title: XlsxSheet(ws.title, list(ws.iter_rows(values_only=True)))
                    for ws in book.worksheets}  # fmt: skip
        finally:
            book.close()
    try:
        xls = xlrd.open_workbook(file_contents=data, on_demand=True)
    except (xlrd.XLRDError, AssertionError, IndexError) as error:  # xlrd asserts on bad BIFF
        raise SchemaError(f"not a readable .xls statistical report ({error})") from None
    return {name: xls.sheet_by_name(name) for name in xls.sheet_names()}


def workbook_district(name: str) -> str:
    """The district directorate code ``KKOO`` of a workbook named ``a{KK}{OO}__.xls``."""
    match = DISTRICT_WORKBOOK.match(name)
    if match is None:
        raise SchemaError(
            f"{name}: not a district report workbook name (expected a{{KK}}{{OO}}__.xls, "
            "e.g. a0101__.xls)"
        )
    return match.group(1)


TSK_CODE_COLUMNS = ("code", "name")


def read_tsk_codes(data: bytes) -> pd.DataFrame:
    """The TSK code list (UTF-8 CSV ``code,name``): codes as three-digit text."""
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    if list(frame.columns) != list(TSK_CODE_COLUMNS):
        raise SchemaError(
            f"TSK code list: columns {list(frame.columns)}, expected {list(TSK_CODE_COLUMNS)}"
        )
    bad = frame.loc[~frame["code"].str.fullmatch(r"\d{3}"), "code"].tolist()
    if bad:
        raise SchemaError(f"TSK code list: codes {bad[:5]} are not three digits")
    if frame["code"].duplicated().any():
        raise SchemaError("TSK code list: a code is listed twice")
    return frame


TYPE_MAPPING_COLUMNS = ("offence_code", "tsk_code", "exact")


def read_type_mapping(data: bytes, tsk_codes: set[str]) -> pd.DataFrame:
    """Which incident offence codes each TSK code counts (UTF-8 CSV ``offence_code,tsk_code,
    exact``). ``exact`` (``true``/``false``, the same for every row of a TSK code): the code
    counts exactly these offences, else more (offences the incident files do not carry). An
    incident code maps to one TSK code at most; a file with a header only says nothing maps."""
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    if list(frame.columns) != list(TYPE_MAPPING_COLUMNS):
        raise SchemaError(
            f"type mapping: columns {list(frame.columns)}, expected {list(TYPE_MAPPING_COLUMNS)}"
        )
    unknown = sorted(set(frame["tsk_code"]) - tsk_codes)
    if unknown:
        raise SchemaError(f"type mapping: TSK code(s) {unknown[:5]} are not in the code list")
    if not frame["exact"].isin(["true", "false"]).all():
        raise SchemaError("type mapping: 'exact' must be true or false")
    if frame["offence_code"].duplicated().any():
        twice = frame.loc[frame["offence_code"].duplicated(), "offence_code"].tolist()
        raise SchemaError(f"type mapping: offence code(s) {twice[:5]} map to two TSK codes")
    if (frame.groupby("tsk_code")["exact"].nunique() > 1).any():
        raise SchemaError("type mapping: a TSK code is exact on one row and not on another")
    return frame.assign(exact=frame["exact"] == "true")


def tsk_codes_from_report(report: pd.DataFrame) -> pd.DataFrame:
    """A draft code list from a report's leaf rows, for the operator to vet and keep."""
    leaves = report.loc[~report["is_subtotal"], ["tsk_code", "tsk_name"]]
    leaves = leaves.drop_duplicates("tsk_code").sort_values("tsk_code")
    return leaves.set_axis(list(TSK_CODE_COLUMNS), axis=1).reset_index(drop=True)
