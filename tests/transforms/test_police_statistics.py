"""The police's statistical reports and police units: real samples, generated workbooks in the
real format, and every bad input the police's files are known to carry."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
import xlwt
from hypothesis import given
from hypothesis import strategies as st

from testdata.police_reports import (
    TSK_LEAVES,
    as_xlsx,
    cumulated,
    month_figures,
    report_workbook,
    sample_police_districts,
)
from tests.sample_pipeline import commit_statistics_month, promote_police_units
from transforms.domain.crime_index import named_population
from transforms.domain.periods import Month
from transforms.domain.police_statistics import (
    cumulative_drops,
    monthly_figures,
    report_view,
    subtotal_mismatches,
)
from transforms.domain.police_units import police_geography
from transforms.pipeline import police_districts as districts_steps
from transforms.pipeline import police_statistics as steps
from transforms.pipeline.common import InputMissing
from transforms.plumbing.settings import Settings
from transforms.sources.police_districts import read_police_districts_kml
from transforms.sources.police_population import read_unit_population
from transforms.sources.police_reports import (
    COUNT_MEASURES,
    read_report_workbook,
    read_tsk_codes,
    tsk_codes_from_report,
)
from transforms.sources.text import SchemaError
from transforms.validation import ValidationFailed

EXPECTATIONS = Path(__file__).resolve().parents[2] / "expectations"
DISTRICT = sample_police_districts()[0]  # 1801, units 180110 and 180111


def figures(found: dict[str, dict[str, int]], seed: int = 1) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    return {unit: month_figures(codes, rng) for unit, codes in found.items()}


JANUARY = figures({"180110": {"451": 7, "103": 1}, "180111": {"531": 3}})
FEBRUARY = cumulated(JANUARY, figures({"180110": {"451": 2}, "180111": {"801": 4}}, seed=2))


# -- the real samples ------------------------------------------------------------------------


def test_real_report_adds_up_and_drafts_its_code_list(shared_sources: Path) -> None:
    data = (shared_sources / "czech-crime" / "a0101__.xls").read_bytes()
    report = read_report_workbook(data, "0101")
    assert subtotal_mismatches(report).empty  # every subtotal is the sum of its rows
    codes = tsk_codes_from_report(report)
    assert len(codes) == 201 and codes["code"].str.fullmatch(r"\d{3}").all()
    view = report_view(report, set(codes["code"]), Month(2013, 12))
    assert view[["tsk_code_known", "subtotal_matches", "period_matches"]].all().all()
    # the code list written and read back is the same list
    again = read_tsk_codes(codes.to_csv(index=False).encode())
    pd.testing.assert_frame_equal(again, codes.astype(str))


def test_real_police_units_are_joined_and_form_directorates(shared_sources: Path) -> None:
    units = read_police_districts_kml(
        (shared_sources / "czech-crime" / "OOP_2000.kml").read_bytes()
    )
    geography, report = police_geography(units)
    counts = geography["level"].value_counts().to_dict()
    assert counts == {"unit": 522, "district": 79, "region": 14}
    # five units come in two placemarks each: one unit each, with one population
    assert report.joined_parts == dict.fromkeys(
        ["001313", "011119", "031118", "070316", "170312"], 2
    )
    assert geography["code"].is_unique
    assert shapely.is_valid(geography.geometry.values).all()
    unit = geography.set_index("code").loc["170615"]
    assert (unit["name"], unit["parent_code"]) == ("OOP Chvaletice", "1706")
    # a unit moved between directorates keeps its code and follows the police's assignment
    assert geography.set_index("code").loc["011212", "parent_code"] == "0114"
    regions = geography[geography["level"] == "region"]
    assert regions["code"].str.fullmatch(r"\d{2}").all()
    assert regions["population"].sum() == units.drop_duplicates("code")["population_usual"].sum()
    # the file carries stray C1 control characters inside names ("Hole\x9ašovice"): gone, so
    # names match the police's other lists (the unit-to-municipality assignment table)
    assert not units["name"].str.contains("[\u0080-\u009f]").any()
    assert "MOP Holešovice Praha I." in set(units["name"])
    assignment = pd.read_excel(
        shared_sources / "czech-crime" / "OOP_dislokace.xlsx", header=None, dtype=str
    ).iloc[5:]
    listed = set(assignment[3].str.casefold())
    assert len(listed & set(units["name"].str.casefold())) >= 400  # of 456 (328 with them)


def test_the_ngos_population_per_unit_is_read_and_matched_to_the_real_units(
    shared_sources: Path,
) -> None:
    """mapakriminality.cz's population per unit (its crime index's denominator) against the
    police's 2000 unit file: most names match; the rest keep the population worked out here."""
    table = read_unit_population((shared_sources / "czech-crime" / "oop-with-pop.csv").read_bytes())
    assert len(table) == 457 and table["unit_name"].is_unique
    geography, _ = police_geography(
        read_police_districts_kml((shared_sources / "czech-crime" / "OOP_2000.kml").read_bytes())
    )
    computed = dict.fromkeys(geography.loc[geography["level"] == "unit", "code"], -1.0)
    people, unmatched = named_population(geography, table, computed)
    jicin = geography.set_index("name").loc["OOP Nový Jičín", "code"]
    assert people[jicin] == 44_253
    assert len(unmatched) == 50 and "OOP Velká Bíteš" in unmatched  # not a unit in 2000
    assert sum(1 for v in people.values() if v >= 0) == 407


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (b"OOP A,100\n", "2 columns, expected 3"),
        (b"0,OOP A,many\n", "no number of people for ['OOP A']"),
        (b"0,OOP A,10\n0,OOP A,12\n", "['OOP A'] listed more than once"),
    ],
)
def test_a_bad_population_table_is_refused_with_its_fault(text: bytes, says: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(says)):
        read_unit_population(text)


