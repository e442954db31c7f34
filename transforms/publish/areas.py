"""The areas of a release: each level's polygons simplified for web maps as one coverage, with
their population and every period's published headline total and rate; what their vector tiles
carry."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from transforms.domain.counting import (
    NONSENSITIVE,
)
from transforms.plumbing.timing import Stages


def tile_properties(municipalities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The municipality polygons as their vector tiles carry them: who each one is (code, name,
    district, population) and the latest year's published total, status and rate.

    Every period's figures would be 390 properties on every polygon of a decade's release: a
    national tile at zooms 5 and 6 then passes the 500 kB a map renderer takes, and GDAL drops
    polygons from it (a third of the municipalities were missing at zoom 5). Maps join the
    other periods by ``code``, from ``municipalities.geojson`` or ``counts.csv``."""
    years = [c.removeprefix("count_") for c in municipalities.columns if _is_year_column(c)]
    latest = [f"{kind}_{max(years)}" for kind in ("count", "status", "rate")] if years else []
    return municipalities[[*TILE_IDENTITY, *latest, "geometry"]]


def _is_year_column(name: str) -> bool:
    period = name.removeprefix("count_")
    return name.startswith("count_") and len(period) == 4 and period.isdigit()


AREA_FILES = {"municipality": "municipalities", "district": "districts", "region": "regions"}


PARENT_COLUMN = {
    "municipality": "district_code",
    "district": "region_code",
    "region": "country_code",
}


# what a municipality's vector tile feature says of it, beside the latest year's figures
TILE_IDENTITY = ["code", "name", PARENT_COLUMN["municipality"], "population"]


# Coverage simplification tolerance for the web-map polygons, in degrees (about 30 m).
SIMPLIFY_DEGREES = 0.0003


def area_polygons(geography: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """Each published level's polygons, in the geography's order."""
    return {
        level: geography.geometry[geography["level"] == level].to_numpy() for level in AREA_FILES
    }


def area_shapes(
    polygons: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], list[tuple[str, float, float]]]:
    """Each level's polygons simplified for web maps as a coverage: neighbours keep one shared
    border, so no slivers or gaps open between them (see ``simplified_coverage``); the stage
    timings. Run in ``write_release``'s side process: seconds of GEOS that the process
    writing the counts would otherwise spend."""
    stages = Stages()
    with stages("simplify the areas' shapes"):
        shapes = {level: simplified_coverage(p, SIMPLIFY_DEGREES) for level, p in polygons.items()}
    return shapes, stages.rows


def areas_with_totals(
    geography: gpd.GeoDataFrame, shapes: np.ndarray, counts: pd.DataFrame, level: str
) -> gpd.GeoDataFrame:
    """One level's units with population and each period's published total and rate, drawn
    as ``shapes`` (:func:`area_shapes`, in the geography's order)."""
    units = geography[geography["level"] == level]
    totals = counts[(counts["geo_level"] == level) & (counts["offence_code"] == NONSENSITIVE)]
    wide = {
        name: totals.pivot(index="geo_code", columns="period", values=column)
        for name, column in (("count", "count"), ("status", "status"), ("rate", "rate_per_1000"))
    }
    areas = units[["code", "name", "parent_code", "population", "geometry"]].copy()
    areas["geometry"] = shapes
    periods = sorted(wide["count"].columns, key=lambda p: (len(p), p))  # months, then years
    for period in periods:
        areas[f"count_{period}"] = areas["code"].map(wide["count"][period]).astype("Int64")
        areas[f"status_{period}"] = areas["code"].map(wide["status"][period]).astype("str")
        areas[f"rate_{period}"] = areas["code"].map(wide["rate"][period]).astype("Float64")
    areas = areas.rename(columns={"parent_code": PARENT_COLUMN[level]})
    columns = [c for c in areas.columns if c != "geometry"] + ["geometry"]
    return gpd.GeoDataFrame(areas[columns].reset_index(drop=True), crs=geography.crs)


def unit_areas(geography: gpd.GeoDataFrame, shapes: np.ndarray, level: str) -> gpd.GeoDataFrame:
    """One level's units as ``shapes`` (:func:`area_shapes`, in the geography's order) with
    their code, name and population: what a unit page's map and the national map draw."""
    units = geography[geography["level"] == level]
    areas = units[["code", "name", "population"]].copy()
    areas["geometry"] = shapes
    return gpd.GeoDataFrame(areas.reset_index(drop=True), crs=geography.crs)


def simplified_coverage(polygons: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify polygons that tile the country together, keeping shared borders shared.

    GEOS's coverage simplification moves each shared edge once, for both neighbours. A set that
    is not a clean coverage (overlaps, slivers) is returned unsimplified rather than damaged.
    """
    import shapely

    if len(polygons) == 0 or not shapely.coverage_is_valid(polygons):
        return polygons
    return np.asarray(shapely.coverage_simplify(polygons, tolerance))
