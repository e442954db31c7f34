"""Boundaries to the canonical geography, and the point-in-polygon join on real-shaped units."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.domain.countries import CZECHIA
from transforms.domain.geography import (
    GeographyError,
    Population,
    UnitGrid,
    build_geography,
    hierarchy_columns,
    locate_points,
    repair_geometries,
)
from transforms.sources.boundaries import BoundaryFileError, read_boundaries
from transforms.sources.czso import read_population_csv
from transforms.sources.police_districts import read_police_districts_kml


@pytest.fixture(scope="module")
def sample_units(sample_dir: Path) -> gpd.GeoDataFrame:
    return read_boundaries(sample_dir / "boundaries" / "ruian_sample_5514.gpkg")


@pytest.fixture(scope="module")
def sample_population(sample_dir: Path) -> Population:
    data = (sample_dir / "population" / "130149_sample.csv").read_bytes()
    return read_population_csv(data, "test")


@pytest.fixture(scope="module")
def geography(sample_units: gpd.GeoDataFrame, sample_population: Population) -> gpd.GeoDataFrame:
    return build_geography(sample_units, sample_population, CZECHIA)


def test_krovak_boundaries_are_reprojected_to_wgs84(sample_units, geography) -> None:
    assert sample_units.crs.to_epsg() == 5514
    assert (sample_units.total_bounds[:2] < 0).all()  # S-JTSK: negative metres
    assert geography.crs.to_epsg() == 4326
    lon_min, lat_min, lon_max, lat_max = geography.total_bounds
    assert 14.3 < lon_min < lon_max < 15.8 and 50.2 < lat_min < lat_max < 51.1
    liberec = geography.set_index("code").loc["563889", "geometry"]
    assert liberec.contains(shapely.Point(15.0562, 50.7671))  # Liberec town hall


def test_hierarchy_codes_and_populations(geography) -> None:
    levels = geography["level"].value_counts().to_dict()
    assert levels == {"country": 1, "region": 2, "district": 5, "municipality": 24}
    assert geography["code"].map(type).eq(str).all()
    by_code = geography.set_index("code")
    assert (
        by_code.loc["CZ", "population"]
        == by_code.loc[by_code["level"] == "municipality", "population"].sum()
    )
    assert by_code.loc["3503", "parent_code"] == "78"
    links = hierarchy_columns(geography).set_index("municipality_code")
    assert links.loc["535419"].tolist() == ["3207", "27"]


def test_units_tile_without_overlap(geography) -> None:
    municipalities = geography[geography["level"] == "municipality"].geometry.values
    union_area = shapely.union_all(municipalities).area
    assert sum(g.area for g in municipalities) == pytest.approx(union_area, rel=1e-9)


def test_point_on_a_shared_border_goes_to_exactly_one_unit(geography) -> None:
    municipalities = geography[geography["level"] == "municipality"].reset_index(drop=True)
    a, b = municipalities.iloc[0], municipalities.iloc[1]
    border = shapely.intersection(a.geometry.boundary, b.geometry.boundary)
    assert not border.is_empty, "the first two units should be neighbours"
    on_border = (
        shapely.line_interpolate_point(shapely.get_geometry(border, 0), 0.5)
        if border.geom_type != "Point"
        else border
    )
    coords = shapely.get_coordinates(on_border)
    codes = locate_points(coords[:, 0], coords[:, 1], municipalities)
    assert codes.tolist() == [min(a["code"], b["code"])]


def test_points_outside_every_unit_are_not_placed(geography) -> None:
    municipalities = geography[geography["level"] == "municipality"]
    codes = locate_points(np.array([13.0, 15.0562]), np.array([49.0, 50.7671]), municipalities)
    assert codes.tolist() == [None, "563889"]


def test_invalid_polygon_is_repaired_and_empty_one_rejected() -> None:
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    units = gpd.GeoDataFrame(
        {
            "code": ["1", "2", "3"],
            "name": ["a", "b", "c"],
            "level": "municipality",
            "parent_code": "9",
        },
        geometry=[bowtie, shapely.box(2, 0, 3, 1), shapely.Polygon()],
        crs="EPSG:4326",
    )
    repaired, report = repair_geometries(units)
    assert report.repaired == ["1"]
    assert report.rejected == {"3": "no area left after repair"}
    assert repaired["code"].tolist() == ["1", "2"]
    assert repaired.geometry.is_valid.all()
    assert repaired.geometry.iloc[0].area == pytest.approx(0.5)


def test_boundary_file_without_crs_is_refused(tmp_path: Path, sample_dir: Path) -> None:
    path = tmp_path / "nocrs.gpkg"
    for layer in ("vusc", "okresy", "obce"):
        frame = pyogrio.read_dataframe(
            sample_dir / "boundaries" / "ruian_sample_5514.gpkg", layer=layer
        )
        pyogrio.write_dataframe(frame.set_crs(None, allow_override=True), path, layer=layer)
    with pytest.raises(BoundaryFileError, match="no coordinate reference system"):
        read_boundaries(path)


def test_boundary_file_in_another_crs_gives_the_same_geography(
    tmp_path: Path, sample_dir: Path, geography, sample_population
) -> None:
    path = tmp_path / "etrs.gpkg"
    for layer in ("vusc", "okresy", "obce"):
        frame = pyogrio.read_dataframe(
            sample_dir / "boundaries" / "ruian_sample_5514.gpkg", layer=layer
        )
        pyogrio.write_dataframe(frame.to_crs("EPSG:3035"), path, layer=layer)
    again = build_geography(read_boundaries(path), sample_population, CZECHIA)
    assert again["code"].tolist() == geography["code"].tolist()
    diff = shapely.hausdorff_distance(again.geometry.values, geography.geometry.values)
    assert diff.max() < 1e-6  # degrees: well under a metre


def test_broken_hierarchy_is_refused(sample_units, sample_population) -> None:
    units = sample_units.copy()
    units.loc[units["code"] == "563889", "parent_code"] = "9999"
    with pytest.raises(GeographyError, match="563889: parent '9999'"):
        build_geography(units, sample_population, CZECHIA)


def test_real_police_districts_and_real_points(shared_sources: Path) -> None:
    """527 real OOP polygons (non-nested, shared borders) and the 5,020 real police points."""
    districts = read_police_districts_kml(
        (shared_sources / "czech-crime" / "OOP_2000.kml").read_bytes()
    )
    assert len(districts) == 527
    assert districts["population_permanent"].sum() == 10_615_671
    assert districts.set_index("name").loc["OOP Chvaletice", "code"] == "170615"
    districts, _ = repair_geometries(districts)

    points = pyogrio.read_dataframe(shared_sources / "crimemappingdata" / "czechia_collisions.gpkg")
    codes = locate_points(points.geometry.x.to_numpy(), points.geometry.y.to_numpy(), districts)
    placed = pd.Series(codes).notna()
    assert placed.mean() > 0.99  # the KML is generalised: a few points fall in its gaps

    # a point on a border shared by two real districts goes to exactly one, the smaller code
    tree = shapely.STRtree(districts.geometry.values)
    left, right = tree.query(districts.geometry.values, predicate="touches")
    i, j = next(
        (i, j)
        for i, j in zip(left, right, strict=True)
        if districts["code"].iloc[i] != districts["code"].iloc[j]
    )
    border = shapely.intersection(
        districts.geometry.iloc[i].boundary, districts.geometry.iloc[j].boundary
    )
    x, y = shapely.get_coordinates(border)[0]
    found = locate_points(np.array([x]), np.array([y]), districts)
    hits = {
        districts["code"].iloc[k] for k in tree.query(shapely.Point(x, y), predicate="intersects")
    }
    assert found[0] == min(hits)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_reprojected_on_threads_is_to_crs(sample_units: gpd.GeoDataFrame, threads: int) -> None:
    """The vertices transformed in parts on threads: the very coordinates, columns and CRS
    geopandas' ``to_crs`` gives."""
    from transforms.domain.geography import reprojected

    moved = reprojected(sample_units, "EPSG:4326", threads)
    expected = sample_units.to_crs("EPSG:4326")
    assert moved.crs == expected.crs and list(moved.columns) == list(expected.columns)
    assert moved.geometry.name == expected.geometry.name
    assert (shapely.to_wkb(moved.geometry.values) == shapely.to_wkb(expected.geometry.values)).all()
    pd.testing.assert_frame_equal(moved.drop(columns="geometry"), expected.drop(columns="geometry"))
    assert sample_units.crs.to_epsg() == 5514  # the input is left as it was