# -- generated workbooks in the real format --------------------------------------------------


def test_generated_workbook_reads_like_the_real_one() -> None:
    report = read_report_workbook(report_workbook(DISTRICT, Month(2025, 2), FEBRUARY), "1801")
    assert set(report["unit_code"]) == {"180110", "180111"}
    benesov_like = report[report["unit_code"] == "180110"].set_index("tsk_code")
    assert benesov_like.loc["451", "found"] == 9  # 7 in January, 2 in February
    assert benesov_like.loc["101-903", "found"] == 10
    assert subtotal_mismatches(report).empty
    assert set(report["period_end"]) == {"2025-02-28"}


def test_an_xlsx_report_reads_like_the_same_xls() -> None:
    """From 2016 the police publish the same report as .xlsx: the same cells read to the same
    table, codes as text with their leading zeros, in either container."""
    workbook = report_workbook(DISTRICT, Month(2025, 2), FEBRUARY)
    pd.testing.assert_frame_equal(
        read_report_workbook(as_xlsx(workbook), "1801"), read_report_workbook(workbook, "1801")
    )


def test_the_real_xls_saved_as_xlsx_reads_the_same(shared_sources: Path) -> None:
    data = (shared_sources / "czech-crime" / "a0101__.xls").read_bytes()
    pd.testing.assert_frame_equal(
        read_report_workbook(as_xlsx(data), "0101"), read_report_workbook(data, "0101")
    )


