"""The police's statistical reports and police-district file, in their real formats, for the sample.

Workbooks (``a{KK}{OO}__.xls``, one sheet ``a{KK}{OO}{UU}`` per police unit, the real header
rows, page headers repeated inside the data, leaf rows with float codes and subtotal rows with
ranges, 22 columns) and a KML of the police units (``SimpleData`` fields as in the file built for
mapakriminality.cz). The TSK codes follow the real numbering and subtotal ranges; the selection of
codes and their names are illustrative, and so are the police unit and directorate codes of the
sample's area.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyogrio
import xlwt

from transforms.domain.periods import Month
from transforms.sources.police_reports import MEASURES_22

# (code, name); leaves in the order of the report
TSK_LEAVES: tuple[tuple[str, str], ...] = (
    ("101", "Vraždy loupežné"),
    ("103", "Vraždy motiv. osob. vztahy"),
    ("131", "Loupeže"),
    ("143", "Úmyslné ublížení na zdraví"),
    ("171", "Nebezpečné vyhrožování"),
    ("190", "Ostatní násilné trestné činy"),
    ("201", "Znásilnění"),
    ("290", "Ostatní mravnostní trestné činy"),
    ("311", "Krádeže vloupáním do obchodů"),
    ("351", "Krádeže vloupáním do bytů"),
    ("361", "Krádeže vloupáním do rodinných domů"),
    ("390", "Ostatní krádeže vloupáním"),
    ("411", "Krádeže osobních automobilů"),
    ("431", "Krádeže jízdních kol"),
    ("440", "Kapesní krádeže"),
    ("451", "Krádeže v obchodech"),
    ("531", "Poškozování cizí věci"),
    ("590", "Ostatní majetkové trestné činy"),
    ("611", "Nedovolená výroba a distribuce drog"),
    ("690", "Ostatní trestné činy"),
    ("711", "Zanedbání povinné výživy"),
    ("801", "Podvody"),
    ("890", "Ostatní hospodářské trestné činy"),
)
# (range, name), each printed after the last leaf it covers
TSK_RANGES: tuple[tuple[str, str], ...] = (
    ("101-106", "Vraždy celkem"),
    ("101-190", "Násilné činy celkem"),
    ("201-290", "Mravnostní činy celkem"),
    ("301-390", "Krádeže vloupáním celkem"),
    ("401-490", "Krádeže prosté celkem"),
    ("501-590", "Ostatní majetkové činy celkem"),
    ("601-690", "Ostatní kriminalita celkem"),
    ("101-690", "Obecná kriminalita celkem"),
    ("701-790", "Zbývající kriminalita celkem"),
    ("801-890", "Hospodářské činy celkem"),
    ("101-903", "CELKOVÁ KRIMINALITA"),
)
# expected offences a month per 1,000 inhabitants, by leaf (illustrative, about the national mix)
TSK_RATES = {
    "101": 0.002, "103": 0.005, "131": 0.02, "143": 0.05, "171": 0.04, "190": 0.03,
    "201": 0.005, "290": 0.01, "311": 0.03, "351": 0.04, "361": 0.04, "390": 0.06,
    "411": 0.04, "431": 0.08, "440": 0.1, "451": 0.2, "531": 0.15, "590": 0.1,
    "611": 0.05, "690": 0.1, "711": 0.06, "801": 0.2, "890": 0.05,
}  # fmt: skip

PAGE_ROWS = 52  # data rows between the page headers the police's export repeats


@dataclass(frozen=True)
class PoliceUnit:
    code: str  # KKOOUU
    name: str
    municipalities: tuple[str, ...]  # RÚIAN codes of the municipalities it covers


@dataclass(frozen=True)
class PoliceDistrict:
    code: str  # KKOO
    name: str
    region_name: str
    units: tuple[PoliceUnit, ...]


def tsk_codes_csv() -> bytes:
    lines = ["code,name", *(f"{code},{name}" for code, name in TSK_LEAVES)]
    return ("\n".join(lines) + "\n").encode()


def type_mapping_csv() -> bytes:
    """The sample's incident types per TSK code: its reports count exactly those records."""
    lines = ["offence_code,tsk_code,exact"]
    lines += [f"{t},{code},true" for t, code in sorted(TYPE_TO_TSK.items())]
    return ("\n".join(lines) + "\n").encode()


