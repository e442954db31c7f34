"""The point locator's grid: kept beside its geography, and shared by the per-region tasks."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from testdata.national import NATIONAL_EXTENT, random_seeds, voronoi_units
from transforms.domain.geography import PointLocator, locate_points


def tiling(count: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    extent = (14.0, 49.0, 15.0, 50.0)
    cells = voronoi_units(random_seeds(rng, count, extent), extent, 40)
    codes = [f"{500000 + i}" for i in rng.permutation(count)]
    return gpd.GeoDataFrame({"code": codes}, geometry=cells, crs="EPSG:4326")


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(8, 40), st.data())
def test_a_restricted_locator_answers_as_one_built_on_the_subset(
    seed: int, count: int, data: st.DataObject
) -> None:
    units = tiling(count, seed)
    subset = set(data.draw(st.sets(st.sampled_from(list(units["code"])), min_size=1)))
    rng = np.random.default_rng(seed)
    points = random_seeds(rng, 3000, (13.9, 48.9, 15.1, 50.1))
    # vertices too: points exactly on shared borders and corners
    corners = np.unique(
        np.round(np.concatenate([np.asarray(c.exterior.coords) for c in units.geometry]), 9), axis=0
    )
    lon = np.concatenate([points[:, 0], corners[:, 0]])
    lat = np.concatenate([points[:, 1], corners[:, 1]])
    restricted = PointLocator(units).restricted(subset)(lon, lat)
    direct = locate_points(lon, lat, units[units["code"].isin(subset)])
    assert list(restricted) == list(direct)


def test_the_grid_is_built_once_and_read_back_from_its_file(tmp_path: Path) -> None:
    units = tiling(30, 3)
    grid_file = tmp_path / "grid.npz"
    rng = np.random.default_rng(4)
    lon, lat = random_seeds(rng, 5000, NATIONAL_EXTENT).T
    first = PointLocator(units, grid_file=grid_file)(lon, lat)
    assert grid_file.exists()
    again = PointLocator(units, grid_file=grid_file)
    assert list(again(lon, lat)) == list(first) == list(locate_points(lon, lat, units))
    assert np.array_equal(again.grid.owner, PointLocator(units).grid.owner)