def test_a_damaged_xlsx_is_refused_with_the_reason() -> None:
    data = as_xlsx(report_workbook(DISTRICT, Month(2025, 2), FEBRUARY))
    with pytest.raises(SchemaError, match=r"not a readable \.xlsx statistical report"):
        read_report_workbook(data[: len(data) // 2], "1801")


def test_page_headers_inside_the_data_change_nothing() -> None:
    few = read_report_workbook(report_workbook(DISTRICT, Month(2025, 2), FEBRUARY, page_rows=5))
    one = read_report_workbook(report_workbook(DISTRICT, Month(2025, 2), FEBRUARY, page_rows=999))
    pd.testing.assert_frame_equal(few, one)


def _with_sheet(workbook: bytes, name: str) -> bytes:
    """The workbook with one more sheet, as someone editing it by hand would add."""
    book = xlwt.Workbook(encoding="utf-8")
    source = read_report_workbook(workbook)
    for unit in sorted(set(source["unit_code"])):
        book.add_sheet(f"a{unit}").write(0, 0, "x")
    book.add_sheet(name).write(0, 0, "poznámky")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("sheet", "message"),
    [("List1", r"'List1' are not its police units'"), ("a020110", r"'a020110' are not")],
)
def test_a_foreign_or_misfiled_sheet_is_refused_by_name(sheet: str, message: str) -> None:
    workbook = _with_sheet(report_workbook(DISTRICT, Month(2025, 1), JANUARY), sheet)
    with pytest.raises(SchemaError, match=message):
        read_report_workbook(workbook, "1801")


# -- the pipeline steps on a folder laid out like the input ----------------------------------


@pytest.fixture
def settings(tmp_path: Path, sample_dir: Path) -> Settings:
    data_in = tmp_path / "in"
    shutil.copytree(sample_dir / "police_districts", data_in / "police_districts")
    shutil.copytree(sample_dir / "police_statistics", data_in / "police_statistics")
    return Settings(data_root=tmp_path / "data", data_in=data_in)


def _current_units(settings: Settings) -> None:
    promote_police_units(settings, "test")


def _run_month(settings: Settings, month: Month) -> dict:
    return commit_statistics_month(settings, month, "test")


def test_a_month_without_a_district_workbook_says_so(settings: Settings) -> None:
    _current_units(settings)
    assert settings.data_in is not None
    (settings.data_in / "police_statistics" / "202501" / "a1803__.xls").unlink()
    report = _run_month(settings, Month(2025, 1))
    assert report["missing_districts"] == ["1803"]
    assert report["units"] == 8


def test_xlsx_workbooks_are_read_and_one_district_twice_is_refused(settings: Settings) -> None:
    """A month whose workbooks are .xlsx commits the same figures as the .xls month; a folder
    holding both forms of one district's workbook is refused, naming both (it would count the
    district twice)."""
    _current_units(settings)
    assert settings.data_in is not None
    folder = settings.data_in / "police_statistics" / "202501"
    as_xls = _run_month(settings, Month(2025, 1))
    xls_rows = steps.read_committed(settings, Month(2025, 1))
    for path in sorted(folder.glob("*.xls")):
        path.with_suffix(".xlsx").write_bytes(as_xlsx(path.read_bytes()))
        path.unlink()
    assert _run_month(settings, Month(2025, 1))["units"] == as_xls["units"]
    key = ["unit_code", "tsk_code"]
    pd.testing.assert_frame_equal(
        steps.read_committed(settings, Month(2025, 1)).sort_values(key, ignore_index=True),
        xls_rows.sort_values(key, ignore_index=True),
    )
    (folder / "a1801__.xls").write_bytes(b"")
    with pytest.raises(
        InputMissing, match=r"a1801__\.xls and a1801__\.xlsx are both district 1801"
    ):
        _run_month(settings, Month(2025, 1))


def test_a_missing_sheet_and_a_unit_without_polygon_are_reported(settings: Settings) -> None:
    _current_units(settings)
    assert settings.data_in is not None
    folder = settings.data_in / "police_statistics" / "202501"
    units = sample_police_districts()
    lone = type(DISTRICT)(
        DISTRICT.code,
        DISTRICT.name,
        DISTRICT.region_name,
        (DISTRICT.units[0], type(DISTRICT.units[0])("180119", "OOP NOVÁ", ())),
    )
    (folder / "a1801__.xls").write_bytes(report_workbook(lone, Month(2025, 1), JANUARY))
    report = _run_month(settings, Month(2025, 1))
    assert report["missing_units"] == ["180111"]  # its workbook came without its sheet
    assert report["units_without_polygon"] == ["180119"]
    assert len(units) == 5


def test_an_unknown_code_stops_the_month_and_names_the_code(settings: Settings) -> None:
    assert settings.data_in is not None
    codes = settings.data_in / "police_statistics" / "tsk_codes.csv"
    codes.write_text(
        "\n".join(line for line in codes.read_text().splitlines() if line[:3] != "531")
    )
    mapping = settings.data_in / "police_statistics" / "type_tsk.csv"
    mapping.write_text(
        "\n".join(line for line in mapping.read_text().splitlines() if ",531," not in line)
    )
    with pytest.raises(ValidationFailed, match=r"TSK code\(s\) 531 are not in tsk_codes.csv"):
        _run_month(settings, Month(2025, 1))
    assert steps.committed_months(settings) == {}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["offence_code,tsk_code,exact", "2,999,true"], r"TSK code\(s\) \['999'\] are not"),
        (["offence_code,tsk_code,exact", "2,103,true", "2,131,true"], r"\['2'\] map to two"),
        (["offence_code,tsk_code,exact", "36,411,true", "37,411,false"], "exact on one row"),
        (["offence_code,tsk_code", "2,103"], r"columns \['offence_code', 'tsk_code'\]"),
        (["offence_code,tsk_code,exact", "2,103,yes"], "'exact' must be true or false"),
    ],
)
def test_a_type_mapping_that_contradicts_itself_stops_the_month(
    settings: Settings, lines: list[str], message: str
) -> None:
    """The mapping says what the incident audit takes readers to know: a wrong one is refused
    before anything is committed, by the line's fault."""
    assert settings.data_in is not None
    (settings.data_in / "police_statistics" / "type_tsk.csv").write_text("\n".join(lines))
    with pytest.raises(SchemaError, match=message):
        _run_month(settings, Month(2025, 1))
    assert steps.committed_months(settings) == {}


