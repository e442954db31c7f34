"""The pipeline's steps, one function per DAG task: read from the data root, call the pure
transforms, write the result, return a small JSON-able summary (what Airflow keeps as XCom).

Nothing here imports Airflow: every step runs in a plain Python process or test. Each step is
idempotent: outputs live in folders named by the hash of their inputs, and readers follow small
pointer files that are replaced atomically only after validation passed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from transforms import __version__
from transforms.aggregate import count_offences
from transforms.countries import CZECHIA, CountryProfile
from transforms.geography import (
    build_geography,
    hierarchy_columns,
    locate_points,
    repair_geometries,
)
from transforms.periods import Month
from transforms.privacy.policy import load_policy, policy_sha256
from transforms.privacy.suppression import PUBLISHED, SUPPRESSED_PRIMARY, protect_table
from transforms.publish.formats import write_csv, write_geojson, write_geoparquet, write_parquet
from transforms.publish.release import publish_release
from transforms.quarantine import concat_quarantine, summarise
from transforms.settings import Settings
from transforms.snapshot import record_snapshot, store_snapshot
from transforms.sources import czech_police
from transforms.sources.boundaries import read_boundaries
from transforms.sources.czso import read_population_csv
from transforms.sources.http import download_first
from transforms.storage import fingerprint, read_json, read_json_or_none, write_json_atomic
from transforms.validation import ValidationReport, require, validate

COUNTRY: CountryProfile = CZECHIA
POPULATION_BASIS = "ČSÚ population of municipalities (table 130149), all residents"
BOUNDARY_SUFFIXES = (".gpkg", ".shp", ".geojson", ".xml.zip", ".gml", ".fgb")


class InputMissing(FileNotFoundError):
    """An input the step needs is not where the configuration says it is."""


def code_version() -> str:
    return f"opencrime {__version__}"


# --- boundaries --------------------------------------------------------------------------------


def _one_file(folder: Path, suffixes: tuple[str, ...], what: str) -> Path:
    found = sorted(p for p in folder.glob("*") if p.name.lower().endswith(suffixes))
    if len(found) != 1:
        raise InputMissing(
            f"expected exactly one {what} file ({', '.join(suffixes)}) in {folder}, "
            f"found {[p.name for p in found]}"
        )
    return found[0]


def snapshot_boundary_inputs(settings: Settings) -> dict[str, Any]:
    """Keep the boundary file and the population table as immutable snapshots."""
    if settings.data_in is None:
        raise InputMissing(
            "no boundary source configured: set OPENCRIME_DATA_IN to a folder laid out like "
            "sample_data/ (boundaries/ and population/)"
        )
    boundary = _one_file(settings.data_in / "boundaries", BOUNDARY_SUFFIXES, "boundary")
    population = _one_file(settings.data_in / "population", (".csv",), "population CSV")
    snaps = {
        "boundaries": store_snapshot(
            settings.snapshots_dir, "boundaries", boundary.read_bytes(), boundary.name
        ),
        "population": store_snapshot(
            settings.snapshots_dir, "population", population.read_bytes(), population.name
        ),
    }
    return {k: v.to_json() for k, v in snaps.items()}


def _snapshot_path(settings: Settings, info: dict[str, Any]) -> Path:
    return settings.snapshots_dir / str(info["source"]) / str(info["file"])


def stage_geography(settings: Settings, snapshots: dict[str, Any]) -> dict[str, Any]:
    """Build the canonical geography into a folder named by its inputs (not yet current)."""
    key = fingerprint(
        {"inputs": {k: v["sha256"] for k, v in snapshots.items()}, "code": code_version()}
    )[:16]
    folder = settings.canonical_dir / "geography" / "versions" / key
    units = read_boundaries(_snapshot_path(settings, snapshots["boundaries"]))
    units, repairs = repair_geometries(units)
    population = read_population_csv(
        _snapshot_path(settings, snapshots["population"]).read_bytes(), POPULATION_BASIS
    )
    geography = build_geography(units, population, COUNTRY)
    folder.mkdir(parents=True, exist_ok=True)
    write_geoparquet(geography, folder / "geography.parquet")
    report = {
        "version": key,
        "inputs": snapshots,
        "units": geography["level"].value_counts().sort_index().to_dict(),
        "repaired_geometries": repairs.repaired,
        "rejected_geometries": repairs.rejected,
        "population_reference_date": population.reference_date,
        "population_basis": population.basis,
        "source_crs": str(units.crs),
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


def country_parameters(country: CountryProfile) -> dict[str, Any]:
    lon_min, lat_min, lon_max, lat_max = country.bbox
    return {
        "lon_min": lon_min,
        "lat_min": lat_min,
        "lon_max": lon_max,
        "lat_max": lat_max,
        "municipality_code_pattern": r"^\d{6}$",
    }


def validate_geography(settings: Settings, version: str, run_id: str) -> dict[str, Any]:
    folder = settings.canonical_dir / "geography" / "versions" / version
    geography = gpd.read_parquet(folder / "geography.parquet")
    report = validate(
        geography_view(geography),
        "geography",
        settings.expectations_dir,
        _docs_dir(settings, "boundaries", run_id),
        country_parameters(COUNTRY),
    )
    write_json_atomic(folder / "validation.json", report.to_json())
    return require(report).to_json() | {"data_docs": report.data_docs}


def promote_geography(settings: Settings, version: str) -> dict[str, Any]:
    """Make a validated geography the current one (an atomic pointer swap)."""
    folder = settings.canonical_dir / "geography" / "versions" / version
    if not (read_json_or_none(folder / "validation.json") or {}).get("success"):
        raise RuntimeError(f"geography {version} has not passed validation; not promoting it")
    pointer = settings.canonical_dir / "geography" / "current.json"
    previous = read_json_or_none(pointer)
    write_json_atomic(pointer, {"version": version})
    return {"version": version, "changed": previous != {"version": version}}


def load_current_geography(settings: Settings) -> tuple[gpd.GeoDataFrame, str]:
    pointer = read_json_or_none(settings.canonical_dir / "geography" / "current.json")
    if pointer is None:
        raise InputMissing("no current geography: run the 'boundaries' DAG first")
    folder = settings.canonical_dir / "geography" / "versions" / pointer["version"]
    return gpd.read_parquet(folder / "geography.parquet"), str(pointer["version"])


# --- police incidents --------------------------------------------------------------------------


def fetch_police_month(settings: Settings, month: Month) -> dict[str, Any]:
    """The month's archive, from the local input folder or the police API, as a snapshot."""
    name = f"{month.compact}.zip"
    if settings.data_in is not None:
        path = settings.data_in / "police" / name
        if not path.exists():
            raise InputMissing(f"no police file for {month}: {path} does not exist")
        data, origin = path.read_bytes(), path.name
    else:
        urls = [f"{base}/{name}" for base in settings.police_base_urls] + [
            f"{base.replace('/v2/', '/v1/')}/{month.compact}.csv.zip"
            for base in settings.police_base_urls
        ]
        downloaded = download_first(urls, timeout_s=settings.http_timeout_s)
        data, origin = downloaded.content, downloaded.url
    snapshot = store_snapshot(settings.snapshots_dir, "police", data, name)
    record_snapshot(settings.snapshots_dir, "police", str(month), [snapshot])
    return snapshot.to_json() | {"origin": origin}


