"""Steps of the ``boundaries`` DAG: snapshot, build, validate and promote the geography."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from transforms.domain.geography import (
    PointLocator,
    UnitGrid,
    build_geography,
    repair_geometries,
    unit_mask,
)
from transforms.pipeline.common import (
    COUNTRY,
    InputMissing,
    code_version,
    country_parameters,
    docs_dir,
    one_input_file,
    promote_version,
    snapshot_path,
)
from transforms.plumbing.settings import Settings
from transforms.plumbing.snapshot import store_snapshot
from transforms.plumbing.storage import (
    fingerprint,
    read_json_or_none,
    write_geoparquet,
    write_json_atomic,
)
from transforms.sources.boundaries import read_boundaries
from transforms.sources.czso import read_population_csv
from transforms.validation import gate, validate

POPULATION_BASIS = "ČSÚ population of municipalities (table 130149), all residents"
BOUNDARY_SUFFIXES = (".gpkg", ".shp", ".geojson", ".xml.zip", ".gml", ".fgb")


def snapshot_boundary_inputs(settings: Settings) -> dict[str, Any]:
    """Keep the boundary file and the population table as immutable snapshots."""
    if settings.data_in is None:
        raise InputMissing(
            "no boundary source configured: set OPENCRIME_DATA_IN to a folder laid out like "
            "sample_data/ (boundaries/ and population/)"
        )
    boundary = one_input_file(settings.data_in / "boundaries", BOUNDARY_SUFFIXES, "boundary")
    population = one_input_file(settings.data_in / "population", (".csv",), "population CSV")
    snaps = {
        "boundaries": store_snapshot(
            settings.snapshots_dir, "boundaries", boundary.read_bytes(), boundary.name
        ),
        "population": store_snapshot(
            settings.snapshots_dir, "population", population.read_bytes(), population.name
        ),
    }
    return {k: v.to_json() for k, v in snaps.items()}


def geography_folder(settings: Settings, version: str) -> Path:
    """Where one version of the canonical geography (and its report) lives."""
    return settings.canonical_dir / "geography" / "versions" / version


def geography_file(settings: Settings, version: str) -> Path:
    """The GeoParquet file of one version of the canonical geography."""
    return geography_folder(settings, version) / "geography.parquet"


def stage_geography(settings: Settings, snapshots: dict[str, Any]) -> dict[str, Any]:
    """Build the canonical geography (and its point-location grid) into a folder named by its
    inputs (not yet current)."""
    key = fingerprint(
        {"inputs": {k: v["sha256"] for k, v in snapshots.items()}, "code": code_version()}
    )[:16]
    folder = geography_folder(settings, key)
    units = read_boundaries(snapshot_path(settings, snapshots["boundaries"]))
    units, repairs = repair_geometries(units)
    population = read_population_csv(
        snapshot_path(settings, snapshots["population"]).read_bytes(), POPULATION_BASIS
    )
    geography = build_geography(units, population, COUNTRY)
    folder.mkdir(parents=True, exist_ok=True)
    write_geoparquet(geography, geography_file(settings, key))
    grid = municipality_locator(settings, geography, key).grid  # built here, once per geography
    report = {
        "version": key,
        "inputs": snapshots,
        "units": geography["level"].value_counts().sort_index().to_dict(),
        "repaired_geometries": repairs.repaired,
        "rejected_geometries": repairs.rejected,
        "population_reference_date": population.reference_date,
        "population_basis": population.basis,
        "source_crs": str(units.crs),
        "point_location_grid": {"cells": grid.nx * grid.ny, "cell_degrees": grid.size},
    }
    write_json_atomic(folder / "report.json", report)
    return report


def geography_view(geography: gpd.GeoDataFrame) -> pd.DataFrame:
    """The geography with each geometry summarised, as the ``geography`` suite checks it."""
    bounds = shapely.bounds(geography.geometry.values)
    view = pd.DataFrame(geography.drop(columns="geometry"))
    view["geometry_valid"] = shapely.is_valid(geography.geometry.values)
    view["geometry_type"] = geography.geometry.geom_type.values
    view[["lon_min", "lat_min", "lon_max", "lat_max"]] = bounds
    return view


def validate_geography(settings: Settings, version: str, run_id: str) -> dict[str, Any]:
    folder = geography_folder(settings, version)
    geography = gpd.read_parquet(geography_file(settings, version))
    report = validate(
        geography_view(geography),
        "geography",
        settings.expectations_dir,
        docs_dir(settings, "boundaries", run_id),
        country_parameters(),
    )
    return gate([report], folder)


def promote_geography(settings: Settings, version: str) -> dict[str, Any]:
    """Make a validated geography the current one (an atomic pointer swap)."""
    pointer = settings.canonical_dir / "geography" / "current.json"
    return promote_version(pointer, geography_folder(settings, version), version, "geography")


def current_geography_version(settings: Settings) -> str:
    pointer = read_json_or_none(settings.canonical_dir / "geography" / "current.json")
    if pointer is None:
        raise InputMissing("no current geography: run the 'boundaries' DAG first")
    return str(pointer["version"])


def municipality_locator(
    settings: Settings, geography: gpd.GeoDataFrame, version: str
) -> PointLocator:
    """The point locator of a geography's municipalities, its grid kept beside the geography."""
    return PointLocator(
        geography[geography["level"] == "municipality"],
        grid_file=municipality_grid_file(settings, version),
    )


def municipality_grid_file(settings: Settings, version: str) -> Path:
    """Where a geography's point-location grid is kept, beside it."""
    return geography_folder(settings, version) / "municipality_grid.npz"


def region_locator(settings: Settings, version: str, codes: set[str]) -> PointLocator:
    """The municipality locator of ``codes`` alone (a region's placement task): with the
    geography's grid kept, only their shapes are read and decoded, not the country's."""
    path = geography_file(settings, version)
    grid_file = municipality_grid_file(settings, version)
    if not grid_file.exists():
        geography = gpd.read_parquet(path)
        return municipality_locator(settings, geography, version).restricted(codes)
    units = pd.read_parquet(path, columns=["code", "level"])
    # the grid numbers the municipalities in the file's order (municipality_locator)
    municipalities = units.loc[units["level"] == "municipality", "code"].to_numpy(dtype=object)
    keep = unit_mask(municipalities, codes)
    shapes = gpd.read_parquet(
        path, filters=[("level", "==", "municipality"), ("code", "in", sorted(codes))]
    )
    if shapes["code"].tolist() != municipalities[keep].tolist():
        raise RuntimeError(f"{path} changed while it was read: place the region again")
    return PointLocator(shapes, UnitGrid.load(grid_file).restricted(keep))


def load_current_geography(settings: Settings) -> tuple[gpd.GeoDataFrame, str]:
    version = current_geography_version(settings)
    return gpd.read_parquet(geography_file(settings, version)), version


def load_current_units(settings: Settings) -> pd.DataFrame:
    """The current geography's units without their shapes (codes, names, levels, parents,
    population): what counting and auditing read, without decoding 6,258 polygons a year."""
    return load_units(settings, current_geography_version(settings))


def load_units(settings: Settings, version: str) -> pd.DataFrame:
    """A geography version's units without their shapes (:func:`load_current_units`)."""
    return pd.read_parquet(geography_file(settings, version), columns=UNIT_COLUMNS)


UNIT_COLUMNS = ["code", "name", "level", "parent_code", "population"]