def test_a_month_without_the_type_mapping_is_refused(settings: Settings) -> None:
    assert settings.data_in is not None
    (settings.data_in / "police_statistics" / "type_tsk.csv").unlink()
    with pytest.raises(InputMissing, match=r"no type_tsk\.csv"):
        _run_month(settings, Month(2025, 1))


def test_a_subtotal_that_is_not_the_sum_of_its_rows_stops_the_month(settings: Settings) -> None:
    assert settings.data_in is not None
    path = settings.data_in / "police_statistics" / "202501" / "a0107__.xls"
    book = xlwt.Workbook(encoding="utf-8")
    for unit in sample_police_districts()[-1].units:
        sheet = book.add_sheet(f"a{unit.code}")
        sheet.write(0, 1, "Statistický výkaz č. 1 - kriminalita za období od ")
        sheet.write(0, 7, "1.1.2025 do 31.1.2025")
        for row, (code, found) in enumerate([(101.0, 1.0), ("101-106", 3.0)], start=9):
            sheet.write(row, 1, code)
            sheet.write(row, 2, "Vraždy")
            for column in range(3, 22):
                sheet.write(row, column, found if column == 3 else 0.0)
    out = io.BytesIO()
    book.save(out)
    path.write_bytes(out.getvalue())
    with pytest.raises(ValidationFailed, match=r"subtotal row\(s\) are not the sum of their rows"):
        _run_month(settings, Month(2025, 1))


def test_another_months_workbook_is_refused(settings: Settings) -> None:
    assert settings.data_in is not None
    folder = settings.data_in / "police_statistics"
    shutil.copy(folder / "202501" / "a1801__.xls", folder / "202502" / "a1801__.xls")
    with pytest.raises(
        ValidationFailed, match=r"district\(s\) 1801 cover 2025-01-01 – 2025-01-31, not 1 January"
    ):
        _run_month(settings, Month(2025, 2))