def _rows_in_report_order() -> list[tuple[str, str, bool]]:
    """(code, name, is_subtotal): each range right after the last leaf it covers."""
    rows: list[tuple[str, str, bool]] = []
    ranges = sorted(TSK_RANGES, key=lambda r: (int(r[0][-3:]), -int(r[0][:3])))
    pending = list(ranges)
    for code, name in TSK_LEAVES:
        while pending and int(pending[0][0][-3:]) < int(code):
            rows.append((*pending.pop(0), True))
        rows.append((code, name, False))
    rows.extend((code, name, True) for code, name in pending)
    return rows


def month_figures(
    found: Mapping[str, int], rng: np.random.Generator
) -> dict[str, dict[str, float]]:
    """Every measure of each leaf from a month's offences found, consistent with each other:
    closed and under investigation add up to found, solved never exceeds found."""
    figures = {}
    for code, _ in TSK_LEAVES:
        n = int(found.get(code, 0))
        closed = int(rng.binomial(n, 0.8))
        solved = int(rng.binomial(n, 0.35))
        values = dict.fromkeys(MEASURES_22, 0.0)
        values |= {
            "found": n,
            "found_closed": closed,
            "found_under_investigation": n - closed,
            "solved": solved,
            "solved_percent": 100.0 * solved / n if n else 0.0,
            "by_recidivists": int(rng.binomial(solved, 0.3)),
            "charged_total": solved,
            "damage_total_thousand_czk": float(rng.integers(0, 40) * n),
        }
        figures[code] = values
    return figures


def _sum_rows(figures: Mapping[str, Mapping[str, float]], code_range: str) -> dict[str, float]:
    low, high = (int(c) for c in code_range.split("-"))
    inside = [v for c, v in figures.items() if low <= int(c) <= high]
    total = {m: float(sum(v[m] for v in inside)) for m in MEASURES_22}
    total["solved_percent"] = 100.0 * total["solved"] / total["found"] if total["found"] else 0.0
    return total


def _header(sheet: xlwt.Worksheet, row: int, period: str, page: int, district: PoliceDistrict,
            unit: PoliceUnit) -> int:  # fmt: skip
    title = "Statistický výkaz č. 1 - kriminalita za období od "
    if page == 1:
        sheet.write(row, 1, "Policejní prezidium ČR")
        sheet.write(row + 1, 0, "$8")
        sheet.write(row + 1, 1, title)
        sheet.write(row + 1, 7, period)
        sheet.write(row + 1, 18, "Sestava 1")
        sheet.write(row + 2, 0, "TH")
        for offset, (marker, caption, value) in enumerate(
            (("K-3", "Kraj:", district.region_name), ("O-3", "Okres:", district.name),
             ("U-3", "Útvar:", unit.name))
        ):  # fmt: skip
            sheet.write(row + 3 + offset, 0, marker)
            sheet.write(row + 3 + offset, 1, caption)
            sheet.write(row + 3 + offset, 2, value)
        sheet.write(row + 4, 20, f"           Strana č.: {page}")
        row += 6
    else:
        sheet.write(row, 0, "§J")
        sheet.write(row, 1, title)
        sheet.write(row, 5, period)
        sheet.write(row, 9, " ".join((unit.code[:2], unit.code[2:4], unit.code[4:])))
        sheet.write(row, 20, f"          Strana č.:   {page}")
        row += 1
    captions = (
        ("", "", "", "", "z toho", "Celkem", "Objasněno"),
        ("", "", "", "Zjištěno", "ukončeno", "v prově-", "", "Tj."),
        ("", "TSK", "Název", "", "prověřování", "řování", "Počet", "%"),
    )
    for offset, texts in enumerate(captions):
        for column, text in enumerate(texts):
            if text:
                sheet.write(row + offset, column, text)
    return row + 3


