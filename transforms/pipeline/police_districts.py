"""Steps of the ``police_districts`` DAG: snapshot, build, validate and promote the police units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from transforms.domain.geography import WGS84
from transforms.domain.police_crosswalk import read_crosswalk
from transforms.domain.police_units import UNIT_ATTRIBUTES, police_geography
from transforms.pipeline.boundaries import geography_view
from transforms.pipeline.common import (
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
    write_parquet,
)
from transforms.sources.police_assignment import read_unit_assignment
from transforms.sources.police_districts import read_police_districts_kml, unit_code
from transforms.sources.police_population import read_unit_population
from transforms.sources.text import SchemaError
from transforms.validation import gate, validate

SUFFIXES = (".kml", ".gpkg", ".geojson", ".fgb", ".shp")
ASSIGNMENT = "assignment.parquet"  # the police's municipality → unit table, as read
CROSSWALK_FILE = "unit_crosswalk.csv"  # retired unit codes → today's (domain.police_crosswalk)
CROSSWALK = "crosswalk.parquet"
POPULATION_FILE = "unit_population.csv"  # population per unit by name (oop-with-pop.csv format)
POPULATION = "population.parquet"
SOURCE = "police_districts"


def snapshot_police_district_file(settings: Settings) -> dict[str, Any]:
    """Keep the police-district file (``OPENCRIME_DATA_IN/police_districts/``) as a snapshot,
    and the police's unit assignment table (an ``.xlsx`` beside it) when there is one."""
    if settings.data_in is None:
        raise InputMissing("no police-district source: set OPENCRIME_DATA_IN (police_districts/)")
    folder = settings.data_in / SOURCE
    path = one_input_file(folder, SUFFIXES, "police-district")
    snapshot = store_snapshot(settings.snapshots_dir, SOURCE, path.read_bytes(), path.name)
    tables = sorted(folder.glob("*.xlsx"))
    if len(tables) > 1:
        raise InputMissing(f"{folder}: one unit assignment table (.xlsx) at most, found {tables}")
    extra = {
        "assignment": tables[0] if tables else None,
        "crosswalk": folder / CROSSWALK_FILE,
        "population": folder / POPULATION_FILE,
    }
    return snapshot.to_json() | {
        key: store_snapshot(settings.snapshots_dir, SOURCE, path.read_bytes(), path.name).to_json()
        if path is not None and path.exists()
        else None
        for key, path in extra.items()
    }


def read_police_units(path: Path) -> gpd.GeoDataFrame:
    """The police's KML, or any OGR file whose fields are the KML's or ours
    (``code, name, district_code, district_name, region_code, region_name, population_usual``)."""
    if path.suffix.lower() == ".kml":
        return read_police_districts_kml(path.read_bytes())
    frame = pyogrio.read_dataframe(path)
    missing = [c for c in [*UNIT_ATTRIBUTES, "population_usual"] if c not in frame.columns]
    if missing:
        raise SchemaError(f"{path.name}: field(s) {missing} missing (or give the police's KML)")
    for column, width in (("code", 6), ("district_code", 4), ("region_code", 2)):
        frame[column] = frame[column].map(lambda v, w=width: unit_code(v, w))  # a number lost zeros
    return frame


def units_folder(settings: Settings, version: str) -> Path:
    return settings.canonical_dir / SOURCE / "versions" / version


def stage_police_districts(settings: Settings, snapshot: dict[str, Any]) -> dict[str, Any]:
    """Join split units, repair shapes, build the directorates: a staged version (not current)."""
    assignment, crosswalk = snapshot.get("assignment"), snapshot.get("crosswalk")
    population = snapshot.get("population")
    key = fingerprint(
        {
            "input": snapshot["sha256"],
            "assignment": assignment["sha256"] if assignment else None,
            "crosswalk": crosswalk["sha256"] if crosswalk else None,
            # absent from the key when absent, so versions staged before it keep their name
            **({"population": population["sha256"]} if population else {}),
            "code": code_version(),
        }
    )[:16]
    units = read_police_units(snapshot_path(settings, snapshot))
    if units.crs is not None and not units.crs.equals(WGS84):
        units = units.to_crs(WGS84)
    geography, repairs = police_geography(units)
    folder = units_folder(settings, key)
    folder.mkdir(parents=True, exist_ok=True)
    write_geoparquet(geography, folder / "police_units.parquet")
    if assignment:
        table = read_unit_assignment(snapshot_path(settings, assignment).read_bytes())
        write_parquet(table, folder / ASSIGNMENT)
    if crosswalk:
        mapping = read_crosswalk(snapshot_path(settings, crosswalk).read_bytes())
        write_parquet(mapping, folder / CROSSWALK)
    if population:
        table = read_unit_population(snapshot_path(settings, population).read_bytes())
        write_parquet(table, folder / POPULATION)
    report = {
        "version": key,
        "input": snapshot,
        "units": geography["level"].value_counts().sort_index().to_dict(),
        **repairs.to_json(),
    }
    write_json_atomic(folder / "report.json", report)
    return report


def validate_police_districts(settings: Settings, version: str, run_id: str) -> dict[str, Any]:
    folder = units_folder(settings, version)
    view = geography_view(gpd.read_parquet(folder / "police_units.parquet"))
    report = validate(
        view, "police_units", settings.expectations_dir, docs_dir(settings, SOURCE, run_id),
        country_parameters(),
    )  # fmt: skip
    return gate([report], folder)


def promote_police_districts(settings: Settings, version: str) -> dict[str, Any]:
    """Make a validated version the current police units (an atomic pointer swap)."""
    pointer = settings.canonical_dir / SOURCE / "current.json"
    return promote_version(pointer, units_folder(settings, version), version, "police units")


def load_current_police_units(settings: Settings) -> pd.DataFrame:
    """The current police units without their shapes; refused when there are none yet."""
    pointer = read_json_or_none(settings.canonical_dir / SOURCE / "current.json")
    if pointer is None:
        raise InputMissing("no current police units: run the 'police_districts' DAG first")
    path = units_folder(settings, str(pointer["version"])) / "police_units.parquet"
    return pd.read_parquet(path, columns=["code", "name", "level", "parent_code", "population"])