def test_a_cumulative_figure_that_drops_is_listed_and_the_latest_report_wins(
    settings: Settings,
) -> None:
    assert settings.data_in is not None
    folder = settings.data_in / "police_statistics"
    _run_month(settings, Month(2025, 1))
    # February's report moves an offence of January from 451 to 531 in unit 180110
    corrected = cumulated(JANUARY, {})
    corrected["180110"]["451"] = {**corrected["180110"]["451"], "found": 6.0}
    corrected["180110"]["531"] = {**corrected["180110"]["531"], "found": 1.0}
    january = {d.code: JANUARY for d in sample_police_districts()}
    for district in sample_police_districts():
        workbook = report_workbook(district, Month(2025, 1), january[district.code])
        (folder / "202501" / f"a{district.code}__.xls").write_bytes(workbook)
        february = corrected if district.code == "1801" else JANUARY
        workbook = report_workbook(district, Month(2025, 2), february)
        (folder / "202502" / f"a{district.code}__.xls").write_bytes(workbook)
    _run_month(settings, Month(2025, 1))
    report = _run_month(settings, Month(2025, 2))
    assert report["revisions"] == 1
    key = steps.committed_months(settings)["2025-02"]
    drops = pd.read_parquet(
        steps.partition_folder(settings, Month(2025, 2), key) / "revisions.parquet"
    )
    assert drops[["unit_code", "tsk_code", "measure", "previous", "current"]].values.tolist() == [
        ["180110", "451", "found", 7, 6]
    ]
    both = pd.concat([steps.read_committed(settings, Month(2025, m)) for m in (1, 2)])
    months = monthly_figures(both).set_index(["month", "unit_code", "tsk_code"])
    assert months.loc[("2025-02", "180110", "451"), "found"] == -1
    assert months.loc[("2025-02", "180110", "451"), "revised"]
    assert months.loc[("2025-02", "180110", "531"), "found"] == 1


def test_cases_closing_between_two_reports_are_no_revision() -> None:
    """Those under investigation are a stock on the report's date: February's report counts
    fewer for January's offences once their cases close. That is no correction of January:
    no drop is reported, the month is not revised, and it has no figure of its own."""
    rows = [
        {"month": m, "unit_code": "180110", "tsk_code": "451", "is_subtotal": False,
         **dict.fromkeys(COUNT_MEASURES, 0), "found": found, "found_closed": closed,
         "found_under_investigation": found - closed}
        for m, found, closed in (("2025-01", 5, 1), ("2025-02", 6, 5))
    ]  # fmt: skip
    january, february = (pd.DataFrame([row]) for row in rows)
    assert cumulative_drops(february, january).empty
    months = monthly_figures(pd.concat([january, february])).set_index("month")
    assert months.loc["2025-02", "found"] == 1 and not months.loc["2025-02", "revised"]
    assert pd.isna(months.loc["2025-02", "found_under_investigation"])


# -- police-district files -------------------------------------------------------------------


def _kml(frame: gpd.GeoDataFrame) -> bytes:
    out = io.BytesIO()
    pyogrio.write_dataframe(frame, out, driver="KML", layer="OOP_2000")
    return out.getvalue()


