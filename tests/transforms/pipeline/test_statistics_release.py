"""The police's statistics as a second dataset: its release files, figures, rates and polygons,
on the sample's workbooks and police units."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from tests.browser import chromium_path, driven_browser
from tests.sample_pipeline import (
    SAMPLE_MONTHS,
    commit_statistics_month,
    promote_geography,
    promote_police_units,
)
from transforms.pipeline import statistics_release as steps
from transforms.plumbing.settings import Settings
from transforms.sources.police_reports import COUNT_MEASURES
from transforms.validation import ValidationFailed

BASE_URL = "https://data.example.org/opencrime"


def ingest(settings: Settings) -> None:
    promote_geography(settings, "s")
    promote_police_units(settings, "s")
    for month in SAMPLE_MONTHS:
        commit_statistics_month(settings, month, "s")


def publish(settings: Settings) -> dict:
    staged = steps.stage_statistics_tables(settings)
    steps.validate_statistics_tables(settings, staged["staged"], "s")
    return steps.write_statistics_release(settings, staged["staged"])


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path):
    settings = Settings(
        data_root=tmp_path_factory.mktemp("statistics"), data_in=sample_dir,
        public_base_url=BASE_URL,
    )  # fmt: skip
    ingest(settings)
    return settings, publish(settings)


def figures_of(released) -> pd.DataFrame:
    return pd.read_parquet(Path(released[1]["path"]) / "figures.parquet")


def test_the_release_is_complete_checksummed_and_catalogued(released) -> None:
    settings, result = released
    folder = Path(result["path"])
    assert result["created"] and folder.name == "2025-03.1"
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    listed = {line.split("  ")[1]: line.split("  ")[0] for line in lines}
    for name in ("figures.csv", "figures.parquet", "police_units.geojson",
                 "police_units.parquet", "police_units.pmtiles", "datapackage.json",
                 "catalog/dataset.jsonld", "manifest.json"):  # fmt: skip
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == listed[name], name
    package = json.loads((folder / "datapackage.json").read_text())
    assert package["name"] == "cz-crime-police-statistics"
    assert {r["path"] for r in package["resources"]} >= {"figures.csv", "police_units.geojson"}
    record = json.loads((folder / "catalog" / "dataset.jsonld").read_text())
    assert record["iri"].startswith(f"{BASE_URL}/cz-crime-police-statistics/2025-03.1/")
    assert record["název"]["en"].startswith("Police of the Czech Republic crime statistics")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["data_months"] == ["2025-01", "2025-02", "2025-03"]
    assert {s["source"] for s in manifest["sources"]} == {
        "police_statistics", "police_districts", "boundaries", "population"
    }  # fmt: skip
    # the same inputs publish nothing new
    again = publish(settings)
    assert not again["created"] and again["version"] == "2025-03.1"


def test_months_add_up_to_the_year_and_directorates_to_their_units(released) -> None:
    figures = figures_of(released)
    months = figures[figures["period_type"] == "month"]
    years = figures[figures["period_type"] == "year_to_date"].set_index(["code", "tsk_code"])
    summed = months.groupby(["code", "tsk_code"])["found"].sum()
    assert (summed == years.loc[summed.index, "found"]).all()
    units = months[(months["level"] == "unit") & ~months["excludes_sensitive"]]
    by_district = units.groupby([units["parent_code"], "period", "tsk_code"])["found"].sum()
    districts = months[months["level"] == "district"].set_index(["code", "period", "tsk_code"])
    assert (districts.loc[by_district.index, "found"].to_numpy() == by_district.to_numpy()).all()


def test_damage_and_open_cases_are_published_as_the_reports_give_them(released) -> None:
    """The damage and the value secured add up like the offences found: a year's months to
    the year to date, a district's units to the district. Those still under investigation are
    a stock on the report's date: a year to date has them, never more than found; a month has
    none (the difference of two stocks would read as the month's)."""
    figures = figures_of(released)
    months = figures[figures["period_type"] == "month"]
    years = figures[figures["period_type"] == "year_to_date"].set_index(["code", "tsk_code"])
    assert months["found_under_investigation"].isna().all()
    open_cases = years.dropna(subset=["found_under_investigation"])
    assert len(open_cases) and (open_cases["found_under_investigation"] > 0).any()
    assert (open_cases["found_under_investigation"] <= open_cases["found"]).all()
    units = months[(months["level"] == "unit") & ~months["excludes_sensitive"]]
    districts = months[months["level"] == "district"].set_index(["code", "period", "tsk_code"])
    for measure in ("damage_total_thousand_czk", "damage_secured_thousand_czk"):
        summed = months.groupby(["code", "tsk_code"])[measure].sum()
        assert np.allclose(summed, years.loc[summed.index, measure].astype(float), atol=0.01)
        by_district = units.groupby([units["parent_code"], "period", "tsk_code"])[measure].sum()
        shown = districts.loc[by_district.index, measure].astype(float)
        assert np.allclose(shown, by_district, atol=0.01)
    assert (years["damage_total_thousand_czk"] > 0).any()


def test_the_crime_index_is_found_per_10000_people_of_the_units_municipalities(released) -> None:
    figures = figures_of(released)
    shown = figures.dropna(subset=["crime_index"])
    expected = (shown["found"] / shown["population"] * 10_000).round(2).astype(float)
    assert np.allclose(shown["crime_index"].astype(float), expected)
    # every sample municipality lies in one unit: the regions hold everyone
    settings, _ = released
    geography = pd.read_parquet(
        next((settings.canonical_dir / "geography" / "versions").glob("*/geography.parquet"))
    )
    people = geography.loc[geography["level"] == "municipality", "population"].sum()
    regions = figures[(figures["level"] == "region") & (figures["period_type"] == "month")]
    per_region = regions.drop_duplicates("code")["population"].sum()
    assert per_region == pytest.approx(people, abs=len(regions["code"].unique()))


def test_every_row_and_feature_is_what_the_published_schemas_say(released, project_root) -> None:
    folder = Path(released[1]["path"])
    schemas = project_root / "output_schemas"
    rows = json.loads(figures_of(released).to_json(orient="records"))
    validator = jsonschema.Draft202012Validator(
        json.loads((schemas / "police_statistics.schema.json").read_text())
    )
    assert [e.message for row in rows for e in validator.iter_errors(row)] == []
    collection = json.loads((folder / "police_units.geojson").read_text())
    units = jsonschema.Draft202012Validator(
        json.loads((schemas / "police_units.schema.json").read_text())
    )
    assert collection["type"] == "FeatureCollection" and collection["features"]
    assert [e.message for f in collection["features"]
            for e in units.iter_errors(f["properties"])] == []  # fmt: skip
    lon, lat = np.array(
        [
            c
            for f in collection["features"]
            for ring in f["geometry"]["coordinates"][:1]
            for c in (ring if f["geometry"]["type"] == "Polygon" else ring[0])
        ]
    ).T
    assert lon.min() > 12 and lon.max() < 19 and lat.min() > 48 and lat.max() < 52  # WGS84


def test_a_month_without_a_district_workbook_is_not_published_for_it(
    tmp_path: Path, sample_dir: Path
) -> None:
    data_in = tmp_path / "in"
    shutil.copytree(sample_dir, data_in)
    (data_in / "police_statistics" / "202502" / "a1803__.xls").unlink()
    settings = Settings(data_root=tmp_path / "data", data_in=data_in, public_base_url=BASE_URL)
    ingest(settings)
    result = publish(settings)
    manifest = json.loads((Path(result["path"]) / "manifest.json").read_text())
    assert manifest["missing_districts"]["2025-02"] == ["1803"]
    figures = pd.read_parquet(Path(result["path"]) / "figures.parquet")
    february = figures[(figures["period"] == "2025-02")]
    assert not february["code"].str.startswith("1803").any()
    region = february[february["code"] == "18"]
    assert len(region) and region["found"].isna().all()  # a sum without 1803 would read whole
    # March follows a missing report: no figures of its own for 1803's units
    march = figures[(figures["period"] == "2025-03") & figures["code"].str.startswith("1803")]
    assert march.loc[march["level"] == "unit", "found"].isna().all()


def test_a_table_that_fails_validation_publishes_nothing(tmp_path: Path, sample_dir: Path) -> None:
    settings = Settings(data_root=tmp_path / "data", data_in=sample_dir, public_base_url=BASE_URL)
    ingest(settings)
    staged = steps.stage_statistics_tables(settings)
    path = Path(staged["staged"]) / "figures.parquet"
    figures = pd.read_parquet(path)
    figures.loc[figures.index[0], "found"] = -3  # a drop nobody marked as a revision
    figures.to_parquet(path)
    with pytest.raises(ValidationFailed):
        steps.validate_statistics_tables(settings, staged["staged"], "s")
    assert not (settings.releases_dir / "cz-crime-police-statistics").exists()


def test_a_unit_without_a_polygon_counts_in_its_directorate_under_the_reports_name() -> None:
    """Unit 180119 is in district 1801's workbook but not in the police's unit file: its
    figures are published, and 1801's sum holds them."""
    units = pd.DataFrame(
        [("18", "KŘP", "region", None), ("1801", "ÚO", "district", "18"),
         ("180110", "OOP A", "unit", "1801")],
        columns=["code", "name", "level", "parent_code"],
    )  # fmt: skip
    cumulative = pd.DataFrame(
        [("2025-01", "180110", "OOP A", "101", "Vraždy", False, 3, 1),
         ("2025-01", "180119", "OOP NOVÉ", "101", "Vraždy", False, 2, 2)],
        columns=["month", "unit_code", "unit_name", "tsk_code", "tsk_name", "is_subtotal",
                 "found", "solved"],
    )  # fmt: skip
    for measure in COUNT_MEASURES:
        if measure not in cumulative:
            cumulative[measure] = 0
    table = steps.statistics_table(cumulative, units, {"180110": 10_000.0, "1801": 10_000.0})
    month = table[table["period_type"] == "month"].set_index("code")
    assert month.loc["180119", "name"] == "OOP NOVÉ" and month.loc["1801", "found"] == 5
    assert pd.isna(month.loc["180119", "population"])


def test_a_crosswalk_beside_the_unit_file_carries_a_split_units_figures(
    tmp_path: Path, sample_dir: Path
) -> None:
    """The reports still carry 180110, which (say) was split between 180110 and 180111: its
    figures go 70/30 to the two and say they are estimates; the district's sum is unchanged."""
    data_in = tmp_path / "in"
    shutil.copytree(sample_dir, data_in)
    (data_in / "police_districts" / "unit_crosswalk.csv").write_text(
        "old_code,new_code,share\n180110,180110,0.7\n180110,180111,0.3\n"
    )
    settings = Settings(data_root=tmp_path / "data", data_in=data_in, public_base_url=BASE_URL)
    ingest(settings)
    figures = pd.read_parquet(Path(publish(settings)["path"]) / "figures.parquet")
    plain = Settings(data_root=tmp_path / "plain", data_in=sample_dir, public_base_url=BASE_URL)
    ingest(plain)
    before = pd.read_parquet(Path(publish(plain)["path"]) / "figures.parquet")
    key = ["code", "period_type", "period", "tsk_code"]
    now, then = figures.set_index(key), before.set_index(key)
    total = ("180110", "year_to_date", "2025", "101-903")
    other = ("180111", "year_to_date", "2025", "101-903")
    assert now.loc[other, "found"] == pytest.approx(
        then.loc[other, "found"] + 0.3 * then.loc[total, "found"], abs=1
    )
    assert bool(now.loc[other, "estimated"]) and bool(now.loc[("1801", *total[1:]), "estimated"])
    district = ("1801", *total[1:])
    assert now.loc[district, "found"] == then.loc[district, "found"]


def test_the_publishers_population_per_unit_gives_the_crime_index(
    tmp_path: Path, sample_dir: Path
) -> None:
    """A ``unit_population.csv`` (mapakriminality.cz's format) beside the unit file: a unit it
    names has its population, the directorate above sums it, and the manifest lists a name
    that matches no unit."""
    data_in = tmp_path / "in"
    shutil.copytree(sample_dir, data_in)
    (data_in / "police_districts" / "unit_population.csv").write_text(
        "0,oop mladá boleslav,20000.0\n0,OOP Nikde,5.0\n", encoding="utf-8"
    )
    settings = Settings(data_root=tmp_path / "data", data_in=data_in, public_base_url=BASE_URL)
    ingest(settings)
    result = publish(settings)
    figures = pd.read_parquet(Path(result["path"]) / "figures.parquet")
    years = figures[(figures["period_type"] == "year_to_date") & (figures["tsk_code"] == "101-903")]
    unit = years[years["name"].str.casefold() == "oop mladá boleslav"].iloc[0]
    assert unit["population"] == 20_000
    assert unit["crime_index"] == pytest.approx(unit["found"] / 20_000 * 10_000, abs=0.01)
    district = years[years["code"] == unit["parent_code"]].iloc[0]
    below = years[years["parent_code"] == unit["parent_code"]]
    assert district["population"] == below["population"].sum()
    manifest = json.loads((Path(result["path"]) / "manifest.json").read_text())
    assert manifest["population"] == {"table": True, "names_matching_no_unit": ["OOP Nikde"]}


def test_sensitive_codes_follow_the_policys_sensitive_rules(released) -> None:
    """The policy's sensitive offences (here TSK 201 rape and 290 other sexual offences, by
    their names) have no unit row, and no figure of 1 to 9 anywhere: the sample's regions
    count fewer than 10 in some month, so the codes are withheld everywhere. A range that holds
    them is its other codes' sum wherever they are withheld, and says so."""
    figures = figures_of(released)
    sensitive = figures[figures["tsk_code"].isin(["201", "290"])]
    assert not (sensitive["level"] == "unit").any()
    for measure in ("found", "solved"):
        assert not sensitive[measure].between(1, 9).any()
    flagged = figures[figures["excludes_sensitive"]]
    assert set(flagged["tsk_code"]) == {"101-903", "101-690", "201-290"}
    assert set(flagged["level"]) == {"unit", "district", "region"}
    assert flagged["tsk_name"].str.endswith("excl. sensitive").all()
    leaves = figures[~figures["is_subtotal"]]
    for row in flagged.itertuples():
        low, high = (int(x) for x in row.tsk_code.split("-"))
        inside = leaves[
            (leaves["code"] == row.code)
            & (leaves["period_type"] == row.period_type)
            & (leaves["period"] == row.period)
            & leaves["tsk_code"].astype(int).between(low, high)
        ]
        assert inside["found"].sum() == row.found


@pytest.fixture
def chromium() -> str:
    return chromium_path()


def test_a_police_units_page_shows_its_trend_index_and_rank(released, chromium: str) -> None:
    """From the release's list of units (opened from disk) to a unit's page in a real
    Chromium: its crime index is the table's, the trend chart and the monthly table are there,
    its rank compares it with the units of its directorate and of the country, and the year's
    open cases and damage are the table's."""
    folder = Path(released[1]["path"])
    figures = figures_of(released)
    year = figures[(figures["period_type"] == "year_to_date") & (figures["tsk_code"] == "101-903")]
    unit = year[year["level"] == "unit"].sort_values("code").iloc[0]
    with driven_browser(chromium) as browser:
        page = browser.new_page()
        page.goto((folder / "index.html").as_uri())
        page.click(f"text={unit['name']}")
        page.wait_for_selector("#index strong")
        assert (
            page.locator("#index strong").get_attribute("data-value")
            == f"{unit['crime_index']:.2f}"
        )
        assert page.locator("svg.chart").count() == 1
        months = page.locator("#months tr").count() - 1
        assert months == figures.loc[figures["period_type"] == "month", "period"].nunique()
        rank = page.inner_text("#rank")
        assert "within its directorate" in rank and "in the country" in rank
        said = page.inner_text("#open-and-damage")
        assert f"report's date {unit['found_under_investigation']:,}".replace(",", " ") in said
        damage = f"{unit['damage_total_thousand_czk']:,.3f}".replace(",", " ")
        assert f"damage {damage} tis. Kč" in said
        page.click(f"text={year.set_index('code').loc[unit['parent_code'], 'name']}")
        page.wait_for_selector("#index strong")
        assert unit["parent_code"] in page.url
