"""The canonical geography: one table of nested units, and the point-in-polygon join onto it.

Table columns: ``code`` (text, leading zeros kept), ``name``, ``level`` (country, region,
district, municipality), ``parent_code``, ``population``, ``geometry`` (WGS84, EPSG:4326, lon/lat).
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from transforms.domain.countries import CountryProfile
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.storage import write_bytes_atomic

WGS84 = "EPSG:4326"
LEVELS = ("country", "region", "district", "municipality")
PARENT_LEVEL = {"region": "country", "district": "region", "municipality": "district"}


@dataclass(frozen=True)
class Population:
    """People living in each municipality (code → persons) at a reference date."""

    by_municipality: dict[str, int]
    reference_date: str
    basis: str  # which population: e.g. "usual residents", "permanent residents"


class GeographyError(PermanentFailure, ValueError):
    """The boundaries do not form a usable hierarchy."""


@dataclass
class RepairReport:
    repaired: list[str]  # codes whose geometry was invalid and was repaired with make_valid
    rejected: dict[str, str]  # code -> reason, for geometries that could not be used


def repair_geometries(units: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, RepairReport]:
    """Make every geometry valid and polygonal; reject empty or non-areal ones with a reason."""
    geometry = units.geometry.values
    invalid = ~shapely.is_valid(geometry)
    fixed = geometry.copy()
    if invalid.any():
        fixed[invalid] = shapely.make_valid(geometry[invalid])
    # make_valid may return collections with stray lines or points: keep the areal part only.
    fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
    rejected = {}
    for code, geom in zip(units["code"], fixed, strict=True):
        if geom is None or shapely.is_empty(geom):
            rejected[str(code)] = "no area left after repair"
    out = units.copy()
    out = out.set_geometry(gpd.GeoSeries(fixed, crs=units.crs, index=units.index))
    out = out[~out["code"].isin(list(rejected))]
    return out, RepairReport(sorted(units.loc[invalid, "code"].astype(str)), rejected)


def _polygonal(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    if geom is None:
        return None
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    parts = [
        g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon | shapely.MultiPolygon)
    ]
    return shapely.union_all(parts) if parts else None


def build_geography(
    units: gpd.GeoDataFrame, population: Population, country: CountryProfile
) -> gpd.GeoDataFrame:
    """Units in any CRS → the canonical table in WGS84 with a country row and populations."""
    if units.crs is None:
        raise GeographyError("boundaries have no CRS: cannot reproject to WGS84")
    units = reprojected(units, WGS84)
    duplicated = units["code"].duplicated()
    if duplicated.any():
        raise GeographyError(f"duplicate unit codes: {sorted(units.loc[duplicated, 'code'])[:5]}")
    regions = units[units["level"] == "region"]
    country_row = gpd.GeoDataFrame(
        {
            "code": [country.code],
            "name": [country.name],
            "level": ["country"],
            "parent_code": [None],
        },
        geometry=[shapely.union_all(regions.geometry.values)],
        crs=WGS84,
    )
    units = units.copy()
    units.loc[units["level"] == "region", "parent_code"] = country.code
    table = gpd.GeoDataFrame(pd.concat([country_row, units], ignore_index=True), crs=WGS84)
    _check_hierarchy(table)
    table["population"] = _population_by_unit(table, population)
    order = table["level"].map({level: i for i, level in enumerate(LEVELS)})
    table = table.assign(_order=order).sort_values(["_order", "code"], ignore_index=True)
    return table[["code", "name", "level", "parent_code", "population", "geometry"]]


def reprojected(units: gpd.GeoDataFrame, crs: str, threads: int = 2) -> gpd.GeoDataFrame:
    """``units.to_crs(crs)``, the same coordinates, with the vertices transformed in parts on
    ``threads`` threads, each with a transformer of its own: PROJ runs without the GIL."""
    geometry = np.asarray(units.geometry.values)
    if units.crs is None or units.crs.equals(crs) or shapely.has_z(geometry).any():
        return units.to_crs(crs)
    from pyproj import Transformer

    coords = shapely.get_coordinates(geometry)

    def transform(part: np.ndarray) -> np.ndarray:
        transformer = Transformer.from_crs(units.crs, crs, always_xy=True)
        return np.column_stack(transformer.transform(part[:, 0], part[:, 1]))

    with ThreadPoolExecutor(threads) as pool:
        moved = np.concatenate(list(pool.map(transform, np.array_split(coords, threads))))
    moved_units = units.copy()
    moved_units.geometry = gpd.GeoSeries(
        shapely.set_coordinates(geometry.copy(), moved), index=units.index, crs=crs
    )
    return moved_units


def _check_hierarchy(table: pd.DataFrame) -> None:
    level_of = dict(zip(table["code"], table["level"], strict=True))
    for code, level, parent in zip(
        table["code"], table["level"], table["parent_code"], strict=True
    ):
        if level == "country":
            continue
        if level_of.get(parent) != PARENT_LEVEL[level]:
            raise GeographyError(
                f"{level} {code}: parent {parent!r} is not a {PARENT_LEVEL[level]} in the file"
            )


def _population_by_unit(table: pd.DataFrame, population: Population) -> pd.Series:
    """Municipal populations from ČSÚ; every higher level is the sum of its municipalities."""
    ancestors = ancestor_codes(table)
    municipalities = table.loc[table["level"] == "municipality", "code"]
    totals: dict[str, int] = {}
    for code in municipalities:
        people = population.by_municipality.get(code)
        if people is None:
            continue
        for unit in [code, *ancestors[code]]:
            totals[unit] = totals.get(unit, 0) + int(people)
    return table["code"].map(totals).astype("Int64")


def ancestor_codes(table: pd.DataFrame) -> dict[str, list[str]]:
    """For every unit, its parent, grandparent, … up to the country."""
    # as Python lists: iterating an Arrow-backed column boxes each value
    codes = table["code"].tolist()
    parent = dict(zip(codes, table["parent_code"].tolist(), strict=True))
    chains: dict[str, list[str]] = {}
    for code in codes:
        chain: list[str] = []
        current = parent.get(code)
        while current is not None and not pd.isna(current):
            chain.append(current)
            current = parent.get(current)
        chains[code] = chain
    return chains


def hierarchy_columns(geography: pd.DataFrame) -> pd.DataFrame:
    """One row per municipality: ``municipality_code, district_code, region_code``."""
    level_of = dict(zip(geography["code"].tolist(), geography["level"].tolist(), strict=True))
    rows = []
    for code, chain in ancestor_codes(geography).items():
        if level_of[code] != "municipality":
            continue
        by_level = {level_of[c]: c for c in chain}
        rows.append(
            {
                "municipality_code": code,
                "district_code": by_level.get("district"),
                "region_code": by_level.get("region"),
            }
        )
    return pd.DataFrame(rows, columns=["municipality_code", "district_code", "region_code"])


def locate_points(lon: np.ndarray, lat: np.ndarray, units: gpd.GeoDataFrame) -> np.ndarray:
    """The code of the unit holding each point, or None (see :class:`PointLocator`).

    Parameters
    ----------
    lon, lat : arrays of float
        The points in WGS84 degrees (EPSG:4326, longitude east, latitude north).
    units : GeoDataFrame
        Polygons in the same CRS with a ``code`` column.

    Returns
    -------
    array of object
        Per point, the ``code`` of its unit, or None outside every unit.
    """
    return PointLocator(units)(lon, lat)


class PointLocator:
    """Places points in units; built once per geography, called per batch of points.

    Units tile the country, so a point exactly on a shared border touches two of them: it goes to
    the one with the smallest code, a rule that does not depend on file order.

    Fast on coordinate arrays: a regular grid over the units (:class:`UnitGrid`) answers every
    point whose grid cell lies wholly inside one unit, or outside all, by an array lookup; only
    the points in cells that a border crosses get the exact test (one STRtree query). The result
    is that of the exact test for every point.
    """

    def __init__(
        self, units: gpd.GeoDataFrame, grid: UnitGrid | None = None, grid_file: Path | None = None
    ):
        self.units = units
        self.codes = units["code"].to_numpy(dtype=object)
        self.polygons = np.asarray(units.geometry.values)
        self._grid = grid
        self._grid_file = grid_file

    @property
    def grid(self) -> UnitGrid:
        """Built on first use; with a ``grid_file``, read from it or built once and kept there
        (beside the geography it was built from), not once per task."""
        if self._grid is None:
            if self._grid_file is not None and self._grid_file.exists():
                self._grid = UnitGrid.load(self._grid_file)
            else:
                self._grid = UnitGrid.build(self.polygons)
                if self._grid_file is not None:
                    self._grid.save(self._grid_file)
        return self._grid

    def restricted(self, codes: set[str]) -> PointLocator:
        """The same grid for a subset of the units: points elsewhere are in none (a region's
        placement task). Gives what a locator built on the subset gives."""
        keep = unit_mask(self.codes, codes)
        return PointLocator(self.units[keep], self.grid.restricted(keep))

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The unit of each point: ``lon``, ``lat`` in the units' CRS (WGS84 degrees in the
        pipeline); per point the unit's code, or None outside every unit."""
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        result = np.full(len(lon), None, dtype=object)
        if len(lon) == 0 or len(self.codes) == 0:
            return result
        owner = self.grid.owner_of(lon, lat)
        inside = owner >= 0
        result[inside] = self.codes[owner[inside]]
        exact = np.flatnonzero(owner == UnitGrid.BORDER)
        result[exact] = self.exact(lon[exact], lat[exact])
        return result

    def exact(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The exact test alone, for the points the grid leaves to it: the code of the unit
        each point touches, the smallest where it touches several, None where none.

        A batch of fewer points than half the units (a month's border points) asks the units'
        tree, built once, for each point's candidates and tests them on the prepared polygons;
        a larger batch builds a tree of its points and queries it with the units, each polygon
        then tested against all its candidates at once. Each way is the quicker for its
        batches."""
        # prepared once for every batch of points (GEOS would prepare each polygon per query)
        shapely.prepare(self.polygons)
        if len(lon) < len(self.polygons) // 2:
            point, unit = _pairs_by_unit_tree(lon, lat, self.polygons, self.unit_tree)
        else:
            point, unit = _pairs_by_point_tree(lon, lat, self.polygons)
        result = np.full(len(lon), None, dtype=object)
        if len(point) == 0:
            return result
        # each point's first unit in code order: sort by (point, code rank), take the first
        order = np.lexsort((self.code_rank[unit], point))
        point, unit = point[order], unit[order]
        first = np.concatenate([[True], point[1:] != point[:-1]])
        result[point[first]] = self.codes[unit[first]]
        return result

    @cached_property
    def unit_tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.polygons)

    @cached_property
    def code_rank(self) -> np.ndarray:
        """Each unit's place in the order of codes (sorting 6,258 codes takes a millisecond:
        once, not per batch)."""
        rank = np.empty(len(self.codes), dtype=np.int64)
        rank[np.argsort(self.codes.astype(str), kind="stable")] = np.arange(len(self.codes))
        return rank


def unit_mask(units: np.ndarray, codes: set[str]) -> np.ndarray:
    """Which of ``units`` (codes) are among ``codes``: by hashing, not ``np.isin``'s sort of
    text."""
    return np.fromiter((str(u) in codes for u in units), dtype=bool, count=len(units))


def _pairs_by_unit_tree(
    lon: np.ndarray, lat: np.ndarray, polygons: np.ndarray, tree: shapely.STRtree
) -> tuple[np.ndarray, np.ndarray]:
    """Every (point, polygon) pair that touch (interior or boundary), by the polygons' tree:
    the candidates whose box holds a point, then the test on coordinates."""
    point, unit = tree.query(shapely.points(lon, lat))
    touch = shapely.intersects_xy(polygons[unit], lon[point], lat[point])
    return point[touch], unit[touch]


def _pairs_by_point_tree(
    lon: np.ndarray, lat: np.ndarray, polygons: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The same pairs by a tree over the points queried with the polygons (the predicate is
    symmetric: the same pairs)."""
    unit, point = shapely.STRtree(shapely.points(lon, lat)).query(polygons, predicate="intersects")
    return point, unit


@dataclass(frozen=True)
class UnitGrid:
    """A regular lon/lat grid over polygons: per cell, the one polygon that holds the whole cell
    in its interior (so no other polygon of a tiling can hold a point of it), ``OUTSIDE`` when no
    polygon touches the cell, or ``BORDER`` (the exact test decides)."""

    BORDER = -1
    OUTSIDE = -2

    x0: float
    y0: float
    size: float
    nx: int
    ny: int
    owner: np.ndarray  # int32 per cell, row-major (iy * nx + ix)

    @classmethod
    def build(cls, polygons: np.ndarray, cells_per_unit: int = 32) -> UnitGrid:
        """Cells about 1/``cells_per_unit`` of a typical unit's width, and at most about
        8,000 across the width and height together: most points then fall in cells inside one
        unit, and few need the exact test (nationally, 7.1 million cells of one byte each)."""
        bounds = shapely.bounds(polygons)
        x0, y0 = float(np.nanmin(bounds[:, 0])), float(np.nanmin(bounds[:, 1]))
        x1, y1 = float(np.nanmax(bounds[:, 2])), float(np.nanmax(bounds[:, 3]))
        typical = float(np.sqrt(np.median(shapely.area(polygons))))
        size = max(typical / cells_per_unit, (x1 - x0 + y1 - y0) / 8000, 1e-9)
        nx = max(1, int(np.ceil((x1 - x0) / size)))
        ny = max(1, int(np.ceil((y1 - y0) / size)))
        return cls(x0, y0, size, nx, ny, _cell_owners(polygons, x0, y0, size, nx, ny))

    def save(self, path: Path) -> None:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            frame=np.array([self.x0, self.y0, self.size, self.nx, self.ny], dtype="float64"),
            owner=self.owner,
        )
        write_bytes_atomic(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> UnitGrid:
        with np.load(path) as stored:
            x0, y0, size, nx, ny = stored["frame"].tolist()
            return cls(x0, y0, size, int(nx), int(ny), stored["owner"])

    def restricted(self, keep: np.ndarray) -> UnitGrid:
        """The grid of the units ``keep`` selects (a mask over the units it was built from, in
        their order), numbered among themselves: the others' cells are outside."""
        renumber = np.full(len(keep), self.OUTSIDE, dtype=np.int32)
        renumber[keep] = np.arange(int(keep.sum()), dtype=np.int32)
        owner = np.where(self.owner >= 0, renumber[np.maximum(self.owner, 0)], self.owner)
        return UnitGrid(self.x0, self.y0, self.size, self.nx, self.ny, owner)

    def owner_of(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Per point (``lon``, ``lat`` in the polygons' CRS): the index of its polygon,
        ``OUTSIDE`` or ``BORDER`` (decide exactly)."""
        with np.errstate(invalid="ignore"):
            gx, gy = (lon - self.x0) / self.size, (lat - self.y0) / self.size
            fx, fy = np.floor(gx), np.floor(gy)
            # within rounding of a cell's edge the cell is uncertain: the exact test decides
            clear = (np.minimum(gx - fx, fx + 1 - gx) > 1e-7) & (
                np.minimum(gy - fy, fy + 1 - gy) > 1e-7
            )
        on_grid = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        cell = np.where(on_grid & clear, fy * self.nx + fx, 0).astype(np.int64)
        owner = np.where(on_grid & clear, self.owner[cell], self.BORDER)
        # clearly off the grid, which covers every polygon, or no coordinates: in no unit
        owner[(clear & ~on_grid) | np.isnan(lon) | np.isnan(lat)] = self.OUTSIDE
        return owner


def _cell_owners(
    polygons: np.ndarray, x0: float, y0: float, size: float, nx: int, ny: int
) -> np.ndarray:
    """The owner (see :class:`UnitGrid`) of every cell, row-major, from the polygons' edges
    alone, in grid units (a cell is ``[i, i + 1)``), without a geometry per cell (millions of
    cell boxes, each built and tested, would be the slow way):

    - a cell is ``BORDER`` when an edge passes through or touches it: an edge goes from cell
      to cell across grid lines, so the cells around its ends and around each point where it
      crosses a line are all the cells it meets (each point marks the cells within ``_NEAR``
      of it, so a point on a line or a corner marks the cells on both sides);
    - any other cell lies wholly inside the same polygons as its centre: the even-odd rule
      along each row's centre line gives, per polygon, the spans of cell centres inside it.
      Inside exactly one polygon, it is that polygon's; inside none, ``OUTSIDE``; inside
      several (overlapping polygons), ``BORDER``.

    This gives the cells the exact test on each cell's box gives (a property test compares
    them): a cell a polygon holds in its interior, touched by no other polygon."""
    parts, polygon_of_part = shapely.get_parts(polygons, return_index=True)
    rings, part_of_ring = shapely.get_rings(parts, return_index=True)
    coords, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
    gx, gy = (coords[:, 0] - x0) / size, (coords[:, 1] - y0) / size
    # an edge joins two consecutive vertices of one ring (a ring repeats its first vertex last)
    edge = np.flatnonzero(ring_of_vertex[:-1] == ring_of_vertex[1:])
    polygon = polygon_of_part[part_of_ring[ring_of_vertex[edge]]]
    ax, ay, bx, by = gx[edge], gy[edge], gx[edge + 1], gy[edge + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        # an edge parallel to the lines crosses none of them: its slope is never used
        x_line, y_there = _line_crossings(ax, bx, ay, (by - ay) / (bx - ax))
        y_line, x_there = _line_crossings(ay, by, ax, (bx - ax) / (by - ay))
    border = np.zeros(nx * ny, dtype=bool)
    marked_x = np.concatenate([gx, x_line, x_there])  # vertices and crossings
    marked_y = np.concatenate([gy, y_there, y_line])
    for dx in (-_NEAR, _NEAR):
        ix = np.clip(np.floor(marked_x + dx), 0, nx - 1).astype(np.int64)
        for dy in (-_NEAR, _NEAR):
            iy = np.clip(np.floor(marked_y + dy), 0, ny - 1).astype(np.int64)
            border[iy * nx + ix] = True
    # the even-odd rule on row r's centre line y = r + 0.5: an edge crosses it when one end is
    # below it and the other on or above it (the rule a vertex on the line needs to count once)
    low, high = np.minimum(ay, by) - 0.5, np.maximum(ay, by) - 0.5
    first_row = np.maximum(np.ceil(low), 0).astype(np.int64)
    rows = np.maximum(np.minimum(np.ceil(high), ny).astype(np.int64) - first_row, 0)
    crossing, step = _repeated(rows)
    row = first_row[crossing] + step
    x = ax[crossing] + (row + 0.5 - ay[crossing]) * (bx - ax)[crossing] / (by - ay)[crossing]
    # each polygon's crossings of a row, left to right, pair up into the spans inside it
    span = polygon[crossing].astype(np.int64) * ny + row
    order = np.lexsort((x, span))
    span, x = span[order], x[order]
    if not np.array_equal(span[0::2], span[1::2]):  # closed rings cross each line evenly
        raise GeographyError("a polygon's rings are not closed: cannot build the point grid")
    span = span[0::2]
    enter, leave = x[0::2], x[1::2]
    first = np.maximum(np.ceil(enter - 0.5), 0).astype(np.int64)  # centres i + 0.5 inside
    last = np.minimum(np.floor(leave - 0.5), nx - 1).astype(np.int64)
    held = first <= last
    inside, row = span[held] // ny, span[held] % ny
    start, stop = row * nx + first[held], row * nx + last[held] + 1
    # per cell, how many spans cover its centre and the sum of their polygons (the one
    # polygon's own number where only one does): running sums of where spans start and stop,
    # in 32-bit integers (a sum that wraps around is exact again where one span covers)
    count = np.zeros(nx * ny + 1, dtype=np.int32)
    total = np.zeros(nx * ny + 1, dtype=np.int32)
    np.add.at(count, start, 1)
    np.add.at(count, stop, -1)
    np.add.at(total, start, inside.astype(np.int32))
    np.add.at(total, stop, -inside.astype(np.int32))
    np.cumsum(count, out=count)
    np.cumsum(total, out=total)
    owner = np.where(count == 1, total, np.int32(UnitGrid.BORDER))
    owner = np.where(count == 0, np.int32(UnitGrid.OUTSIDE), owner)[:-1]
    owner[border] = UnitGrid.BORDER
    return owner


# how near (in cells) an edge must come to a cell to touch it: far above the rounding of grid
# units (about 1e-13 here), far below owner_of's margin of uncertainty (1e-7)
_NEAR = 1e-9


def _line_crossings(
    a: np.ndarray, b: np.ndarray, other: np.ndarray, slope: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where edges from ``a`` to ``b`` (with ``other`` the other coordinate at ``a``, changing
    by ``slope`` per unit of ``a``) cross the grid lines ``a = L``, L whole, min < L <= max:
    each crossing's line and other coordinate."""
    first = np.floor(np.minimum(a, b)) + 1
    count = np.maximum(np.floor(np.maximum(a, b)) - first + 1, 0).astype(np.int64)
    edge, step = _repeated(count)
    line = first[edge] + step
    return line, other[edge] + (line - a[edge]) * slope[edge]


def _repeated(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each index ``i`` repeated ``counts[i]`` times, with the repeat's number (0, 1, …)."""
    index = np.repeat(np.arange(len(counts)), counts)
    return index, np.arange(len(index)) - (np.cumsum(counts) - counts)[index]
