"""Benchmark: placing N incident points in 6,258 municipality polygons.

    .venv/bin/python bench/spatial_join.py                    # 1 million points
    .venv/bin/python bench/spatial_join.py --points 15000000  # the national history

Synthetic municipalities: Voronoi cells of 6,258 seeds over the Czech extent, densified to about
265 vertices each (the real RÚIAN municipalities' mean). Points: uniform over the extent. Each
method runs in its own process (a fresh peak RSS), on the same points:

- floor: writing and reading the points' coordinates as Parquet with pyarrow alone;
- geopandas.sjoin: the naive baseline (a GeoDataFrame of points, predicate "within");
- STRtree: one shapely query of all points (the exact test, as the pipeline did before);
- grid: ``transforms.domain.geography.PointLocator`` (grid lookup, exact test only on border cells);
  its grid is built once per geography (in the pipeline, with the geography), timed apart.

The grid and STRtree results are checked equal point for point.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# testdata/ lives beside the installed package, not in it: a script run from anywhere finds it
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testdata.national import (
    MEAN_VERTICES,
    NATIONAL_EXTENT,
    NATIONAL_MUNICIPALITIES,
    random_seeds,
    voronoi_units,
)
from transforms.plumbing.timing import peak_rss_mib


def make_inputs(folder: Path, points: int, seed: int = 7) -> None:
    import geopandas as gpd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    cells = voronoi_units(
        random_seeds(rng, NATIONAL_MUNICIPALITIES, NATIONAL_EXTENT), NATIONAL_EXTENT, MEAN_VERTICES
    )
    codes = (500000 + rng.permutation(len(cells))).astype(str)
    gpd.GeoDataFrame({"code": codes}, geometry=cells, crs="EPSG:4326").to_parquet(
        folder / "municipalities.parquet"
    )
    coords = random_seeds(rng, points, NATIONAL_EXTENT)
    table = pa.table({"lon": coords[:, 0], "lat": coords[:, 1]})
    pq.write_table(table, folder / "points.parquet")


def run_method(method: str, folder: Path) -> dict[str, float]:
    import geopandas as gpd
    import pyarrow.parquet as pq

    started = time.perf_counter()
    points = pq.read_table(folder / "points.parquet")
    lon, lat = points["lon"].to_numpy(), points["lat"].to_numpy()
    units = gpd.read_parquet(folder / "municipalities.parquet")
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    build_s = 0.0
    if method == "floor":
        import pyarrow.parquet as pq

        pq.write_table(points, folder / "floor-copy.parquet")
        pq.read_table(folder / "floor-copy.parquet")
        codes = None
    elif method == "geopandas.sjoin":
        frame = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        joined = gpd.sjoin(frame, units, predicate="within", how="left")
        codes = joined.groupby(level=0)["code"].min().to_numpy(dtype=object)
    elif method == "STRtree":
        from transforms.domain.geography import PointLocator

        codes = PointLocator(units).exact(lon, lat)
    elif method == "grid":
        from transforms.domain.geography import PointLocator

        locator = PointLocator(units)
        _ = locator.grid  # built once per geography in the pipeline (the boundaries DAG)
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        codes = locator(lon, lat)
    else:
        raise ValueError(method)
    seconds = time.perf_counter() - started
    if codes is not None:
        np.save(folder / f"{method}.npy", codes.astype("U6"))
    figures = {"seconds": seconds, "read_s": read_s, "peak_rss_mib": peak_rss_mib()}
    return figures | ({"grid_build_s": build_s} if method == "grid" else {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--skip", nargs="*", default=[], help="methods not to run")
    args = parser.parse_args()
    if args.method:  # a child process: one method
        print(json.dumps(run_method(args.method, args.folder)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        make_inputs(folder, args.points)
        print(
            f"inputs: {args.points:,} points, {NATIONAL_MUNICIPALITIES:,} polygons of "
            f"~{MEAN_VERTICES} "
            f"vertices ({time.perf_counter() - started:.1f} s to generate)"
        )
        results = {}
        for method in ("floor", "geopandas.sjoin", "STRtree", "grid"):
            if method in args.skip:
                continue
            done = subprocess.run(
                [sys.executable, __file__, "--method", method, "--folder", str(folder)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[method] = json.loads(done.stdout.strip().splitlines()[-1])
        if "STRtree" in results and "grid" in results:
            same = np.array_equal(np.load(folder / "STRtree.npy"), np.load(folder / "grid.npy"))
            print(f"grid result equals the exact STRtree join point for point: {same}")
        print(f"{'method':18} {'wall s':>8} {'peak RSS MiB':>13} {'vs sjoin':>9}")
        baseline = results.get("geopandas.sjoin", {}).get("seconds")
        for method, figures in results.items():
            ratio = f"{baseline / figures['seconds']:.1f}×" if baseline else ""
            print(
                f"{method:18} {figures['seconds']:8.2f} {figures['peak_rss_mib']:13.0f} {ratio:>9}"
            )
        if "grid" in results:
            build = results["grid"]["grid_build_s"]
            print(f"(the grid itself, built once per geography: {build:.1f} s)")


if __name__ == "__main__":
    main()