def _unit(code: float, shape: shapely.Geometry) -> dict:
    return {
        "OOP_NAZEV": f"OOP {int(code)}", "FIRST_OOP_": code, "SUM_N_OBVY": 100.0,
        "SUM_N_TRVA": 100.0, "FIRST_DIST": float(int(code) // 100), "FIRST_DI_1": "ÚO",
        "FIRST_COUN": float(int(code) // 10000 * 100), "FIRST_CO_1": "KŘP", "geometry": shape,
    }  # fmt: skip


def test_a_self_intersecting_polygon_is_repaired_and_reported() -> None:
    bow_tie = shapely.Polygon([(15.0, 50.0), (15.1, 50.1), (15.1, 50.0), (15.0, 50.1)])
    square = shapely.box(15.2, 50.0, 15.3, 50.1)
    frame = gpd.GeoDataFrame([_unit(10110.0, bow_tie), _unit(10111.0, square)], crs="EPSG:4326")
    units = read_police_districts_kml(_kml(frame))
    assert units["code"].tolist() == ["010110", "010111"]  # the float code got its zero back
    geography, report = police_geography(units)
    assert report.repaired == ["010110"]
    assert shapely.is_valid(geography.geometry.values).all()
    assert geography.set_index("code").loc["010110"].geometry.area == pytest.approx(0.005)


def test_an_ogr_file_with_numeric_codes_gets_its_zeros_back(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {
            "code": [10110], "name": ["OOP A"], "district_code": [101], "district_name": ["ÚO"],
            "region_code": [1], "region_name": ["KŘP"], "population_usual": [5],
        },
        geometry=[shapely.box(15.0, 50.0, 15.1, 50.1)],
        crs="EPSG:4326",
    )  # fmt: skip
    path = tmp_path / "units.gpkg"
    pyogrio.write_dataframe(frame, path)
    units = districts_steps.read_police_units(path)
    assert units[["code", "district_code", "region_code"]].values.tolist() == [
        ["010110", "0101", "01"]
    ]


# -- months from cumulative reports ----------------------------------------------------------


@given(st.lists(st.integers(0, 30), min_size=1, max_size=12), st.integers(-3, 0))
def test_months_add_up_to_the_latest_report(monthly: list[int], correction: int) -> None:
    """Whatever the corrections, a year's months add up to its latest report; a month below
    zero is marked revised."""
    cumulative, total = [], 0
    for index, n in enumerate(monthly, start=1):
        total = max(0, total + n + (correction if index == len(monthly) else 0))
        cumulative.append(
            {"month": f"2025-{index:02d}", "unit_code": "180110", "tsk_code": "451",
             "is_subtotal": False, "found": total}
            | {m: 0 for m in ("found_closed", "found_under_investigation", "solved",
                              "solved_later", "under_influence", "under_alcohol",
                              "by_recidivists", "by_children_1_14", "by_juveniles_15_17",
                              "by_minors_1_17", "charged_total", "charged_recidivists",
                              "charged_children_1_14", "charged_juveniles_15_17",
                              "charged_women", "damage_total_thousand_czk",
                              "damage_secured_thousand_czk")}
        )  # fmt: skip
    months = monthly_figures(pd.DataFrame(cumulative))
    assert months["found"].sum() == total
    assert (months["revised"] == (months["found"] < 0)).all()
    assert not months["previous_missing"].any()


def test_a_month_after_a_missing_report_has_no_figures_of_its_own() -> None:
    rows = pd.DataFrame(
        {"month": ["2025-01", "2025-03"], "unit_code": "180110", "tsk_code": "451",
         "is_subtotal": False}
    )  # fmt: skip
    for measure in ("found", *(c for c in JANUARY["180110"]["451"] if c != "found")):
        rows[measure] = [5.0, 9.0]
    months = monthly_figures(rows.drop(columns="solved_percent")).set_index("month")
    assert months.loc["2025-01", "found"] == 5
    assert months.loc["2025-03", "previous_missing"]
    assert pd.isna(months.loc["2025-03", "found"])


def test_drops_compare_leaves_only() -> None:
    report = read_report_workbook(report_workbook(DISTRICT, Month(2025, 2), FEBRUARY))
    earlier = read_report_workbook(report_workbook(DISTRICT, Month(2025, 1), JANUARY))
    assert cumulative_drops(report, earlier).empty
    assert len(TSK_LEAVES) == report["is_subtotal"].eq(False).sum() / 2
