"""The k-anonymous incident file for point maps.

Quasi-identifiers: location, month, offence group. Each incident is published at the centroid of
the finest ETRS89-LAEA grid cell (EPSG:3035, INSPIRE cell codes such as
``CRS3035RES1000mN3000000E4500000``) in which its (cell, month, group) class still holds at least
k incidents not already published at a finer level; failing every grid level, at its
municipality's representative point if that class holds k; failing that, it is left out of the
point file (and still counted in the tables). Because a level takes whole classes, every published
(location, month, group) class holds at least k incidents.

Never published: the true coordinate, the day or time, any free text, the police id, and any
offence the policy marks as sensitive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from transforms.privacy.policy import DisclosurePolicy

LAEA = "EPSG:3035"
WGS84 = "EPSG:4326"
MUNICIPALITY = "municipality"
POINT_COLUMNS = ["cell_code", "level", "month", "offence_group", "offence_group_name", "lon", "lat"]


@dataclass
class PointRelease:
    points: gpd.GeoDataFrame  # POINT_COLUMNS + geometry, sorted by cell, month, group
    loss: dict[str, object]  # information loss: share per level, suppressed, sensitive removed


def point_classes(points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One feature per k-anonymous class (location, month, offence group) with its number of
    ``records``: what a web map draws, with a feature per class instead of one per record
    stacked on the same centroid (about a seventh of the features on a national year)."""
    keys = ["cell_code", "level", "month", "offence_group", "offence_group_name", "lon", "lat"]
    classes = points.groupby(keys, sort=True).size().rename("records").reset_index()
    return gpd.GeoDataFrame(
        classes, geometry=shapely.points(classes["lon"], classes["lat"]), crs=points.crs
    )


def cell_code(resolution: int, northing: np.ndarray, easting: np.ndarray) -> np.ndarray:
    """INSPIRE/GEOSTAT grid cell codes from the cell's lower-left corner (metres)."""
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
) -> PointRelease:
    """``incidents``: counted canonical rows (``incident_id, offence_code, offence_group,
    reported_month, lon, lat, municipality_code``). One point per incident and offence group."""
    k = policy.incidents.k
    sensitive = {int(c) for c in sensitive_offences}
    is_sensitive = incidents["offence_code"].isin(list(sensitive))
    # an incident with a sensitive offence is left out whole: its other offences share its place
    tainted = incidents.loc[is_sensitive, "incident_id"].unique()
    removed_sensitive = int(incidents["incident_id"].isin(tainted).sum())
    kept = incidents[~incidents["incident_id"].isin(tainted)]
    records = kept.drop_duplicates(["incident_id", "offence_group"])[
        ["offence_group", "reported_month", "lon", "lat", "municipality_code"]
    ].reset_index(drop=True)
    x, y = Transformer.from_crs(WGS84, LAEA, always_xy=True).transform(
        records["lon"].to_numpy(), records["lat"].to_numpy()
    )
    level = np.full(len(records), None, dtype=object)
    code = np.full(len(records), None, dtype=object)
    centre_x = np.full(len(records), np.nan)
    centre_y = np.full(len(records), np.nan)
    remaining = np.ones(len(records), dtype=bool)
    month = records["reported_month"].to_numpy(dtype=object)
    group = records["offence_group"].to_numpy()
    month_group = _month_group_ids(month, group)
    for size in policy.incidents.grid_levels_m:
        east = np.floor(x / size) * size
        north = np.floor(y / size) * size
        # cells are grouped by their integer position; codes are spelled for the chosen only
        cell = (east // size).astype(np.int64) << 32 | (north // size).astype(np.int64)
        chosen = _whole_classes(cell, month_group, remaining, k)
        level[chosen] = f"{size}m"
        code[chosen] = cell_code(size, north[chosen], east[chosen])
        centre_x[chosen] = east[chosen] + size / 2
        centre_y[chosen] = north[chosen] + size / 2
        remaining &= ~chosen
    lon = np.full(len(records), np.nan)
    lat = np.full(len(records), np.nan)
    gridded = ~remaining
    lon[gridded], lat[gridded] = Transformer.from_crs(LAEA, WGS84, always_xy=True).transform(
        centre_x[gridded], centre_y[gridded]
    )
    if policy.incidents.municipality_fallback and remaining.any():
        municipal = records["municipality_code"].to_numpy(dtype=object)
        chosen = _whole_classes(pd.factorize(municipal)[0], month_group, remaining, k)
        anchors = municipalities.set_index("code").geometry.representative_point()
        level[chosen] = MUNICIPALITY
        code[chosen] = municipal[chosen]
        points = anchors.reindex(municipal[chosen])
        lon[chosen], lat[chosen] = points.x.to_numpy(), points.y.to_numpy()
        remaining &= ~chosen
    published = ~remaining
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    frame = pd.DataFrame(
        {
            "cell_code": code[published].astype(str),
            "level": level[published].astype(str),
            "month": month[published].astype(str),
            "offence_group": group[published].astype("int32"),
            "offence_group_name": pd.Series(group[published]).map(group_names).astype("str").values,
            "lon": lon[published],
            "lat": lat[published],
        }
    ).sort_values(["cell_code", "month", "offence_group"], kind="stable", ignore_index=True)
    points = gpd.GeoDataFrame(frame, geometry=shapely.points(frame["lon"], frame["lat"]), crs=WGS84)
    levels = [f"{s}m" for s in policy.incidents.grid_levels_m] + [MUNICIPALITY]
    total = len(records)
    shares = {lv: int((level == lv).sum()) for lv in levels}
    loss = {
        "k": k,
        "records": total,
        "records_by_level": shares,
        "share_by_level": {lv: round(n / total, 6) if total else 0.0 for lv, n in shares.items()},
        "suppressed_records": int(remaining.sum()),
        "suppressed_share": round(float(remaining.sum()) / total, 6) if total else 0.0,
        "sensitive_rows_removed": removed_sensitive,
    }
    return PointRelease(points, loss)


def _month_group_ids(month: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One integer per (month, offence group) pair."""
    month_id = pd.factorize(month)[0].astype(np.int64)
    group_id, groups = pd.factorize(group)
    return month_id * max(len(groups), 1) + group_id


def _whole_classes(
    location: np.ndarray, month_group: np.ndarray, remaining: np.ndarray, k: int
) -> np.ndarray:
    """Records (among ``remaining``) whose whole (location, month, group) class has ≥ k.
    ``location``: an integer per place; ``month_group``: one per (month, offence group)."""
    rows = np.flatnonzero(remaining)
    place = pd.factorize(location[rows])[0].astype(np.int64)
    pairs = int(month_group.max()) + 1 if len(month_group) else 1
    classes = pd.factorize(place * pairs + month_group[rows])[0]
    sizes = np.bincount(classes)[classes] if len(rows) else np.zeros(0, dtype=np.int64)
    chosen = np.zeros(len(location), dtype=bool)
    chosen[rows[sizes >= k]] = True
    return chosen