Figures = Mapping[str, Mapping[str, Mapping[str, float]]]  # unit → TSK leaf → measure → value


def report_workbook(
    district: PoliceDistrict, month: Month, figures: Figures, page_rows: int = PAGE_ROWS
) -> bytes:
    """A district's workbook for ``month``: ``figures`` cumulated from January (a unit or leaf
    left out has zeros)."""
    zeros = dict.fromkeys(MEASURES_22, 0.0)
    last_day = month.next().first_day.toordinal() - 1
    period = f"1.1.{month.year} do {_day(last_day)}"
    book = xlwt.Workbook(encoding="utf-8")
    for unit in district.units:
        sheet = book.add_sheet(f"a{unit.code}")
        unit_figures = {code: figures.get(unit.code, {}).get(code, zeros) for code, _ in TSK_LEAVES}
        row, page = _header(sheet, 0, period, 1, district, unit), 1
        for index, (code, name, subtotal) in enumerate(_rows_in_report_order()):
            if index and index % page_rows == 0:
                page += 1
                row = _header(sheet, row, period, page, district, unit)
            values = _sum_rows(unit_figures, code) if subtotal else unit_figures[code]
            sheet.write(row, 0, "" if subtotal else "*")
            sheet.write(row, 1, code if subtotal else float(code))
            sheet.write(row, 2, f"{name}:" if subtotal else name)
            for column, measure in enumerate(MEASURES_22, start=3):
                sheet.write(row, column, float(values[measure]))
            row += 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _day(ordinal: int) -> str:
    from datetime import date

    day = date.fromordinal(ordinal)
    return f"{day.day}.{day.month}.{day.year}"


def police_districts_kml(
    districts: Sequence[PoliceDistrict],
    municipalities: gpd.GeoDataFrame,
    population: Mapping[str, int],
) -> bytes:
    """The police units' polygons (unions of their municipalities, WGS84) as the police's KML:
    ``SimpleData`` fields with the codes as floats, as in the real file."""
    shapes = municipalities.to_crs("EPSG:4326").set_index("kod").geometry
    rows = []
    for district in districts:
        for unit in district.units:
            rows.append(
                {
                    "OOP_NAZEV": unit.name,
                    "FIRST_OOP_": float(int(unit.code)),
                    "SUM_N_OBVY": float(sum(population[m] for m in unit.municipalities)),
                    "SUM_N_TRVA": float(sum(population[m] for m in unit.municipalities)),
                    "FIRST_DIST": float(int(district.code)),
                    "FIRST_DI_1": district.name,
                    "FIRST_COUN": float(int(district.code[:2]) * 100),
                    "FIRST_CO_1": district.region_name,
                    "geometry": shapes.loc[list(unit.municipalities)].union_all(),
                }
            )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    out = io.BytesIO()
    pyogrio.write_dataframe(frame, out, driver="KML", layer="OOP_2000")
    return out.getvalue()


# the sample's incident types counted in the report (criminal offences; misdemeanours, fires and
# collisions are not), by the TSK leaf that takes them (illustrative, as the leaves are)
TYPE_TO_TSK = {
    2: "103", 3: "131", 4: "143", 5: "171", 6: "201", 7: "190", 8: "290",
    19: "351", 20: "361", 21: "311", 22: "390",
    36: "411", 37: "411", 38: "440", 42: "431", 43: "440", 44: "451",
    54: "801", 57: "531", 58: "531", 81: "611", 82: "611", 84: "690", 96: "690", 63: "690",
}  # fmt: skip
ONLY_IN_REPORTS = ("711", "890")  # offences the incident files do not carry (no place)