def _partition_folder(settings: Settings, month: Month, key: str) -> Path:
    return settings.canonical_dir / "incidents" / "parts" / str(month) / key


def stage_police_month(
    settings: Settings, month: Month, snapshot: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """Parse, check, place and stage one month. Rows that fail go to the quarantine."""
    geography, geography_version = load_current_geography(settings)
    key = fingerprint(
        {
            "snapshot": snapshot["sha256"],
            "geography": geography_version,
            "code": code_version(),
            "month": str(month),
        }
    )[:16]
    folder = _partition_folder(settings, month, key)
    download = czech_police.read_month_zip(_snapshot_path(settings, snapshot).read_bytes(), month)
    raw_report = validate(
        download.records.frame,
        "raw_incidents",
        settings.expectations_dir,
        _docs_dir(settings, f"police_incidents/{month}", run_id),
    )
    require(raw_report)
    municipalities = geography[geography["level"] == "municipality"]
    canonical, quarantine = czech_police.canonicalise(
        download.records,
        download.code_lists,
        month,
        COUNTRY,
        lambda lon, lat: locate_points(lon, lat, municipalities),
    )
    canonical = canonical.merge(hierarchy_columns(geography), on="municipality_code", how="left")
    report = _ingest_report(month, snapshot, download, canonical, quarantine, key)
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(canonical, folder / "incidents.parquet")
    write_parquet(concat_quarantine([quarantine]), folder / "quarantine.parquet")
    write_json_atomic(folder / "code_lists.json", download.code_lists.to_json())
    write_json_atomic(folder / "report.json", report)
    return {
        "key": key,
        **{
            k: report[k]
            for k in ("input_rows", "accepted_rows", "quarantined_rows", "quarantine_share")
        },
    }


def _ingest_report(
    month: Month,
    snapshot: dict[str, Any],
    download: czech_police.PoliceDownload,
    canonical: pd.DataFrame,
    quarantine: pd.DataFrame,
    key: str,
) -> dict[str, Any]:
    accepted = int(canonical["source_row"].nunique())
    quarantined = int(quarantine["source_row"].nunique())
    inputs = download.records.input_rows
    known_states = set(download.code_lists.states)
    states = canonical.drop_duplicates("source_row")["state_code"]
    return {
        "month": str(month),
        "partition": key,
        "snapshot": snapshot["sha256"],
        "encoding": download.records.encoding,
        "renamed_columns": download.records.renamed_columns,
        "extra_columns": download.records.extra_columns,
        "input_rows": inputs,
        "accepted_rows": accepted,
        "quarantined_rows": quarantined,
        "unaccounted_rows": inputs - accepted - quarantined,
        "quarantine_share": round(quarantined / inputs, 6) if inputs else 0.0,
        "canonical_rows": len(canonical),
        "excluded_not_offence_rows": int((~canonical["counted"]).sum()),
        "unknown_state_rows": int((states.notna() & ~states.isin(list(known_states))).sum()),
        "quarantine_reasons": [vars(s) for s in summarise(quarantine)],
    }


def validate_police_month(
    settings: Settings, month: Month, key: str, run_id: str
) -> dict[str, Any]:
    folder = _partition_folder(settings, month, key)
    report = read_json(folder / "report.json")
    docs = _docs_dir(settings, f"police_incidents/{month}", run_id)
    ledger = pd.DataFrame([{k: report[k] for k in ("unaccounted_rows", "quarantine_share")}])
    checks = [
        validate(
            ledger,
            "incident_ledger",
            settings.expectations_dir,
            docs,
            {"quarantine_limit": settings.quarantine_limit},
        ),
        validate(
            pd.read_parquet(folder / "incidents.parquet"),
            "canonical_incidents",
            settings.expectations_dir,
            docs,
            country_parameters(COUNTRY) | {"months": [str(month)]},
        ),
    ]
    write_json_atomic(
        folder / "validation.json",
        {"success": all(c.success for c in checks), "suites": [c.to_json() for c in checks]},
    )
    for check in checks:
        require(check)
    return {"suites": [c.suite for c in checks], "data_docs": checks[-1].data_docs}


def commit_police_month(settings: Settings, month: Month, key: str) -> dict[str, Any]:
    """Make a validated month partition the one readers see (an atomic pointer swap)."""
    folder = _partition_folder(settings, month, key)
    if not (read_json_or_none(folder / "validation.json") or {}).get("success"):
        raise RuntimeError(f"partition {month}/{key} has not passed validation; not committing")
    write_json_atomic(
        settings.canonical_dir / "incidents" / "months" / f"{month}.json",
        {"month": str(month), "partition": key},
    )
    return read_json(folder / "report.json")


def committed_months(settings: Settings) -> dict[str, str]:
    folder = settings.canonical_dir / "incidents" / "months"
    if not folder.exists():
        return {}
    return {p.stem: read_json(p)["partition"] for p in sorted(folder.glob("*.json"))}


# --- publishing --------------------------------------------------------------------------------


def _docs_dir(settings: Settings, scope: str, run_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    return settings.runs_dir / scope / safe / "data_docs"


def _release_inputs(settings: Settings) -> dict[str, Any]:
    _, policy_raw = load_policy(settings.policy_path)
    pointer = read_json_or_none(settings.canonical_dir / "geography" / "current.json")
    months = committed_months(settings)
    if pointer is None or not months:
        raise InputMissing("nothing to publish: run 'boundaries' and 'police_incidents' first")
    return {
        "geography": pointer["version"],
        "months": months,
        "policy_sha256": policy_sha256(policy_raw),
        "code": code_version(),
        "dataset": settings.dataset_id,
    }


def stage_release_tables(settings: Settings) -> dict[str, Any]:
    """Aggregate every committed month, apply the disclosure policy, stage the tables."""
    inputs = _release_inputs(settings)
    key = fingerprint(inputs)
    staged = settings.runs_dir / "publish" / key[:16]
    staged.mkdir(parents=True, exist_ok=True)
    policy, _ = load_policy(settings.policy_path)
    geography, _ = load_current_geography(settings)
    months = sorted(inputs["months"])
    incidents = pd.concat(
        [
            pd.read_parquet(_partition_folder(settings, Month.parse(m), p) / "incidents.parquet")
            for m, p in inputs["months"].items()
        ],
        ignore_index=True,
    )
    groups = _offence_groups(settings, inputs["months"])
    counts = count_offences(incidents, geography, months, groups)
    published = protect_table(counts, policy)
    write_parquet(published, staged / "counts.parquet")
    reports = [
        read_json(_partition_folder(settings, Month.parse(m), p) / "report.json")
        for m, p in sorted(inputs["months"].items())
    ]
    summary = {
        "months": months,
        "input_rows": sum(r["input_rows"] for r in reports),
        "accepted_rows": sum(r["accepted_rows"] for r in reports),
        "quarantined_rows": sum(r["quarantined_rows"] for r in reports),
        "excluded_not_offence_rows": sum(r["excluded_not_offence_rows"] for r in reports),
        "counted_offences": int(incidents["counted"].sum()),
        "cells": len(published),
        "cells_published": int((published["status"] == PUBLISHED).sum()),
        "cells_suppressed_primary": int((published["status"] == SUPPRESSED_PRIMARY).sum()),
    }
    summary["quarantine_share"] = (
        round(summary["quarantined_rows"] / summary["input_rows"], 6)
        if summary["input_rows"]
        else 0.0
    )
    write_json_atomic(staged / "inputs.json", inputs | {"fingerprint": key, "summary": summary})
    return {"staged": str(staged), "fingerprint": key, "summary": summary}


def _offence_groups(settings: Settings, months: dict[str, str]) -> dict[int, str]:
    """Offence groups (roots of the types hierarchy) named as in the newest month's code list."""
    newest = max(months)
    code_lists = read_json(
        _partition_folder(settings, Month.parse(newest), months[newest]) / "code_lists.json"
    )
    return {t["code"]: t["name"] for t in code_lists["types"] if t["parent"] is None}


def validate_release_tables(settings: Settings, staged: str, run_id: str) -> dict[str, Any]:
    policy, _ = load_policy(settings.policy_path)
    counts = pd.read_parquet(Path(staged) / "counts.parquet")
    small = list(range(1, policy.aggregates.primary_threshold))
    report: ValidationReport = validate(
        counts,
        "published_counts",
        settings.expectations_dir,
        _docs_dir(settings, "publish", run_id),
        {"small_counts": small},
    )
    write_json_atomic(Path(staged) / "validation.json", report.to_json())
    require(report)
    return report.to_json() | {"data_docs": report.data_docs}


def write_release(settings: Settings, staged: str, run_id: str) -> dict[str, Any]:
    """Write the versioned release from validated staged tables and move ``latest``."""
    staged_dir = Path(staged)
    validation = read_json(staged_dir / "validation.json")
    if not validation.get("success"):
        raise RuntimeError("the staged release tables failed validation; not publishing")
    inputs = read_json(staged_dir / "inputs.json")
    policy, policy_raw = load_policy(settings.policy_path)
    geography, _ = load_current_geography(settings)
    counts = pd.read_parquet(staged_dir / "counts.parquet")
    docs_source = _docs_dir(settings, "publish", run_id)

    def write_files(folder: Path) -> dict[str, Any]:
        write_parquet(counts, folder / "counts.parquet")
        write_csv(counts, folder / "counts.csv")
        areas = _areas_with_totals(geography, counts)
        write_geojson(areas, folder / "municipalities.geojson")
        write_geoparquet(areas, folder / "municipalities.parquet")
        (folder / "disclosure-policy.yaml").write_bytes(policy_raw)
        if docs_source.exists():
            shutil.copytree(
                docs_source / "gx" / "uncommitted" / "data_docs" / "local_site",
                folder / "validation" / "data_docs",
                dirs_exist_ok=True,
            )
        return {"row_counts": {"counts": len(counts), "municipalities": len(areas)}}

    manifest = {
        "dataset": settings.dataset_id,
        "data_months": inputs["months"] and sorted(inputs["months"]),
        "code_version": inputs["code"],
        "policy": {"id": policy.id, "version": policy.version, "sha256": inputs["policy_sha256"]},
        "inputs": {"geography": inputs["geography"], "incident_partitions": inputs["months"]},
        "summary": inputs["summary"],
    }
    result = publish_release(
        settings.releases_dir / settings.dataset_id,
        max(inputs["months"]),
        inputs["fingerprint"],
        write_files,
        manifest,
    )
    return {"version": result.version, "path": str(result.path), "created": result.created}


def _areas_with_totals(geography: gpd.GeoDataFrame, counts: pd.DataFrame) -> gpd.GeoDataFrame:
    """Municipality polygons with population and, per month, the published total count."""
    municipalities = geography[geography["level"] == "municipality"]
    totals = counts[(counts["geo_level"] == "municipality") & (counts["offence_group"] == "ALL")]
    wide_count = totals.pivot(index="geo_code", columns="period", values="count")
    wide_status = totals.pivot(index="geo_code", columns="period", values="status")
    areas = municipalities[["code", "name", "parent_code", "population", "geometry"]].copy()
    for period in sorted(wide_count.columns):
        areas[f"count_{period}"] = areas["code"].map(wide_count[period]).astype("Int64")
        areas[f"status_{period}"] = areas["code"].map(wide_status[period]).astype("str")
    areas = areas.rename(columns={"parent_code": "district_code"})
    columns = [c for c in areas.columns if c != "geometry"] + ["geometry"]
    return gpd.GeoDataFrame(areas[columns].reset_index(drop=True), crs=geography.crs)
