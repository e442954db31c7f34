"""The police's territorial units as a geography: unit → district → regional directorate.

The police's file has one polygon per unit, and sometimes a unit in several placemarks (the real
2013 file has five such units): their parts are joined into one unit, provided they agree on
everything but the shape. District directorates and regional directorates are the unions of their
units. A unit's directorate is the police's own assignment (``district_code``), not its code's
prefix: a unit moved between directorates keeps its code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from transforms.domain.geography import repair_geometries
from transforms.plumbing.errors import PermanentFailure

UNIT_ATTRIBUTES = ["code", "name", "district_code", "district_name", "region_code", "region_name"]
LEVELS = ("unit", "district", "region")


class PoliceUnitsError(PermanentFailure, ValueError):
    """The police-district file contradicts itself (one unit, two names or directorates)."""


@dataclass
class PoliceUnitsReport:
    joined_parts: dict[str, int] = field(default_factory=dict)  # unit → placemarks joined
    repaired: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def police_geography(units: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, PoliceUnitsReport]:
    """Units, district directorates and regional directorates in one table (``code, name,
    level, parent_code, population, geometry``), every shape valid."""
    report = PoliceUnitsReport()
    counts = units["code"].value_counts()
    report.joined_parts = {str(c): int(n) for c, n in counts[counts > 1].sort_index().items()}
    disagreeing = units.groupby("code")[UNIT_ATTRIBUTES[1:]].nunique(dropna=False).gt(1).any(axis=1)
    if disagreeing.any():
        raise PoliceUnitsError(
            "police-district file: unit(s) "
            + ", ".join(disagreeing[disagreeing].index[:5])
            + " appear in several placemarks with different names or directorates"
        )
    joined = units.dissolve(by="code", as_index=False, aggfunc="first").sort_values("code")
    joined, repairs = repair_geometries(joined)
    report.repaired, report.rejected = repairs.repaired, repairs.rejected
    unit_rows = joined.assign(level="unit", parent_code=joined["district_code"])
    districts = _unions(joined, "district_code", "district_name", "district", "region_code")
    regions = _unions(joined, "region_code", "region_name", "region", None)
    columns = ["code", "name", "level", "parent_code", "population", "geometry"]
    frame = pd.concat(
        [unit_rows.rename(columns={"population_usual": "population"})[columns], districts, regions],
        ignore_index=True,
    )
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=units.crs), report


def _unions(
    units: gpd.GeoDataFrame, code: str, name: str, level: str, parent: str | None
) -> gpd.GeoDataFrame:
    keep = [code, name, *([parent] if parent else []), "population_usual", "geometry"]
    merged = units[keep].dissolve(
        by=code,
        as_index=False,
        aggfunc={name: "first", "population_usual": "sum"} | ({parent: "first"} if parent else {}),
    )
    return gpd.GeoDataFrame(
        {
            "code": merged[code],
            "name": merged[name],
            "level": level,
            "parent_code": merged[parent] if parent else None,
            "population": merged["population_usual"],
        },
        geometry=merged.geometry.values,
        crs=units.crs,
    )
