"""Benchmark: every unit's page and CSV, and the national map's data, of a national release, as
``write_release`` writes them.

    .venv/bin/python bench/full_history.py --skip floor naive --keep /tmp/fh1   # a decade
    .venv/bin/python bench/unit_pages.py /tmp/fh1/root/releases/cz-crime/<version>

Reads the release's counts (as the writer reads the staged ones, a part at a time), its codes,
areas and point classes, writes the pages and the map's data into a fresh folder and prints the
time, the peak RSS, how many pages, the largest page and what each folder adds to the release.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

# testdata/ and transforms/ beside this script: a script run from anywhere finds them
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

from transforms.privacy.policy import load_policy
from transforms.publish.areas import AREA_FILES
from transforms.publish.national_map import MAP_FOLDER, write_national_map
from transforms.publish.unit_pages import UNITS_FOLDER, UnitContext, write_unit_files
from transforms.publish.units import UnitFiguresBuilder

TEXT_COLUMNS = [
    "geo_level", "geo_code", "geo_name", "period_type", "period",
    "offence_level", "offence_code", "offence_name", "status",
]  # fmt: skip


AREA_COLUMNS = ["code", "name", "population", "geometry"]
CLASS_COLUMNS = ["month", "offence_group", "offence_group_name", "lon", "lat", "records"]


def point_classes(release: Path) -> pd.DataFrame:
    """The published point classes (a row of ``incidents.parquet`` each)."""
    return pq.read_table(release / "incidents.parquet", columns=CLASS_COLUMNS).to_pandas()


def newest(classes: pd.DataFrame) -> pd.DataFrame:
    """The newest month's classes (what a unit's map shows)."""
    return classes[classes["month"] == classes["month"].max()].reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("release", type=Path)
    release = parser.parse_args().release
    started = time.perf_counter()
    builder = UnitFiguresBuilder()
    counts = pq.ParquetFile(release / "counts.parquet", read_dictionary=TEXT_COLUMNS)
    for group in range(counts.num_row_groups):
        builder.add(counts.read_row_group(group))
    figures = builder.build()
    gathered = time.perf_counter() - started
    codes = pd.read_csv(release / "codes.csv", dtype=str, keep_default_na=False)
    units, offences = codes[codes["kind"] == "unit"], codes[codes["kind"] == "offence"]
    context = UnitContext(
        figures=figures,
        parents={c: p or None for c, p in zip(units["code"], units["parent_code"], strict=True)},
        offence_parents={
            c: p for c, p in zip(offences["code"], offences["parent_code"], strict=True) if p
        },
        policy=load_policy(release / "disclosure-policy.yaml")[0],
        title="benchmark",
        version=release.name,
        maps={
            level: gpd.read_parquet(release / f"{name}.parquet", columns=AREA_COLUMNS)
            for level, name in AREA_FILES.items()
        },
        points=newest(point_classes(release)),
        offence_names={
            c: (n, e)
            for c, n, e in zip(offences["code"], offences["name"], offences["name_en"], strict=True)
        },
    )
    out = Path(tempfile.mkdtemp(prefix="unit-pages-"))
    try:
        started = time.perf_counter()
        written = write_unit_files(out, context)
        elapsed = time.perf_counter() - started
        files = list((out / UNITS_FOLDER).iterdir())
        pages = [f for f in files if f.suffix == ".html"]
        largest = max(pages, key=lambda f: f.stat().st_size)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{written:,} units ({figures.counts.shape[1]} offences × "
            f"{figures.counts.shape[2]} periods): figures gathered in {gathered:.1f} s, "
            f"pages and CSVs written in {elapsed:.1f} s, peak RSS {peak:,.0f} MiB"
        )
        print(
            f"largest page {largest.stat().st_size / 1000:,.0f} kB ({largest.name}); "
            f"the folder adds {sum(f.stat().st_size for f in files) / 1e6:,.0f} MB in "
            f"{len(files):,} files"
        )
        started = time.perf_counter()
        write_national_map(
            out,
            figures,
            context.maps["municipality"],
            point_classes(release),
            context.policy.rates,
            context.offence_names,
        )
        elapsed = time.perf_counter() - started
        shown = list((out / MAP_FOLDER).iterdir())
        period = max(f.stat().st_size for f in shown if f.name.startswith("figures-"))
        print(
            f"national map's data written in {elapsed:.1f} s: "
            f"{sum(f.stat().st_size for f in shown) / 1e6:,.0f} MB in {len(shown):,} files, "
            f"the largest period {period / 1e3:,.0f} kB, peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
        )
    finally:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
