"""One year's protected release tables: the count table and the point file, from its cube and
its records, in the order disclosure control needs (the points follow the table's statuses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from transforms.domain.counting import NONSENSITIVE, Cube, offence_labels
from transforms.privacy.cells import NO_CELLS, NOTHING_KNOWN, KnownCells
from transforms.privacy.kanon import PointRelease, protect_incidents
from transforms.privacy.outside import NO_OUTSIDE_SUMS, OutsideSums
from transforms.privacy.policy import DisclosurePolicy
from transforms.privacy.suppression import Protection, protect, published_table


@dataclass
class ProtectedYear:
    protection: Protection
    counts: pd.DataFrame  # the published count table (suppression.published_table)
    points: PointRelease  # the k-anonymous point file


def protect_year(
    cube: Cube,
    incidents: pd.DataFrame,
    municipalities: gpd.GeoDataFrame,
    policy: DisclosurePolicy,
    offence_list: tuple[Mapping[int, str], Mapping[int, int | None]],
    sensitive: frozenset[int],
    units: tuple[Mapping[str, str], Mapping[str, int | None]],
    known: KnownCells = NOTHING_KNOWN,
    keep_suppressed: np.ndarray = NO_CELLS,
    hints: tuple[np.ndarray, np.ndarray] | None = None,
    outside: OutsideSums = NO_OUTSIDE_SUMS,
) -> ProtectedYear:
    """Suppress the cube's cells (primary, secondary), write the table, and place the points
    of the published (municipality, month, group) cells only.

    ``incidents``: the year's counted canonical rows (``transforms.privacy.kanon``);
    ``municipalities``: their polygons (WGS84) with ``code``; ``offence_list``: the police's type
    names and parents; ``units``: each geography code's name and population; ``known``,
    ``keep_suppressed``, ``hints``: what the previous release tells, ``outside``: what another
    publisher's figures tell (``suppression.protect``)."""
    names, parent = offence_list
    protection = protect(cube, policy, known, keep_suppressed, hints=hints, outside=outside)
    counts = published_table(
        cube,
        protection,
        policy,
        names=dict(units[0]),
        population=dict(units[1]),
        offence_names=offence_labels(cube.offence, names, parent),
    )
    groups = {c: n for c, n in names.items() if parent.get(c) is None}
    points = protect_incidents(
        incidents,
        municipalities,
        policy,
        sensitive,
        groups,
        published_group_cells(cube, ~protection.hidden),
    )
    return ProtectedYear(protection, counts, points)


def published_group_cells(cube: Cube, shown: np.ndarray) -> pd.DataFrame:
    """The (``municipality_code``, ``reported_month``, ``offence_group``) cells of the offence
    groups that a table shows (``shown``: per cube cell) with a non-zero count: the only cells
    whose records a point file places (``transforms.privacy.kanon``)."""
    g, p, o = cube.coordinates()
    geo_level = np.array([cube.geo.level[c] for c in cube.geo.codes], dtype=object)
    group = np.array(
        [
            cube.offence.level[c] == "group" and cube.offence.parent.get(c) == NONSENSITIVE
            for c in cube.offence.codes
        ]
    )
    month = np.array([cube.period.level[c] == "month" for c in cube.period.codes])
    cells = np.flatnonzero(
        (geo_level[g] == "municipality") & month[p] & group[o] & shown & (cube.count > 0)
    )
    keys = cube.keys(cells)
    return pd.DataFrame(
        {
            "municipality_code": keys["geo_code"].astype(str),
            "reported_month": keys["period"].astype(str),
            "offence_group": keys["offence_code"].astype(int),
        }
    )
