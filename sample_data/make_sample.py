"""Regenerate the bundled sample: ``python sample_data/make_sample.py``.

Everything here is generated (see README.md in this folder); the output is deterministic for a
given seed, so a regenerated sample is byte-identical except the GeoPackage's internal timestamps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyogrio

# testdata/ lives beside the installed package, not in it: a script run from anywhere finds it
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd
import numpy as np

from testdata.formats import code_list_jsons, police_month_geojson, police_month_zip, records_csv
from testdata.police_reports import (
    cumulated,
    found_by_unit,
    month_figures,
    police_districts_kml,
    report_workbook,
    sample_police_districts,
    tsk_codes_csv,
    type_mapping_csv,
    unlocated_offences,
)
from testdata.sample import TOWNS, population_csv, sample_boundaries, sample_records
from transforms.domain.periods import Month

HERE = Path(__file__).resolve().parent
MONTHS = [Month(2025, 1), Month(2025, 2), Month(2025, 3)]


def bad_lines(month: Month) -> list[str]:
    """A few rows of the kinds real exports contain, so the demo shows the quarantine at work."""
    m = f"{month.year:04d}-{month.month:02d}"
    previous = f"{month.year - (month.month == 1):04d}-{(month.month - 2) % 12 + 1:02d}"
    return [
        f"29999001,15.056200,50.767100,false,{m}-10 12:00:00,2,4",  # a field missing
        f"29999002,15.056200,50.767100,false,{m}-11 12:00:00,2,4,999",  # unknown offence type
        f"29999003,50.767100,15.056200,false,{m}-12 12:00:00,2,4,44",  # lat/lon swapped
        f"29999004,15.056200,50.767100,false,{m}-31 25:00:00,2,4,44",  # no such time
        f"29999005,15.056200,50.767100,false,{previous}-28 12:00:00,2,4,44",  # another month
    ]


def main() -> None:
    layers = sample_boundaries()
    boundary_path = HERE / "boundaries" / "ruian_sample_5514.gpkg"
    boundary_path.parent.mkdir(parents=True, exist_ok=True)
    boundary_path.unlink(missing_ok=True)
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, boundary_path, layer=name, driver="GPKG")
    (HERE / "population").mkdir(exist_ok=True)
    (HERE / "population" / "130149_sample.csv").write_bytes(population_csv())

    police = HERE / "police"
    police.mkdir(exist_ok=True)
    obce_wgs84 = layers["obce"].to_crs("EPSG:4326")
    first_id = 20_300_000
    districts = sample_police_districts()
    population = {t.code: t.population for t in TOWNS}
    statistics = HERE / "police_statistics"
    statistics.mkdir(exist_ok=True)
    (statistics / "tsk_codes.csv").write_bytes(tsk_codes_csv())
    (statistics / "type_tsk.csv").write_bytes(type_mapping_csv())
    (HERE / "police_districts").mkdir(exist_ok=True)
    kml = police_districts_kml(districts, layers["obce"], population)
    (HERE / "police_districts" / "police_districts.kml").write_bytes(kml)
    year_to_date: dict = {}
    for index, month in enumerate(MONTHS):
        records = sample_records(obce_wgs84, month, seed=100 + index, first_id=first_id)
        year_to_date = cumulated(
            year_to_date, report_figures(records, obce_wgs84, districts, population, 200 + index)
        )
        folder = statistics / month.compact
        folder.mkdir(exist_ok=True)
        for district in districts:
            workbook = report_workbook(district, month, year_to_date)
            (folder / f"a{district.code}__.xls").write_bytes(workbook)
        first_id = int(records["id"].astype(int).max()) + 1000
        duplicate = records.iloc[[0]].to_csv(index=False, header=False).strip()
        payload = records_csv(records, [*bad_lines(month), duplicate])
        (police / f"{month.compact}.zip").write_bytes(police_month_zip(month, payload))
        (police / f"{month.compact}.geojson").write_bytes(police_month_geojson(records))
    for name, data in code_list_jsons().items():
        (police / name).write_bytes(data)
    print(f"sample written to {HERE}")


def report_figures(records, obce_wgs84, districts, population, seed: int) -> dict:
    """A month's figures of the police's statistical report, from the same incidents (placed in
    their municipalities) and the offences the incident files do not carry."""
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(records["x"].astype(float), records["y"].astype(float)),
        crs="EPSG:4326",
    )
    placed = gpd.sjoin(points, obce_wgs84[["kod", "geometry"]], how="left", predicate="within")
    placed = placed[~placed.index.duplicated()]
    found = found_by_unit(
        records["types"].astype(int).to_numpy(), placed["kod"].to_numpy(dtype=object), districts
    )
    rng = np.random.default_rng(seed)
    for unit, codes in unlocated_offences(districts, population, rng).items():
        found.setdefault(unit, {}).update(codes)
    return {unit: month_figures(codes, rng) for unit, codes in sorted(found.items())}


if __name__ == "__main__":
    main()
