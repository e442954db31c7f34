"""Benchmark: every unit's page and CSV of a national release, as ``write_release`` writes them.

    .venv/bin/python bench/full_history.py --skip floor naive --keep /tmp/fh1   # a decade
    .venv/bin/python bench/unit_pages.py /tmp/fh1/root/releases/cz-crime/<version>

Reads the release's counts (as the writer reads the staged ones, a part at a time), its codes,
areas and the newest month's point classes, writes the pages into a fresh folder and prints the
time, the peak RSS, how many pages, the largest page and what the folder adds to the release.
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
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms.privacy.policy import load_policy
from transforms.publish.areas import AREA_FILES
from transforms.publish.unit_pages import UNITS_FOLDER, UnitContext, write_unit_files
from transforms.publish.units import UnitFiguresBuilder

TEXT_COLUMNS = [
    "geo_level", "geo_code", "geo_name", "period_type", "period",
    "offence_level", "offence_code", "offence_name", "status",
]  # fmt: skip


AREA_COLUMNS = ["code", "name", "geometry"]


def newest_classes(release: Path) -> pd.DataFrame:
    """The newest month's point classes, recounted from the published points."""
    months = pq.read_table(release / "incidents.parquet", columns=["month"])["month"]
    newest = pc.max(months).as_py()
    frame = gpd.read_parquet(release / "incidents.parquet", filters=[("month", "=", newest)])
    frame["lon"], frame["lat"] = frame.geometry.x, frame.geometry.y
    return (
        frame.groupby(["cell_code", "offence_group_name", "lon", "lat"])
        .size()
        .rename("records")
        .reset_index()
    )


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
        points=newest_classes(release),
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
    finally:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
