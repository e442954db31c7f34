"""The police_incidents steps on the sample: where the spatial join puts each point."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from transforms.pipeline.boundaries import load_current_geography


def test_a_point_on_a_border_between_regions_goes_to_the_smallest_code_when_mapped(
    tmp_path: Path,
) -> None:
    """Per-region placement: both regions claim the border point; combined, the rule of
    locate_points (smallest code) decides, as without the fan-out."""
    import numpy as np
    from shapely.geometry import box

    from transforms.domain.geography import locate_points
    from transforms.pipeline.police_incidents import _placed_by_region

    units = gpd.GeoDataFrame(
        {"code": ["500002", "500001"]},
        geometry=[box(14.0, 50.0, 14.5, 50.5), box(14.5, 50.0, 15.0, 50.5)],
        crs="EPSG:4326",
    )
    lon = np.array([14.5, 14.2, 14.8, 16.0])  # on the border, west, east, nowhere
    lat = np.array([50.2, 50.2, 50.2, 50.2])
    pd.DataFrame({"lon": lon, "lat": lat}).to_parquet(tmp_path / "points.parquet")
    for region, unit in (("R1", units.iloc[[0]]), ("R2", units.iloc[[1]])):
        codes = locate_points(lon, lat, unit)
        pd.DataFrame({"municipality_code": pd.array(codes, dtype="string")}).to_parquet(
            tmp_path / f"region-{region}.parquet"
        )
    mapped = _placed_by_region(tmp_path)(lon, lat)
    assert (
        list(mapped)
        == list(locate_points(lon, lat, units))
        == [
            "500001",
            "500002",
            "500001",
            None,
        ]
    )
    with pytest.raises(RuntimeError, match="other points"):
        _placed_by_region(tmp_path)(lon[:2], lat[:2])


def test_a_region_task_reads_its_own_shapes_and_places_as_the_whole_country_would(
    pipeline_run,
) -> None:
    """``region_locator`` decodes only the region's polygons beside the kept grid: it places
    every point, borders and corners included, as the country's locator restricted to the
    region, and without a kept grid it builds one from the whole country."""
    from transforms.domain.geography import hierarchy_columns
    from transforms.pipeline.boundaries import (
        current_geography_version,
        municipality_grid_file,
        municipality_locator,
        region_locator,
    )

    settings = pipeline_run["settings"]
    version = current_geography_version(settings)
    geography, _ = load_current_geography(settings)
    whole = municipality_locator(settings, geography, version)
    municipalities = geography[geography["level"] == "municipality"]
    corners = np.concatenate(
        [np.asarray(ring.coords) for ring in municipalities.geometry.exterior.explode()]
    )
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = municipalities.total_bounds
    lon = np.concatenate([rng.uniform(x0 - 0.1, x1 + 0.1, 5000), corners[:, 0]])
    lat = np.concatenate([rng.uniform(y0 - 0.1, y1 + 0.1, 5000), corners[:, 1]])
    hierarchy = hierarchy_columns(geography)
    grid_file = municipality_grid_file(settings, version)
    whole(lon[:1], lat[:1])  # the grid is built and kept on first use
    assert grid_file.exists()
    regions = sorted(set(hierarchy["region_code"]))
    assert len(regions) > 1
    for region in regions:
        codes = set(hierarchy.loc[hierarchy["region_code"] == region, "municipality_code"])
        expected = list(whole.restricted(codes)(lon, lat))
        assert list(region_locator(settings, version, codes)(lon, lat)) == expected
        assert len({c for c in expected if c is not None}) == len(codes)
    # no kept grid (a geography from before grids were kept): built from the whole country,
    # and kept again
    kept = grid_file.read_bytes()
    grid_file.unlink()
    codes = set(hierarchy.loc[hierarchy["region_code"] == regions[0], "municipality_code"])
    assert list(region_locator(settings, version, codes)(lon, lat)) == list(
        whole.restricted(codes)(lon, lat)
    )
    assert np.array_equal(np.load(grid_file)["owner"], np.load(io.BytesIO(kept))["owner"])
