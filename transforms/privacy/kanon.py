"""The k-anonymous incident file for point maps.

Quasi-identifiers: location, month, offence group. Each incident is published at the centroid of
the finest ETRS89-LAEA grid cell (EPSG:3035, INSPIRE cell codes such as
``CRS3035RES1000mN3000000E4500000``) in which its (cell, month, group) class still holds at least
k incidents not already published at a finer level; failing every grid level, at its
municipality's representative point if that class holds k; failing that, it is left out of the
point file (and still counted in the tables). Because a level takes whole classes, every published
(location, month, group) class holds at least k incidents.

Only records of (municipality, month, offence group) cells that the tables publish are placed:
a point then tells where within a published count its records lie, and nothing about a hidden
cell (a hidden cell's records are in no point, and which records are left out follows from the
published cells alone). The offence group of a point is the group's figure the tables publish at
every level, its offences that are not sensitive.

Never published: the true coordinate, the day or time, any free text, the police id, and any
offence the policy marks as sensitive (such a record is left out; the incident's other offences
are placed like any other: they are counted in the published group cell, and a point says
nothing of what else the incident held).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
from pyproj import Transformer

from transforms.domain.geography import WGS84
from transforms.plumbing.columns import text_column, with_text_decoded
from transforms.privacy.policy import DisclosurePolicy

LAEA = "EPSG:3035"
MUNICIPALITY = "municipality"
POINT_COLUMNS = ["cell_code", "level", "month", "offence_group", "offence_group_name", "lon", "lat"]
POINT_TEXT_COLUMNS = ["cell_code", "level", "month", "offence_group_name"]


@dataclass(frozen=True)
class PointLoss:
    """What the point file loses: records of published cells per level and left out (their
    class under k everywhere); records of hidden cells and sensitive records, never placed.
    Losses of disjoint months add up (classes never span two months)."""

    k: int
    records_by_level: dict[str, int]
    suppressed_records: int
    sensitive_rows_removed: int
    records_in_hidden_cells: int = 0

    def __add__(self, other: PointLoss) -> PointLoss:
        levels = dict(self.records_by_level)
        for level, n in other.records_by_level.items():
            levels[level] = levels.get(level, 0) + n
        return PointLoss(
            self.k,
            levels,
            self.suppressed_records + other.suppressed_records,
            self.sensitive_rows_removed + other.sensitive_rows_removed,
            self.records_in_hidden_cells + other.records_in_hidden_cells,
        )

    def report(self) -> dict[str, object]:
        """What may be published: the records of published cells, by level. A function of the
        published cells' records alone (the numbers of sensitive records and of records in
        hidden cells are sums of hidden figures: :meth:`internal_report`)."""
        total = sum(self.records_by_level.values()) + self.suppressed_records
        return {
            "k": self.k,
            "records_of_published_cells": total,
            "records_by_level": self.records_by_level,
            "share_by_level": {
                level: round(n / total, 6) if total else 0.0
                for level, n in self.records_by_level.items()
            },
            "suppressed_records": self.suppressed_records,
            "suppressed_share": round(self.suppressed_records / total, 6) if total else 0.0,
        }

    def internal_report(self) -> dict[str, object]:
        """:meth:`report` and what stays with the operator: the sensitive records and the
        records of hidden cells, which no point shows."""
        return self.report() | {
            "sensitive_rows_removed": self.sensitive_rows_removed,
            "records_in_hidden_cells": self.records_in_hidden_cells,
        }


@dataclass
class PointRelease:
    # POINT_COLUMNS, sorted by cell, month, group; the point is (lon, lat): a geometry column
    # is built when a file is written (a decade's 10 million shapely points take gigabytes)
    points: pd.DataFrame
    counts: PointLoss

    @property
    def loss(self) -> dict[str, object]:
        """Information loss, as published: share per level, left out under k."""
        return self.counts.report()


def point_classes(points: pa.Table) -> pd.DataFrame:
    """One row per k-anonymous class (location, month, offence group) with its number of
    ``records``, sorted: what a web map draws, a feature per class instead of one per record
    stacked on the same centroid (about a seventh of the features on a national year).
    ``points``: ``POINT_COLUMNS``, strings plain or dictionary-encoded, a row per record or
    (as a release publishes them) per class with its ``records``."""
    per_class = "records" in points.column_names
    counted = (
        points.select([*POINT_COLUMNS, "records"] if per_class else POINT_COLUMNS)
        .unify_dictionaries()
        .group_by(POINT_COLUMNS, use_threads=False)
        .aggregate([("records", "sum") if per_class else ([], "count_all")])
        .rename_columns([*POINT_COLUMNS, "records"])
    )
    classes = with_text_decoded(counted).to_pandas()
    return classes.sort_values(POINT_COLUMNS, kind="stable", ignore_index=True)


def cell_code(resolution: int, northing: np.ndarray, easting: np.ndarray) -> np.ndarray:
    """INSPIRE/GEOSTAT grid cell codes (``CRS3035RES250mN…E…``).

    Parameters
    ----------
    resolution : int
        The cell's side in metres.
    northing, easting : arrays of float
        The cell's lower-left corner in metres of ETRS89-LAEA (EPSG:3035).
    """
    north = northing.astype(np.int64).astype(str)
    east = easting.astype(np.int64).astype(str)
    prefix = f"CRS3035RES{resolution}mN"
    return np.char.add(np.char.add(np.char.add(prefix, north), "E"), east)


def protect_incidents(
    incidents: pd.DataFrame,
    municipalities: gpd.GeoDataFrame,
    policy: DisclosurePolicy,
    sensitive_offences: Iterable[int],
    group_names: dict[int, str],
    published_cells: pd.DataFrame | None = None,
    with_municipality: bool = False,
) -> PointRelease:
    """The k-anonymous incident points: one point per incident and offence group, at the
    finest grid cell (then the municipality) where at least k records share the place, month
    and group; the rest left out.

    Parameters
    ----------
    incidents : DataFrame
        Counted canonical rows (``incident_id, offence_code, offence_group, reported_month,
        lon, lat, municipality_code``), ``lon``/``lat`` in WGS84 degrees (EPSG:4326).
    municipalities : GeoDataFrame
        The municipality polygons (WGS84), whose representative points stand for the
        municipality level.
    policy : DisclosurePolicy
        ``k`` and the grid sizes (metres of ETRS89-LAEA, EPSG:3035).
    sensitive_offences : offence codes never placed.
    group_names : offence group code → name, for the published rows.
    published_cells : DataFrame, optional
        The (``municipality_code``, ``reported_month``, ``offence_group``) cells the tables
        publish (the group's offences that are not sensitive); records of any other cell are
        not placed. None: every cell (for tests of the generalisation alone).
    with_municipality : bool
        Add each point's ``municipality_code`` (never published: a contract's package asks
        which classes hold records of more than one place, ``transforms.contracts.package``).

    Returns
    -------
    PointRelease
        The points (a record count per class, lon/lat of the cell centre in WGS84) and what the
        generalisation cost, by level.
    """
    k = policy.incidents.k
    sensitive = {int(c) for c in sensitive_offences}
    is_sensitive = incidents["offence_code"].isin(list(sensitive)).to_numpy()
    removed_sensitive = int(is_sensitive.sum())
    records = incidents[~is_sensitive].drop_duplicates(["incident_id", "offence_group"])[
        ["offence_group", "reported_month", "lon", "lat", "municipality_code"]
    ]
    in_published = _in_cells(records, published_cells)
    in_hidden = int((~in_published).sum())
    records = records[in_published].reset_index(drop=True)
    x, y = _transformer(WGS84, LAEA).transform(records["lon"].to_numpy(), records["lat"].to_numpy())
    sizes = list(policy.incidents.grid_levels_m)
    levels = [f"{size}m" for size in sizes] + [MUNICIPALITY]
    # each record's place as integers: its level and, on a grid, its cell's corner (metres)
    level = np.full(len(records), -1, dtype=np.int64)
    east = np.zeros(len(records), dtype=np.int64)
    north = np.zeros(len(records), dtype=np.int64)
    remaining = np.ones(len(records), dtype=bool)
    month_id, months = _ids(records["reported_month"])
    group = records["offence_group"].to_numpy()
    month_group = _month_group_ids(month_id, group)
    for number, size in enumerate(sizes):
        cell_east = (np.floor(x / size) * size).astype(np.int64)
        cell_north = (np.floor(y / size) * size).astype(np.int64)
        chosen = _whole_classes(_cell_ids(cell_east, cell_north, size), month_group, remaining, k)
        level[chosen] = number
        east[chosen] = cell_east[chosen]
        north[chosen] = cell_north[chosen]
        remaining &= ~chosen
    lon = np.full(len(records), np.nan)
    lat = np.full(len(records), np.nan)
    gridded = ~remaining
    # each cell's centre transformed once: a year's million records share far fewer cells
    centre_of, corners = pd.factorize(_packed_places(level, east, north)[gridded])
    corner_level, corner_east, corner_north = _unpacked_places(corners)
    half = np.asarray(sizes, dtype=np.float64)[corner_level] / 2
    cell_lon, cell_lat = _transformer(LAEA, WGS84).transform(
        corner_east + half, corner_north + half
    )
    lon[gridded], lat[gridded] = cell_lon[centre_of], cell_lat[centre_of]
    municipal, municipal_codes = _ids(records["municipality_code"])
    if policy.incidents.municipality_fallback and remaining.any():
        chosen = _whole_classes(municipal, month_group, remaining, k)
        anchors = municipalities.set_index("code").geometry.representative_point()
        level[chosen] = len(sizes)
        points = anchors.reindex(np.asarray(municipal_codes, dtype=object)[municipal[chosen]])
        lon[chosen], lat[chosen] = points.x.to_numpy(), points.y.to_numpy()
        remaining &= ~chosen
    published = np.flatnonzero(~remaining)
    cell, cell_codes = _cell_codes(
        level[published], east[published], north[published], municipal[published], sizes,
        np.asarray(municipal_codes, dtype=object),
    )  # fmt: skip
    month_rank = _ranks(np.asarray(months, dtype=object))[month_id[published]]
    # by cell code, month and group, ties in record order (as a stable sort of the strings)
    order = np.lexsort((group[published], month_rank, _ranks(cell_codes)[cell]))
    rows = published[order]
    frame = pd.DataFrame(
        {
            "cell_code": text_column(cell_codes, cell[order]),
            "level": text_column(np.asarray(levels, dtype=object), level[rows]),
            "month": text_column(np.asarray(months, dtype=object), month_id[rows]),
            "offence_group": group[rows].astype("int32"),
            "offence_group_name": _names(group[rows], group_names),
            "lon": np.round(lon[rows], 6),
            "lat": np.round(lat[rows], 6),
        }
    )
    if with_municipality:
        frame["municipality_code"] = text_column(
            np.asarray(municipal_codes, dtype=object), municipal[rows]
        )
    shares = {name: int((level == number).sum()) for number, name in enumerate(levels)}
    loss = PointLoss(k, shares, int(remaining.sum()), removed_sensitive, in_hidden)
    return PointRelease(frame, loss)


CELL_KEY = ["municipality_code", "reported_month", "offence_group"]


def _in_cells(records: pd.DataFrame, cells: pd.DataFrame | None) -> np.ndarray:
    """Per record: its (municipality, month, group) is one of ``cells`` (all, without cells)."""
    if cells is None:
        return np.ones(len(records), dtype=bool)
    keys = pd.MultiIndex.from_arrays(
        [records[c].astype(str).to_numpy() for c in CELL_KEY], names=CELL_KEY
    )
    allowed = pd.MultiIndex.from_arrays(
        [cells[c].astype(str).to_numpy() for c in CELL_KEY], names=CELL_KEY
    )
    return np.asarray(keys.isin(allowed))


@cache
def _transformer(source: str, target: str) -> Transformer:
    """One transformer per pair of systems and process: building one looks it up in PROJ's
    database (a tenth of a second, once a year and twice in a decade's staging)."""
    return Transformer.from_crs(source, target, always_xy=True)


def _names(codes: np.ndarray, names: dict[int, str]) -> Any:
    """Each code's name (missing where it has none) as a text column: a dozen distinct names
    spelled once, not a Python string per record."""
    ids, distinct = pd.factorize(codes)
    return text_column([names.get(int(code)) for code in distinct], ids)


def _ids(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """An integer per row and the distinct values they stand for (categories as they are)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(np.int64), np.asarray(values.cat.categories, object)
    ids, uniques = pd.factorize(values)
    return ids.astype(np.int64), np.asarray(uniques, dtype=object)


def _month_group_ids(month_id: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One integer per (month, offence group) pair."""
    group_id, groups = pd.factorize(group)
    return month_id * max(len(groups), 1) + group_id


def _cell_codes(
    level: np.ndarray,
    east: np.ndarray,
    north: np.ndarray,
    municipal: np.ndarray,
    sizes: list[int],
    municipal_codes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each published record's location code, as an index into the distinct codes: INSPIRE
    cell codes are spelled once per cell, not once per record."""
    on_grid = level < len(sizes)
    # a municipality's place is its number
    places = _packed_places(level, np.where(on_grid, east, 0), np.where(on_grid, north, municipal))
    cell, distinct = pd.factorize(places)
    number, cell_east, cell_north = _unpacked_places(distinct)
    codes = np.empty(len(distinct), dtype=object)
    for n, size in enumerate(sizes):
        at = number == n
        codes[at] = cell_code(size, cell_north[at], cell_east[at])
    in_municipality = number == len(sizes)
    codes[in_municipality] = municipal_codes[cell_north[in_municipality]]
    return cell.astype(np.int64), codes


PLACE_BITS = 28  # metres of a cell corner's easting or northing, or a municipality's number


def _packed_places(level: np.ndarray, east: np.ndarray, north: np.ndarray) -> np.ndarray:
    """Each record's place (its level and a cell's corner) as one integer."""
    return level << (2 * PLACE_BITS) | east << PLACE_BITS | north


def _unpacked_places(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The level, easting and northing of each of :func:`_packed_places`' integers."""
    packed = np.asarray(packed, dtype=np.int64)
    low = (1 << PLACE_BITS) - 1
    return packed >> (2 * PLACE_BITS), (packed >> PLACE_BITS) & low, packed & low


def _ranks(values: np.ndarray) -> np.ndarray:
    """Each value's position in sorted order."""
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return ranks


def _cell_ids(east: np.ndarray, north: np.ndarray, size: int) -> np.ndarray:
    """One small non-negative integer per grid cell (corners ``east``, ``north``, in metres):
    its position, row by row, in the box of cells the records span."""
    if not len(east):
        return np.zeros(0, dtype=np.int64)
    column, row = (east - east.min()) // size, (north - north.min()) // size
    return column * (int(row.max()) + 1) + row


def _whole_classes(
    location: np.ndarray, month_group: np.ndarray, remaining: np.ndarray, k: int
) -> np.ndarray:
    """Records (among ``remaining``) whose whole (location, month, group) class has ≥ k.
    ``location``: a non-negative integer per place; ``month_group``: one per (month, offence
    group)."""
    rows = np.flatnonzero(remaining)
    place = location[rows]
    pairs = int(month_group.max()) + 1 if len(month_group) else 1
    if len(rows) and int(place.max()) >= np.iinfo(np.int64).max // pairs:
        place = pd.factorize(place)[0].astype(np.int64)  # numbered densely, the key fits
    # one hashing pass over the (place, month, group) keys
    classes = pd.factorize(place * pairs + month_group[rows])[0]
    sizes = np.bincount(classes)[classes] if len(rows) else np.zeros(0, dtype=np.int64)
    chosen = np.zeros(len(location), dtype=bool)
    chosen[rows[sizes >= k]] = True
    return chosen
