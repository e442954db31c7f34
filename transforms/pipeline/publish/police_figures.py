"""The police's own statistics as the incident release's audit sees them: the committed report
months, the current police units laid over the release's municipalities, and the type mapping
(``transforms.privacy.police_figures``). Protection and the audit both load them from here, so
they attack with the same knowledge."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from transforms.domain.periods import Month
from transforms.domain.police_overlay import (
    SLIVER,
    assigned_shares,
    municipality_shares,
    unit_membership,
    with_assignment,
)
from transforms.pipeline.boundaries import geography_file
from transforms.pipeline.police_districts import ASSIGNMENT, units_folder
from transforms.pipeline.police_statistics import committed_months, partition_folder
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import read_json_or_none, write_json_atomic, write_parquet
from transforms.privacy.police_figures import PoliceFigures
from transforms.publish.folder import MANIFEST, latest
from transforms.publish.police_pages import page_path

REPORT_COLUMNS = ["unit_code", "month", "tsk_code", "found"]


def statistics_dataset_id(settings: Settings) -> str:
    """The police statistics dataset's folder under the releases."""
    return f"{settings.dataset_id}-police-statistics"


def police_unit_links(
    settings: Settings, geography_version: str
) -> dict[str, list[tuple[str, str]]]:
    """Each municipality's police units (the overlay, slivers left out) as links from a unit
    page of the incident release to the units' pages in the newest release of the police
    statistics, if there is one: (href, unit name)."""
    dataset = statistics_dataset_id(settings)
    pointer = latest(settings.releases_dir / dataset)
    if pointer is None:
        return {}
    release = settings.releases_dir / dataset / str(pointer["version"])
    manifest = read_json_or_none(release / MANIFEST) or {}
    units_version = (manifest.get("inputs") or {}).get("units")
    if not units_version:
        return {}
    shares = unit_shares(settings, str(units_version), geography_version)
    shares = shares[shares["share"] > SLIVER].sort_values(
        ["municipality_code", "share", "unit_code"], ascending=[True, False, True]
    )
    units = gpd.read_parquet(units_folder(settings, str(units_version)) / "police_units.parquet")
    names = dict(zip(units["code"], units["name"], strict=True))
    links: dict[str, list[tuple[str, str]]] = {}
    for town, unit in zip(shares["municipality_code"], shares["unit_code"], strict=True):
        href = f"../../../{dataset}/{pointer['version']}/{page_path(str(unit))}"
        links.setdefault(str(town), []).append((href, str(names.get(unit, unit))))
    return links


def police_inputs(settings: Settings) -> dict[str, Any] | None:
    """The versions the audit's police knowledge comes from, or None when there are no
    committed reports (or no police units to place them)."""
    pointer = read_json_or_none(settings.canonical_dir / "police_districts" / "current.json")
    months = committed_months(settings)
    if pointer is None or not months:
        return None
    return {"units": str(pointer["version"]), "months": months}


def unit_shares(settings: Settings, units_version: str, geography_version: str) -> pd.DataFrame:
    """The overlay of the police units with the municipalities of a geography version, kept
    beside the units (it is the same for every release of the pair)."""
    folder = units_folder(settings, units_version)
    path = folder / f"shares-{geography_version}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    units = gpd.read_parquet(folder / "police_units.parquet")
    units = units[units["level"] == "unit"]
    geography = gpd.read_parquet(geography_file(settings, geography_version))
    towns = geography[geography["level"] == "municipality"]
    shares = municipality_shares(units, towns)
    if (folder / ASSIGNMENT).exists():  # the police's own table wins where it names the unit
        names = dict(zip(geography["code"], geography["name"], strict=True))
        assigned, report = assigned_shares(
            pd.read_parquet(folder / ASSIGNMENT),
            towns.assign(district_name=towns["parent_code"].map(names)),
            units,
        )
        shares = with_assignment(shares, assigned)
        write_json_atomic(folder / f"assignment-{geography_version}.json", report)
    write_parquet(shares, path)
    return shares


def load_police_figures(settings: Settings, inputs: dict[str, Any]) -> PoliceFigures | None:
    """What readers hold of the police's statistics for this release's inputs."""
    police = inputs.get("police_statistics")
    if not police:
        return None
    folders = [partition_folder(settings, Month.parse(m), k) for m, k in police["months"].items()]
    reports = pd.concat(
        [
            pd.read_parquet(f / "cumulative.parquet", columns=[*REPORT_COLUMNS, "is_subtotal"])
            for f in folders
        ],
        ignore_index=True,
    )
    reports = reports.loc[~reports["is_subtotal"], REPORT_COLUMNS].reset_index(drop=True)
    mapping = pd.read_parquet(folders[-1] / "type_tsk.parquet")
    within, touching = unit_membership(unit_shares(settings, police["units"], inputs["geography"]))
    return PoliceFigures(
        reports,
        within,
        touching,
        {str(k): frozenset(g["offence_code"]) for k, g in mapping.groupby("tsk_code")},
        frozenset(mapping.loc[mapping["exact"], "tsk_code"]),
    )
