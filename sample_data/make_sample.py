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

from testdata.formats import code_list_jsons, police_month_geojson, police_month_zip, records_csv
from testdata.sample import population_csv, sample_boundaries, sample_records
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
    for index, month in enumerate(MONTHS):
        records = sample_records(obce_wgs84, month, seed=100 + index, first_id=first_id)
        first_id = int(records["id"].astype(int).max()) + 1000
        duplicate = records.iloc[[0]].to_csv(index=False, header=False).strip()
        payload = records_csv(records, [*bad_lines(month), duplicate])
        (police / f"{month.compact}.zip").write_bytes(police_month_zip(month, payload))
        (police / f"{month.compact}.geojson").write_bytes(police_month_geojson(records))
    for name, data in code_list_jsons().items():
        (police / name).write_bytes(data)
    print(f"sample written to {HERE}")


if __name__ == "__main__":
    main()
