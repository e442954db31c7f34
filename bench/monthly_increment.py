"""Benchmark: one monthly increment of the police DAG on a national-size geography.

    .venv/bin/python bench/monthly_increment.py                    # 150,000 incidents
    .venv/bin/python bench/monthly_increment.py --incidents 500000

Generates, in the exact input formats, a synthetic country of 6,258 municipalities (RÚIAN-like
layers ``vusc``/``okresy``/``obce`` in S-JTSK, 14 regions, 77 districts, ~265 vertices per
municipality), its ČSÚ population table and one police month (``{YYYYMM}.zip``: records CSV plus
code lists), then runs the pipeline's own steps, as the ``boundaries`` and ``police_incidents``
DAGs' tasks call them: the geography once (not part of the increment), then the month — snapshot,
raw check, the per-region placement, canonicalisation, validation, commit. Prints wall time and
peak RSS per step; the increment's task time is their sum (Airflow's own start-up excluded).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from transforms.periods import Month
from transforms.pipeline import geography as geo_steps
from transforms.pipeline import incidents as steps
from transforms.settings import get_settings
from transforms.synthetic import (
    KROVAK,
    NATIONAL_EXTENT,
    NATIONAL_MUNICIPALITIES,
    RELEVANCE,
    STATES,
    TYPE_WEIGHTS,
    WGS84,
    police_month_zip,
    random_seeds,
    records_csv,
    voronoi_units,
)

MONTH = Month(2025, 6)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def national_boundaries(seed: int = 11) -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    municipalities = voronoi_units(
        random_seeds(rng, NATIONAL_MUNICIPALITIES, NATIONAL_EXTENT), NATIONAL_EXTENT
    )
    centres = shapely.get_coordinates(shapely.centroid(municipalities))
    district_seeds = random_seeds(rng, 77, NATIONAL_EXTENT)
    region_seeds = random_seeds(rng, 14, NATIONAL_EXTENT)
    district_of = np.argmin(
        np.hypot(*(centres[:, None, :] - district_seeds[None, :, :]).transpose(2, 0, 1)), axis=1
    )
    region_of = np.argmin(
        np.hypot(*(district_seeds[:, None, :] - region_seeds[None, :, :]).transpose(2, 0, 1)),
        axis=1,
    )
    obce = gpd.GeoDataFrame(
        {
            "kod": [f"{500000 + i}" for i in range(len(municipalities))],
            "nazev": [f"Obec {i}" for i in range(len(municipalities))],
            "okres_kod": [f"{3100 + d}" for d in district_of],
        },
        geometry=municipalities,
        crs=WGS84,
    )
    okresy = obce[["okres_kod", "geometry"]].dissolve(by="okres_kod", as_index=False)
    okresy = okresy.rename(columns={"okres_kod": "kod"})[["kod", "geometry"]]
    okresy["nazev"] = "Okres " + okresy["kod"]
    okresy["vusc_kod"] = [f"{20 + region_of[int(k) - 3100]}" for k in okresy["kod"]]
    okresy["nuts_lau"] = "CZ" + okresy["kod"]
    vusc = okresy[["vusc_kod", "geometry"]].dissolve(by="vusc_kod", as_index=False)
    vusc = vusc.rename(columns={"vusc_kod": "kod"})[["kod", "geometry"]]
    vusc["nazev"] = "Kraj " + vusc["kod"]

    def native(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """In S-JTSK on a centimetre grid, valid, as the RÚIAN files are."""
        frame = frame.to_crs(KROVAK)
        frame["geometry"] = shapely.make_valid(shapely.set_precision(frame.geometry.values, 0.01))
        return frame

    return {
        "vusc": native(vusc[["kod", "nazev", "geometry"]]),
        "okresy": native(okresy[["kod", "nazev", "vusc_kod", "nuts_lau", "geometry"]]),
        "obce": native(obce),
    }


def population_table(codes: pd.Series, seed: int = 12) -> bytes:
    rng = np.random.default_rng(seed)
    people = np.maximum(50, (rng.pareto(1.05, len(codes)) + 1) * 180).astype(int)
    frame = pd.DataFrame(
        {
            "idhod": np.arange(900000, 900000 + len(codes)),
            "hodnota": people,
            "stapro_kod": "2406",
            "pohlavi_cis": "",
            "pohlavi_kod": "",
            "pohlavi_txt": "",
            "vuzemi_cis": "43",
            "vuzemi_kod": codes.to_numpy(),
            "vuzemi_txt": "Obec",
            "casref_do": "2024-12-31",
        }
    )
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def month_records(n: int, seed: int = 13) -> pd.DataFrame:
    """The month's records, vectorised: one row per incident (one offence type each)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = NATIONAL_EXTENT
    types = np.array(list(TYPE_WEIGHTS))
    weights = np.array(list(TYPE_WEIGHTS.values()))
    days = (MONTH.next().first_day - MONTH.first_day).days
    day = rng.integers(1, days + 1, n)
    minute = rng.integers(0, 24 * 60, n)
    stamp = pd.to_datetime(MONTH.first_day) + pd.to_timedelta((day - 1) * 1440 + minute, unit="min")
    return pd.DataFrame(
        {
            "id": (20_000_000 + np.arange(n) * 3).astype(str),
            "x": np.char.mod("%.6f", rng.uniform(x0, x1, n)),
            "y": np.char.mod("%.6f", rng.uniform(y0, y1, n)),
            "mp": np.where(rng.random(n) < 0.1, "true", "false"),
            "date": stamp.strftime("%Y-%m-%d %H:%M:%S"),
            "state": rng.choice([s[0] for s in STATES], n, p=[s[2] for s in STATES]).astype(str),
            "relevance": rng.choice(
                [r[0] for r in RELEVANCE], n, p=[r[2] for r in RELEVANCE]
            ).astype(str),
            "types": rng.choice(types, n, p=weights / weights.sum()).astype(str),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=150_000)
    args = parser.parse_args()
    timings: list[tuple[str, float, float]] = []

    def timed(name: str, step: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = step()
        timings.append((name, time.perf_counter() - started, peak_rss_mib()))
        return result

    with tempfile.TemporaryDirectory() as tmp:
        data_in, root = Path(tmp) / "in", Path(tmp) / "root"
        (data_in / "boundaries").mkdir(parents=True)
        (data_in / "population").mkdir()
        (data_in / "police").mkdir()
        started = time.perf_counter()
        layers = national_boundaries()
        for name, frame in layers.items():
            pyogrio.write_dataframe(
                frame, data_in / "boundaries" / "national.gpkg", layer=name, driver="GPKG"
            )
        (data_in / "population" / "130149.csv").write_bytes(population_table(layers["obce"]["kod"]))
        records = month_records(args.incidents)
        (data_in / "police" / f"{MONTH.compact}.zip").write_bytes(
            police_month_zip(MONTH, records_csv(records))
        )
        print(
            f"inputs: {len(layers['obce']):,} municipalities, {len(layers['okresy'])} districts, "
            f"{len(layers['vusc'])} regions; {args.incidents:,} incidents in {MONTH} "
            f"({time.perf_counter() - started:.1f} s to generate)"
        )
        settings = get_settings(data_root=root, data_in=data_in)

        started = time.perf_counter()
        snapshots = geo_steps.snapshot_boundary_inputs(settings)
        staged = geo_steps.stage_geography(settings, snapshots)
        geo_steps.validate_geography(settings, staged["version"], "bench")
        geo_steps.promote_geography(settings, staged["version"])
        print(f"geography (once, not part of the increment): {time.perf_counter() - started:.1f} s")

        snapshot = timed("fetch_month", lambda: steps.fetch_police_month(settings, MONTH))
        prepared = timed(
            "check_raw_month",
            lambda: steps.prepare_placement(settings, MONTH, snapshot, "bench"),
        )
        for region in prepared["regions"]:
            timed(
                f"place_in_region {region}",
                lambda region=region: steps.place_in_region(
                    settings, MONTH, prepared["key"], region
                ),
            )
        staged_month = timed(
            "parse_and_place",
            lambda: steps.stage_police_month(
                settings, MONTH, snapshot, "bench", placed_by_region=True
            ),
        )
        timed(
            "validate_month",
            lambda: steps.validate_police_month(settings, MONTH, staged_month["key"], "bench"),
        )
        timed(
            "commit_month", lambda: steps.commit_police_month(settings, MONTH, staged_month["key"])
        )

    print(
        f"{staged_month['input_rows']:,} rows in, {staged_month['accepted_rows']:,} accepted, "
        f"{staged_month['quarantined_rows']:,} quarantined"
    )
    print(f"{'step':28} {'wall s':>8} {'peak RSS MiB':>13}")
    regions = [t for t in timings if t[0].startswith("place_in_region")]
    for name, seconds, rss in timings:
        if not name.startswith("place_in_region"):
            print(f"{name:28} {seconds:8.2f} {rss:13.0f}")
    print(
        f"{'place_in_region × ' + str(len(regions)):28} {sum(t[1] for t in regions):8.2f} "
        f"{max(t[2] for t in regions):13.0f}  (longest one {max(t[1] for t in regions):.2f} s)"
    )
    print(f"{'monthly increment, task time':28} {sum(t[1] for t in timings):8.2f}")


if __name__ == "__main__":
    main()