SAMPLE_DIRECTORATES = {  # RÚIAN district: (police district code KKOO, its name)
    "3501": ("1801", "ÚO ČESKÁ LÍPA"),
    "3502": ("1802", "ÚO JABLONEC NAD NISOU"),
    "3503": ("1803", "ÚO LIBEREC"),
    "3504": ("1804", "ÚO SEMILY"),
    "3207": ("0107", "ÚO MLADÁ BOLESLAV"),
}
SAMPLE_REGIONS = {"18": "KŘP LIBERECKÉHO KRAJE", "01": "KŘP STŘEDOČESKÉHO KRAJE"}


def sample_police_districts() -> tuple[PoliceDistrict, ...]:
    """The sample's police units: two per district, the district's first town with every other
    one, and the rest."""
    from testdata.sample import TOWNS

    districts = []
    for ruian, (code, name) in SAMPLE_DIRECTORATES.items():
        towns = [t for t in TOWNS if t.district == ruian]
        halves = (towns[0::2], towns[1::2])
        units = tuple(
            PoliceUnit(
                f"{code}{10 + i}", f"OOP {half[0].name.upper()}", tuple(t.code for t in half)
            )
            for i, half in enumerate(halves)
            if half
        )
        districts.append(PoliceDistrict(code, name, SAMPLE_REGIONS[code[:2]], units))
    return tuple(districts)


def found_by_unit(
    types: np.ndarray, municipalities: np.ndarray, districts: Sequence[PoliceDistrict]
) -> dict[str, dict[str, int]]:
    """Offences found per police unit and TSK leaf, from incident rows (type, municipality)."""
    unit_of = {m: u.code for d in districts for u in d.units for m in u.municipalities}
    found: dict[str, dict[str, int]] = {}
    for offence, municipality in zip(types.tolist(), municipalities.tolist(), strict=True):
        tsk = TYPE_TO_TSK.get(int(offence))
        unit = unit_of.get(municipality)
        if tsk is not None and unit is not None:
            found.setdefault(unit, {}).setdefault(tsk, 0)
            found[unit][tsk] += 1
    return found


def cumulated(total: Figures, month: Figures) -> dict[str, dict[str, dict[str, float]]]:
    """``total`` plus a month's figures, unit by unit, leaf by leaf, measure by measure."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for unit in sorted({*total, *month}):
        out[unit] = {}
        for code, _ in TSK_LEAVES:
            before = total.get(unit, {}).get(code)
            now = month.get(unit, {}).get(code)
            values = {m: (before or {}).get(m, 0.0) + (now or {}).get(m, 0.0) for m in MEASURES_22}
            values["solved_percent"] = (
                100.0 * values["solved"] / values["found"] if values["found"] else 0.0
            )
            out[unit][code] = values
    return out


def unlocated_offences(
    districts: Sequence[PoliceDistrict], population: Mapping[str, int], rng: np.random.Generator
) -> dict[str, dict[str, int]]:
    """A month's offences of the codes the incident files do not carry."""
    return {
        unit.code: {
            code: int(rng.poisson(TSK_RATES[code] * sum(population[m] for m in unit.municipalities)
                                  / 1000))
            for code in ONLY_IN_REPORTS
        }
        for district in districts
        for unit in district.units
    }  # fmt: skip


def as_xlsx(xls: bytes) -> bytes:
    """The same workbook saved as ``.xlsx``, cell for cell (as the police publish from 2016):
    numbers stay numbers, text stays text, empty cells stay empty."""
    import openpyxl
    import xlrd

    source = xlrd.open_workbook(file_contents=xls)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet in source.sheets():
        target = book.create_sheet(sheet.name)
        for row in range(sheet.nrows):
            for column, value in enumerate(sheet.row_values(row)):
                if value != "":
                    target.cell(row + 1, column + 1, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
