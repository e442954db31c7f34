"""Municipality vector tiles: a national map shows every municipality, read back by GDAL."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from testdata.national import NATIONAL_EXTENT, NATIONAL_MUNICIPALITIES, random_seeds, voronoi_units
from transforms.domain.geography import WGS84
from transforms.pipeline.publish.write import write_municipality_tiles
from transforms.publish.areas import (
    SIMPLIFY_DEGREES,
    TILE_IDENTITY,
    simplified_coverage,
    tile_properties,
)


def national_areas(years: list[str]) -> gpd.GeoDataFrame:
    """6,258 municipality polygons of about 265 vertices with a decade of published figures,
    as the release's ``municipalities`` layer has them: years first, then months."""
    rng = np.random.default_rng(3)
    polygons = voronoi_units(
        random_seeds(rng, NATIONAL_MUNICIPALITIES, NATIONAL_EXTENT), NATIONAL_EXTENT
    )
    n = len(polygons)
    columns: dict[str, object] = {
        "code": [f"{500000 + i}" for i in range(n)],
        "name": [f"Obec {i}" for i in range(n)],
        "district_code": [f"{3100 + i % 77}" for i in range(n)],
        "population": rng.integers(50, 100_000, n),
    }
    for period in years + [f"{y}-{m:02d}" for y in years for m in range(1, 13)]:
        columns[f"count_{period}"] = pd.array(rng.integers(0, 500, n), dtype="Int64")
        columns[f"status_{period}"] = np.full(n, "published", dtype=object)
        columns[f"rate_{period}"] = pd.array(np.round(rng.uniform(0, 90, n), 2), dtype="Float64")
    geometry = simplified_coverage(np.asarray(polygons), SIMPLIFY_DEGREES)
    return gpd.GeoDataFrame(pd.DataFrame(columns), geometry=geometry, crs=WGS84)


def test_a_national_map_shows_every_municipality_at_every_zoom(tmp_path: Path) -> None:
    years = [str(y) for y in range(2013, 2023)]
    areas = national_areas(years)
    layer = tile_properties(areas)
    assert list(layer.columns) == [
        *TILE_IDENTITY,
        "count_2022",
        "status_2022",
        "rate_2022",
        "geometry",
    ]
    write_municipality_tiles(layer, tmp_path)
    archive = tmp_path / "municipalities.pmtiles"
    for zoom in (5, 6, 9):
        back = pyogrio.read_dataframe(archive, layer="municipalities", ZOOM_LEVEL=str(zoom))
        # a polygon cut by tile borders comes back once per tile it crosses
        assert set(back["code"]) == set(areas["code"]), f"municipalities missing at zoom {zoom}"
        one = back.drop_duplicates("code").set_index("code").loc[areas["code"]]
        assert one["name"].tolist() == areas["name"].tolist()
        assert one["count_2022"].astype(int).tolist() == areas["count_2022"].tolist()


def test_a_release_without_a_year_gives_tiles_of_who_each_municipality_is() -> None:
    areas = national_areas([]).head(3)
    assert list(tile_properties(areas).columns) == [*TILE_IDENTITY, "geometry"]