@st.composite
def tilings_and_points(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """A random tiling (Voronoi cells of random seeds) and points: random ones, points exactly on
    unit borders and corners, outside every unit, and missing coordinates."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_units = draw(st.integers(1, 40))
    rng = np.random.default_rng(seed)
    extent = shapely.box(14.0, 49.0, 15.0, 49.6)
    seeds = shapely.multipoints(rng.uniform([14.0, 49.0], [15.0, 49.6], size=(n_units, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=extent))
    cells = shapely.intersection(cells, extent)
    cells = cells[~shapely.is_empty(cells)]
    codes = rng.permutation(np.arange(500000, 500000 + len(cells))).astype(str)
    units = gpd.GeoDataFrame({"code": codes}, geometry=cells, crs="EPSG:4326")
    inside = rng.uniform([13.9, 48.9], [15.1, 49.7], size=(draw(st.integers(0, 300)), 2))
    rings = shapely.get_exterior_ring(cells)
    on_border = shapely.get_coordinates(
        shapely.line_interpolate_point(rings, rng.uniform(0, 1, len(rings)), normalized=True)
    )
    corners = shapely.get_coordinates(rings)
    points = np.vstack([inside, on_border, corners, [[np.nan, np.nan], [20.0, 10.0]]])
    return units, points[:, 0], points[:, 1]


@settings(max_examples=60, deadline=None)
@given(tilings_and_points())
def test_the_grid_join_places_every_point_as_the_exact_test_does(case) -> None:
    """The grid answers most points by lookup, the exact test the rest by one of two tree
    queries (by the batch's size): each must give, point for point, what testing every point
    against every unit gives, on borders and corners (smallest code) and outside the units
    (None) included."""
    from transforms.domain.geography import PointLocator, _pairs_by_point_tree, _pairs_by_unit_tree

    units, lon, lat = case
    polygons = np.asarray(units.geometry.values)
    codes = units["code"].to_numpy(dtype=object)
    touches = shapely.intersects(polygons[None, :], shapely.points(lon, lat)[:, None])
    expected = [min(codes[row], default=None) for row in touches]
    locator = PointLocator(units)
    assert list(locator(lon, lat)) == expected
    assert list(locator.exact(lon, lat)) == expected
    every_pair = set(zip(*np.nonzero(touches), strict=True))
    for pairs in (
        _pairs_by_point_tree(lon, lat, polygons),
        _pairs_by_unit_tree(lon, lat, polygons, shapely.STRtree(polygons)),
    ):
        assert set(zip(*pairs, strict=True)) == every_pair


def _owners_by_cell_boxes(polygons: np.ndarray, grid: UnitGrid) -> np.ndarray:
    """The grid's definition tested on each cell's box: the one polygon that touches the
    closed cell and holds it in its interior, else ``OUTSIDE`` (touched by none) or
    ``BORDER``."""
    ix, iy = np.meshgrid(np.arange(grid.nx), np.arange(grid.ny))
    left, bottom = grid.x0 + ix.ravel() * grid.size, grid.y0 + iy.ravel() * grid.size
    boxes = shapely.box(left, bottom, left + grid.size, bottom + grid.size)
    poly_idx, cell_idx = shapely.STRtree(boxes).query(polygons, predicate="intersects")
    touching = np.bincount(cell_idx, minlength=len(boxes))
    owner = np.where(touching == 0, UnitGrid.OUTSIDE, UnitGrid.BORDER).astype(np.int32)
    alone = touching[cell_idx] == 1
    cell_idx, poly_idx = cell_idx[alone], poly_idx[alone]
    held = shapely.contains_properly(polygons[poly_idx], boxes[cell_idx])
    owner[cell_idx[held]] = poly_idx[held]
    return owner


@st.composite
def aligned_units(draw: st.DrawFn) -> np.ndarray:
    """Rectangles whose edges lie on grid lines (the grid starts at their bounds), one with a
    hole, and overlapping ones: the cases where edges run along cells' sides and corners."""
    columns, rows = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    width = draw(st.sampled_from([0.25, 0.1, 1 / 3]))
    boxes = [
        shapely.box(14 + i * width, 49 + j * width, 14 + (i + 1) * width, 49 + (j + 1) * width)
        for i in range(columns)
        for j in range(rows)
    ]
    if draw(st.booleans()):  # a hole in the first, filled by a unit of its own
        hole = shapely.box(14 + width / 4, 49 + width / 4, 14 + width / 2, 49 + width / 2)
        boxes = [shapely.difference(boxes[0], hole), hole, *boxes[1:]]
    if draw(st.booleans()):  # a unit over others (not a tiling: the cells under both are BORDER)
        boxes.append(shapely.box(14, 49, 14 + width * 1.5, 49 + width * 0.75))
    return np.array(boxes, dtype=object)


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(
        tilings_and_points().map(lambda case: np.asarray(case[0].geometry.values)),
        aligned_units(),
    ),
    st.sampled_from([32, 16, 2, 1]),
)
def test_the_grid_gives_each_cell_the_owner_its_box_has(polygons, cells_per_unit) -> None:
    """The grid is built from the polygons' edges, without a box per cell; every cell must get
    the owner the exact test on its box gives, edges along cell sides and through corners,
    holes and overlaps included. Only where an edge runs within rounding of a cell's side may
    the grid leave the cell to the exact test (``BORDER``) where the box, whose sides are
    rounded too, has an owner: ``owner_of`` sends the points that near a side to the exact
    test anyway."""
    grid = UnitGrid.build(polygons, cells_per_unit)
    assert grid.owner.dtype == np.int32 and len(grid.owner) == grid.nx * grid.ny
    by_box = _owners_by_cell_boxes(polygons, grid)
    differ = np.flatnonzero(grid.owner != by_box)
    assert (grid.owner[differ] == UnitGrid.BORDER).all()
    ix, iy = differ % grid.nx, differ // grid.nx
    left, bottom = grid.x0 + ix * grid.size, grid.y0 + iy * grid.size
    boxes = shapely.box(left, bottom, left + grid.size, bottom + grid.size)
    edges = shapely.union_all(shapely.boundary(polygons))
    assert (shapely.distance(boxes, edges) <= 1e-7 * grid.size).all()
