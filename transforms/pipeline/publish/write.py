"""``write_release``: the immutable, versioned release folder from the gated staged tables, then
``latest.json`` and the portal's index."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms.domain.counting import NONSENSITIVE, offence_dimension, offence_names
from transforms.domain.geography import WGS84
from transforms.domain.licences import Licence, SourceTerms, release_licence
from transforms.domain.periods import Month
from transforms.pipeline.boundaries import (
    geography_folder,
    load_current_geography,
)
from transforms.pipeline.common import (
    docs_dir,
)
from transforms.pipeline.police_incidents import partition_folder
from transforms.pipeline.publish.inputs import catalogue_publisher, code_list
from transforms.pipeline.publish.police_figures import police_unit_links
from transforms.pipeline.publish.portal_units import UnitPortal, write_unit_portal
from transforms.pipeline.publish.staged import (
    AUDIT_RECORD,
    CELL_KEY,
    POINT_CLASSES,
    count_tables_by_year,
)
from transforms.plumbing.columns import with_text_decoded
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import (
    FinishedFileDigests,
    ParquetAppender,
    read_json,
    read_json_or_none,
    sha256_file,
    write_geoparquet,
    write_json_atomic,
)
from transforms.plumbing.timing import Stages
from transforms.plumbing.workers import worker_processes
from transforms.privacy.kanon import POINT_COLUMNS
from transforms.privacy.policy import DisclosurePolicy, load_policy, sensitive_codes
from transforms.publish.areas import (
    AREA_FILES,
    area_polygons,
    area_shapes,
    areas_with_totals,
    tile_properties,
)
from transforms.publish.catalogue import dataset_record, series_record
from transforms.publish.changelog import write_changes
from transforms.publish.codes import codes_table, distinct_codes
from transforms.publish.contents import RELEASE_FILES
from transforms.publish.csv import CsvAppender, write_csv
from transforms.publish.datadocs import copy_data_docs
from transforms.publish.datapackage import data_package
from transforms.publish.folder import (
    MANIFEST,
    describe_releases,
    latest,
    publish_release,
)
from transforms.publish.geojson import write_geojson, write_point_geojson
from transforms.publish.geoparquet import (
    hilbert_order,
    spatially_sorted,
    write_point_geoparquet,
)
from transforms.publish.portal import write_dataset_index, write_release_page
from transforms.publish.tiles import write_pmtiles, write_point_pmtiles
from transforms.sources.czech_police.codes import english_type_names
from transforms.validation import (
    VALIDATION_RECORD,
    passed,
)


def write_release(
    settings: Settings, staged: str, run_id: str, stages: Stages | None = None
) -> dict[str, Any]:
    """Write the versioned release from validated, audited staged tables; move ``latest``."""
    stages = stages or Stages()
    folder = Path(staged)
    if not passed(folder):
        raise RuntimeError("the staged release tables failed validation; not publishing")
    if not (read_json_or_none(folder / AUDIT_RECORD) or {}).get("passed"):
        raise RuntimeError("the staged release tables failed the disclosure audit; not publishing")
    inputs = read_json(folder / "inputs.json")
    policy, policy_raw = load_policy(settings.policy_path)
    geography, _ = load_current_geography(settings)
    docs_source = docs_dir(settings, "publish", run_id)
    dataset_dir = settings.releases_dir / settings.dataset_id
    pointer = latest(dataset_dir)
    previous = read_json(dataset_dir / pointer["version"] / MANIFEST) if pointer else None

    sources = [SourceTerms(**terms) for terms in inputs["sources"]]
    reports = month_reports(settings, inputs["months"])
    source_changes = export_changes_by_month(reports)
    changes = what_changed(previous, inputs, source_changes)
    if settings.release_note:
        changes.append(settings.release_note)

    job = ReleaseJob(
        settings=settings,
        folder=folder,
        inputs=inputs,
        policy=policy,
        policy_raw=policy_raw,
        geography=geography,
        docs_source=docs_source,
        changes=changes,
        digests=FinishedFileDigests(),
        stages=stages,
        sources=sources,
        licence=release_licence(sources),
        previous_release=dataset_dir / pointer["version"] if pointer else None,
    )
    manifest = {
        "dataset": settings.dataset_id,
        "data_months": sorted(inputs["months"]),
        "code_version": inputs["code"],
        "policy": {"id": policy.id, "version": policy.version, "sha256": inputs["policy_sha256"]},
        # what the offence figures leave out below the district: the next release checks that
        # its cells are the same sums of records before it treats these as known
        "sensitive_offences": inputs["sensitive_offences"],
        "inputs": {
            "geography": inputs["geography"],
            "incident_partitions": inputs["months"],
            "raw_files": raw_input_files(settings, inputs["geography"], reports),
        },
        "parameters": {
            "quarantine_limit": settings.quarantine_limit,
            "disclosure_policy": policy.model_dump(mode="json"),
            "licence": release_licence(sources).id,
        },
        # each input's licence and attribution: the release's licence is the most open one
        # they all allow
        "sources": inputs["sources"],
        # how the police's export departed from the schema we know, by month (when it did)
        **({"source_changes": source_changes} if source_changes else {}),
        "summary": inputs["summary"],
        "validation": read_json(folder / VALIDATION_RECORD),
        "changes": changes,
    }
    result = publish_release(
        dataset_dir,
        max(inputs["months"]),
        inputs["fingerprint"],
        functools.partial(write_release_files, job),
        manifest,
        job.digests,
    )
    write_series_record(settings, dataset_dir)
    write_dataset_index(dataset_dir, settings.dataset_title, release_list(dataset_dir))
    return {"version": result.version, "path": str(result.path), "created": result.created}


@dataclass
class ReleaseJob:
    """What writing a release's files needs: the staged tables and their inputs, the policy,
    the geography, the changelog, and the digests of the files as they are written (the
    page, the data package and the manifest list them)."""

    settings: Settings
    folder: Path  # the staged tables
    inputs: dict[str, Any]
    policy: DisclosurePolicy
    policy_raw: bytes
    geography: gpd.GeoDataFrame
    docs_source: Path
    changes: list[str]
    digests: FinishedFileDigests
    stages: Stages
    sources: list[SourceTerms]
    licence: Licence
    previous_release: Path | None = None  # the folder of the release this one follows


def write_release_files(job: ReleaseJob, target: Path, version: str) -> dict[str, Any]:
    """Every file of the release into ``target`` (the release's staging folder): the counts,
    the areas and their tiles in this process while a side process writes the points, their
    tiles, the unit pages and the national map's data; then the policy, the audit, Data Docs,
    catalogue records, page and data package. Returns the manifest's row counts."""
    # the areas' shapes, the points' tiles and files, and the portal's unit pages and map
    # (half the work) are made on the second core meanwhile; this process writes the counts,
    # the areas and the areas' tiles, so that the two finish together
    offence_groups = type_groups(job)
    offence_names = page_offence_names(job)
    with worker_processes(1) as side:
        # first in the side process's queue: the shapes are ready long before the counts
        shapes = side.submit(area_shapes, area_polygons(job.geography))
        point_tiles = side.submit(write_point_tiles, job.folder / POINT_CLASSES, target)
        point_files = side.submit(write_point_files, job.folder / POINT_CLASSES, target)
        # the pages' maps draw the same shapes: waited for here (the side process has them
        # within seconds), not made twice
        simplified, shape_stages = shapes.result()
        job.stages.record(shape_stages)
        portal = side.submit(
            write_unit_portal,
            UnitPortal(
                staged=job.folder,
                months=job.inputs["months"],
                geography=job.geography,
                shapes=simplified,
                offence_parents=offence_groups,
                offence_names=offence_names,
                policy=job.policy,
                title=job.settings.dataset_title,
                version=version,
                police_units=police_unit_links(job.settings, job.inputs["geography"]),
            ),
            target,
        )
        counts_rows, area_totals, code_parts = 0, [], []
        with (
            job.stages("write counts (Parquet, CSV)"),
            ParquetAppender(target / "counts.parquet") as parquet,
            CsvAppender(target / "counts.csv") as csv,
        ):
            for _year, counts in count_tables_by_year(job.folder, job.inputs["months"]):
                parquet.append(counts)
                csv.append(counts)
                counts_rows += counts.num_rows
                area_totals.append(all_offence_rows(counts))
                code_parts.append(distinct_codes(counts))
        job.digests.add({target / "counts.csv": csv.sha256})  # hashed as it was written
        with job.stages("compare with the previous release"):
            previous = job.previous_release
            changelog = write_changes(
                previous / "counts.parquet" if previous else None,
                target / "counts.parquet",
                target / "changes.csv",
            )
        with job.stages("write codes"):
            codes = release_code_list(job, code_parts, offence_groups, offence_names)
            write_csv(codes, target / "codes.csv")
        with job.stages("write areas with totals"):
            totals = all_offence_totals(area_totals)
            areas = {
                name: spatially_sorted(
                    areas_with_totals(job.geography, simplified[level], totals, level)
                )
                for level, name in AREA_FILES.items()
            }
        for name, layer in areas.items():
            with job.stages("write areas with totals"):
                path = target / f"{name}.geojson"
                job.digests.add({path: write_geojson(layer, path)})  # hashed as it was written
                write_geoparquet(layer, target / f"{name}.parquet")
        write_municipality_tiles(tile_properties(areas["municipalities"]), target, job.stages)
        with job.stages("checksums while the side process writes"):
            # this process's files (gigabytes) are hashed while it would wait anyway; one
            # thread, as the side process has the other core
            # (the CSV and the GeoJSON files were hashed as they were written)
            job.digests.prefetch(
                [target / n for n in ("counts.parquet", "municipalities.pmtiles")]
                + [target / f"{n}.parquet" for n in areas],
                threads=1,
            )
        with job.stages("wait for the side process"):
            job.stages.record(point_tiles.result())
            point_rows, point_digests, point_stages = point_files.result()
            job.stages.record(point_stages)
            job.digests.add(point_digests)
            national_map, portal_stages = portal.result()
            job.stages.record(portal_stages)
    (target / "disclosure-policy.yaml").write_bytes(job.policy_raw)
    shutil.copyfile(job.folder / AUDIT_RECORD, target / "audit.json")
    site = job.docs_source / "gx" / "uncommitted" / "data_docs" / "local_site"
    if site.exists():
        copy_data_docs(site, target / "validation" / "data_docs")
    write_json_atomic(
        target / "catalog" / "dataset.jsonld",
        release_catalogue_record(
            job.settings, version, sorted(job.inputs["months"]), job.licence.url
        ),
    )
    job.digests.prefetch([p for p in target.rglob("*") if p.is_file()])
    write_release_page(
        target,
        title=job.settings.dataset_title,
        version=version,
        months=sorted(job.inputs["months"]),
        licence=job.licence,
        sources=job.sources,
        policy=job.policy,
        audit=read_json(job.folder / AUDIT_RECORD),
        changes=job.changes,
        files=RELEASE_FILES,
        digest=job.digests,
        browse=[
            (level, str(code), str(name))
            for level, code, name in zip(
                job.geography["level"], job.geography["code"], job.geography["name"], strict=True
            )
            if level in ("country", "region")
        ],
        national_map=national_map,
        changelog=changelog,
    )
    write_json_atomic(
        target / "datapackage.json",
        release_data_package(job, target, version),
    )
    return {
        "row_counts": {
            "counts": counts_rows,
            "incidents": point_rows,
            **{name: len(layer) for name, layer in areas.items()},
        }
    }


def page_offence_names(job: ReleaseJob) -> dict[str, tuple[str, str]]:
    """Each offence node's (Czech, English) name for the portal's pages."""
    types = code_list(job.settings, job.inputs["months"])
    names = {int(t["code"]): str(t["name"]) for t in types}
    parent = {int(t["code"]): t["parent"] for t in types}
    sensitive = sensitive_codes(job.policy, names, parent)
    dimension = offence_dimension(names, parent, sensitive)
    return offence_names(dimension, names, english_type_names(types), parent)


def type_groups(job: ReleaseJob) -> dict[str, str]:
    """Each offence type's group, as the police's code list gives it."""
    types = code_list(job.settings, job.inputs["months"])
    return {str(t["code"]): str(t["parent"]) for t in types if t["parent"] is not None}


def release_code_list(
    job: ReleaseJob,
    parts: list[pa.Table],
    groups: dict[str, str],
    names: dict[str, tuple[str, str]],
) -> pd.DataFrame:
    """``codes.csv``: the counts table's codes with their parents (the geography's, and the
    police's code list for the offence types' groups: :func:`type_groups`) and English names
    (:func:`page_offence_names`)."""
    english = {code: en for code, (_, en) in names.items()}
    return codes_table(parts, job.geography[["code", "parent_code"]], groups, english)


def write_point_tiles(staged_classes: Path, target: Path) -> list[tuple[str, float, float]]:
    """The incidents' PMTiles archive, a feature per k-anonymous class (the classes
    ``validate_tables`` checked and staged, :data:`POINT_CLASSES`); the stage timings (run in a
    side process)."""
    stages = Stages()
    with stages("write point tiles"):
        classes = pq.read_table(staged_classes).to_pandas()
        write_point_pmtiles(
            gpd.GeoDataFrame(
                classes.drop(columns=["lon", "lat"]),
                geometry=gpd.points_from_xy(classes["lon"], classes["lat"]),
                crs=WGS84,
            ),
            target / "incidents.pmtiles",
            "incidents",
            5,
            14,
            cluster_by=["month", "offence_group", "offence_group_name"],
            summed="records",
        )
    return stages.rows


def write_point_files(
    staged_classes: Path, target: Path
) -> tuple[int, dict[Path, str], list[tuple[str, float, float]]]:
    """The published points as GeoParquet and GeoJSON, a row (feature) per k-anonymous class with
    its ``records``, Hilbert-sorted: their rows, their SHA-256 (hashed here, once written) and
    the stage timings (run in a side process)."""
    stages = Stages()
    paths = [target / "incidents.parquet", target / "incidents.geojson"]
    with stages("write points (GeoParquet, GeoJSON)"):
        points = pq.read_table(staged_classes, columns=[*POINT_COLUMNS, "records"])
        points = points.take(hilbert_order(points["lon"].to_numpy(), points["lat"].to_numpy()))
        write_point_geoparquet(points, paths[0])
        digests = {paths[1]: write_point_geojson(points, paths[1])}  # hashed as it was written
    with stages("checksums while the side process writes"):
        digests[paths[0]] = sha256_file(paths[0])
    return points.num_rows, digests, stages.rows


def write_municipality_tiles(
    municipalities: gpd.GeoDataFrame, target: Path, stages: Stages | None = None
) -> None:
    """The municipalities' PMTiles archive."""
    with (stages or Stages())("write municipality tiles (GDAL)"):
        write_pmtiles(municipalities, target / "municipalities.pmtiles", "municipalities", 5, 12)


def release_data_package(job: ReleaseJob, folder: Path, version: str) -> dict[str, Any]:
    """The release's ``datapackage.json``: every file, its schema, hash and licence, and the
    sources with the attribution each asks for."""
    return data_package(
        folder,
        name=job.settings.dataset_id,
        version=version,
        title=job.settings.dataset_title,
        description=(
            "Offences recorded by the police, counted by municipality, district, region and "
            "country, by month and year, and by offence type and group, with small counts "
            "suppressed and incident points generalised to k-anonymous cells."
        ),
        licence=job.licence,
        sources=[
            {"title": t.attribution, "path": t.url, "licence": t.licence} for t in job.sources
        ],
        files=RELEASE_FILES,
        schemas_dir=job.settings.output_schemas_dir,
        digest=job.digests,
    )


def month_reports(settings: Settings, months: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each month's ``report.json`` (month → partition), oldest first."""
    return {
        month: read_json(partition_folder(settings, Month.parse(month), key) / "report.json")
        for month, key in sorted(months.items())
    }


def raw_input_files(
    settings: Settings, geography: str, reports: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every raw file the release was built from, with its SHA-256 (the snapshots' names):
    the geography's inputs, then each month's archive (``reports``: :func:`month_reports`)."""
    report = read_json(geography_folder(settings, geography) / "report.json")
    files = [
        {"source": name, "original_name": item["original_name"], "sha256": item["sha256"]}
        for name, item in sorted(report["inputs"].items())
    ]
    files += [
        {"source": f"police {month}", "sha256": report["snapshot"]}
        for month, report in reports.items()
    ]
    return files


def export_changes_by_month(reports: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """The months whose police export departed from the schema we know, with how
    (``czech_police.export_changes``); ``reports``: :func:`month_reports`."""
    return {
        month: report["export_changes"]
        for month, report in reports.items()
        if report.get("export_changes")
    }


def what_changed(
    previous: dict[str, Any] | None,
    inputs: dict[str, Any],
    source_changes: dict[str, list[str]] | None = None,
) -> list[str]:
    """Bilingual lines saying how this release differs from the one before it; with
    ``source_changes``, a line for each new or revised month whose police export changed."""
    before = (previous or {}).get("inputs", {}).get("incident_partitions", {})
    now = inputs["months"]
    added = sorted(set(now) - set(before))
    revised = sorted(m for m in now if m in before and before[m] != now[m])
    export_lines = [
        f"Změněný export policie / the police export changed ({month}): {'; '.join(lines)}."
        for month, lines in sorted((source_changes or {}).items())
        if month in added or month in revised
    ]
    if previous is None:
        return ["První vydání. / First release.", *export_lines]
    lines = [f"Předchozí vydání / previous release: {previous['version']}."]
    if added:
        lines.append(f"Nové měsíce / new months: {', '.join(added)}.")
    if revised:
        lines.append(f"Opravená data měsíců / revised data for: {', '.join(revised)}.")
    if previous.get("policy", {}).get("sha256") != inputs["policy_sha256"]:
        lines.append("Změněná pravidla ochrany / changed disclosure policy.")
    if previous.get("inputs", {}).get("geography") != inputs["geography"]:
        lines.append("Nové hranice nebo počty obyvatel / new boundaries or population.")
    if previous.get("code_version") != inputs["code"]:
        lines.append("Nová verze programu / new code version.")
    return lines + export_lines


def release_list(dataset_dir: Path) -> list[dict[str, Any]]:
    """The releases, oldest first, as the dataset's portal page lists them."""
    oldest_first = reversed(describe_releases(dataset_dir))
    return [
        {
            "version": release["version"],
            "order": f"{position:06d}",
            "first_month": release["data_months"][0],
            "last_month": release["data_months"][-1],
            "latest": release["latest"],
        }
        for position, release in enumerate(oldest_first)
    ]


def release_catalogue_record(
    settings: Settings, version: str, months: list[str], licence_url: str
) -> dict[str, Any]:
    """The release's DCAT-AP-CZ dataset record, one distribution per catalogued data file."""
    return dataset_record(
        publisher=catalogue_publisher(settings),
        dataset_id=settings.dataset_id,
        version=version,
        months=months,
        licence_url=licence_url,
        author=settings.publisher_name,
        files=RELEASE_FILES,
    )


def write_series_record(settings: Settings, dataset_dir: Path) -> None:
    """``<dataset>/catalog/series.jsonld``: the series every release is part of, over the months
    of all of them."""
    months = sorted({m for r in describe_releases(dataset_dir) for m in r["data_months"]})
    write_json_atomic(
        dataset_dir / "catalog" / "series.jsonld",
        series_record(
            publisher=catalogue_publisher(settings), dataset_id=settings.dataset_id, months=months
        ),
    )


# what the areas' totals are made of (``areas_with_totals``)
AREA_TOTAL_COLUMNS = [*CELL_KEY, "geo_level", "count", "status", "rate_per_1000"]


def all_offence_rows(counts: pa.Table) -> pa.Table:
    """The all-offence rows of a part of a counts table (text dictionary-encoded, as
    ``count_tables_by_year`` reads it), the areas' totals' columns only. Found on the offence
    codes' dictionary: a filter on the file would spell out each row's text first."""
    code = counts["offence_code"]
    inside = pc.is_in(code, value_set=pa.array([NONSENSITIVE], code.type.value_type))
    return counts.select(AREA_TOTAL_COLUMNS).filter(inside)


def all_offence_totals(parts: Iterable[pa.Table]) -> pd.DataFrame:
    """Every level's all-offence rows of the parts of a counts table: the areas' totals, a
    small slice of it (gathered while the parts are written, not read again: the decade's
    table read whole would take gigabytes)."""
    return with_text_decoded(pa.concat_tables(parts)).to_pandas()
