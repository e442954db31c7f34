"""Steps of the ``police_incidents`` DAG: fetch, parse and place, validate, commit a month."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from transforms.domain.geography import PointLocator, hierarchy_columns
from transforms.domain.periods import Month
from transforms.domain.quarantine import concat_quarantine, ledger_explanation, summarise
from transforms.pipeline.boundaries import (
    current_geography_version,
    load_current_geography,
    load_units,
    municipality_locator,
    region_locator,
)
from transforms.pipeline.common import (
    COUNTRY,
    InputMissing,
    code_version,
    commit_month_partition,
    committed_partitions,
    country_parameters,
    docs_dir,
    snapshot_path,
)
from transforms.plumbing.settings import QUARANTINE_LIMIT_SETTING, Settings
from transforms.plumbing.snapshot import record_snapshot, store_snapshot
from transforms.plumbing.storage import (
    fingerprint,
    read_json,
    read_text_as_dictionaries,
    write_json_atomic,
    write_parquet,
)
from transforms.plumbing.timing import Stages
from transforms.sources import czech_police
from transforms.sources.http import download_first
from transforms.validation import (
    ValidationReport,
    gate,
    require,
    validate,
    validation_view,
)


def fetch_police_month(
    settings: Settings, month: Month, police_db_url: str | None = None
) -> dict[str, Any]:
    """The month's archive as a snapshot: from the police database when ``police_db_url`` is
    given (the Connection ``OPENCRIME_POLICE_SQL_CONN_ID``), else from the local input folder
    or the police API."""
    name = f"{month.compact}.zip"
    if police_db_url is not None:
        import sqlalchemy as sa

        from transforms.sources.police_sql import month_archive

        engine = sa.create_engine(police_db_url)
        try:
            data = month_archive(
                engine, month, settings.police_sql_layout, settings.police_sql_chunk_rows
            )
        finally:
            engine.dispose()
        origin = f"{engine.url.render_as_string(hide_password=True)} ({month})"
    elif settings.data_in is not None:
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


def archive_fix(settings: Settings, month: Month, snapshot: dict[str, Any]) -> str:
    """What to do about a month's archive that cannot be read, where its bytes came from: a
    re-run of the failed task alone would read the same stored snapshot again."""
    origin = str(snapshot.get("origin", ""))
    if origin.startswith(("http://", "https://")):
        return (
            f"the server at {origin} sent these bytes; clear the whole run (fetch_month "
            "included) to download the month again once the server sends the archive"
        )
    if settings.data_in is not None and "://" not in origin:
        return (
            f"put a good copy of the police's {month.compact}.zip in "
            f"{settings.data_in / 'police'} and clear the whole run (fetch_month included), "
            "so that the folder is read again"
        )
    return "clear the whole run (fetch_month included) to read the month again"


def read_month(
    settings: Settings, month: Month, snapshot: dict[str, Any]
) -> czech_police.PoliceDownload:
    """The month's archive read from its snapshot; an unreadable one names the fix for where
    its bytes came from (:func:`archive_fix`)."""
    data = snapshot_path(settings, snapshot).read_bytes()
    return czech_police.read_month_zip(data, month, archive_fix(settings, month, snapshot))


def partition_folder(settings: Settings, month: Month, key: str) -> Path:
    return settings.canonical_dir / "incidents" / "parts" / str(month) / key


def partition_key(
    settings: Settings, month: Month, snapshot: dict[str, Any], earlier: dict[str, str]
) -> str:
    """The month's partition: named by everything its contents depend on. ``earlier``: the
    partitions of the months before it (month → key), whose ids decide its duplicates."""
    return fingerprint(
        {
            "snapshot": snapshot["sha256"],
            "geography": current_geography_version(settings),
            "code": code_version(),
            "month": str(month),
            "earlier_months": {m: k for m, k in earlier.items() if m < str(month)},
        }
    )[:16]


def _earlier_months(settings: Settings, month: Month) -> dict[str, str]:
    return {m: k for m, k in committed_months(settings).items() if m < str(month)}


def _validate_month(
    settings: Settings,
    month: Month,
    run_id: str,
    frame: pd.DataFrame,
    suite: str,
    parameters: dict[str, Any] | None = None,
    data_docs: bool = True,
) -> ValidationReport:
    """Run a suite on a month's frame. Without ``data_docs`` (a batch of months) GX's in-memory
    context is reused and the Data Docs are built only for a month that fails."""
    docs = docs_dir(settings, f"police_incidents/{month}", run_id)
    report = validate(
        frame, suite, settings.expectations_dir, docs if data_docs else None, parameters
    )
    if not report.success and not data_docs:
        report = validate(frame, suite, settings.expectations_dir, docs, parameters)
    return report


def _check_raw(
    settings: Settings,
    month: Month,
    download: czech_police.PoliceDownload,
    run_id: str,
    data_docs: bool = True,
) -> ValidationReport:
    frame = download.records.frame
    return _validate_month(settings, month, run_id, frame, "raw_incidents", data_docs=data_docs)


# --- the spatial join, fanned out per region ----------------------------------------------------
# prepare_placement → place_in_region (one task per region, on any worker) → stage_police_month
# with placed_by_region=True gives the very partition stage_police_month gives alone: a point on
# a border between regions is placed by both, and the smallest code wins, as in locate_points.


def placement_folder(settings: Settings, month: Month, key: str) -> Path:
    return settings.runs_dir / "placement" / str(month) / key


def placement_key(settings: Settings, snapshot: dict[str, Any]) -> str:
    """A placement depends on the points (the snapshot), the geography and the code only, not
    on the months committed before: it can be prepared while an earlier month is committed."""
    return fingerprint(
        {
            "snapshot": snapshot["sha256"],
            "geography": current_geography_version(settings),
            "code": code_version(),
        }
    )[:16]


def prepare_placement(
    settings: Settings, month: Month, snapshot: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """Check the raw month and write the points to place; returns the regions to map over."""
    key = placement_key(settings, snapshot)
    _, screened = screen_police_month(settings, month, snapshot, run_id)
    lon, lat = screened.points
    folder = placement_folder(settings, month, key)
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(pd.DataFrame({"lon": lon, "lat": lat}), folder / "points.parquet")
    geography, _ = load_current_geography(settings)
    regions = sorted(geography.loc[geography["level"] == "region", "code"].astype(str))
    return {"key": key, "regions": regions, "points": len(lon)}


def screen_police_month(
    settings: Settings,
    month: Month,
    snapshot: dict[str, Any],
    run_id: str,
    stages: Stages | None = None,
    data_docs: bool = True,
) -> tuple[czech_police.PoliceDownload, czech_police.Screened]:
    """Parse the snapshot, run the raw suite and screen its rows: what
    :func:`stage_police_month` places and finishes (in this process, or a batch's task)."""
    stages = stages or Stages()
    with stages("parse"):
        download = read_month(settings, month, snapshot)
    with stages("validate raw (GX)"):
        require(_check_raw(settings, month, download, run_id, data_docs))
    with stages("screen"):
        screened = czech_police.screen(download.records, download.code_lists, month, COUNTRY)
    return download, screened


def _write_placement(codes: np.ndarray, path: Path) -> None:
    write_parquet(pd.DataFrame({"municipality_code": pd.array(codes, dtype="string")}), path)


def place_in_region(settings: Settings, month: Month, key: str, region: str) -> dict[str, Any]:
    """The municipality of each point that lies in ``region`` (None elsewhere)."""
    version = current_geography_version(settings)
    units = load_units(settings, version)
    folder = placement_folder(settings, month, key)
    points = pd.read_parquet(folder / "points.parquet")
    in_region = hierarchy_columns(units).query("region_code == @region")["municipality_code"]
    locate = region_locator(settings, version, set(in_region))
    codes = locate(points["lon"].to_numpy(), points["lat"].to_numpy())
    _write_placement(codes, folder / f"region-{region}.parquet")
    return {"region": region, "placed": int(pd.notna(codes).sum())}


def _placed_by_region(folder: Path) -> czech_police.Locator:
    """A locator answering from the per-region placements (for exactly the prepared points)."""
    points = pd.read_parquet(folder / "points.parquet")
    combined = np.full(len(points), None, dtype=object)
    for path in sorted(folder.glob("region-*.parquet")):
        codes = pd.read_parquet(path)["municipality_code"].astype(object).to_numpy()
        better = pd.notna(codes) & (pd.isna(combined) | (codes.astype(str) < combined.astype(str)))
        combined[better] = codes[better]

    def locate(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        same = np.array_equal(lon, points["lon"].to_numpy()) and np.array_equal(
            lat, points["lat"].to_numpy()
        )
        if not same:
            raise RuntimeError(f"the placements in {folder} are for other points: prepare again")
        return combined

    return locate


@dataclass
class IngestContext:
    """What every month of a run is placed and checked against, loaded once (a batch of months
    shares it; a single month builds it)."""

    geography: gpd.GeoDataFrame
    hierarchy: pd.DataFrame
    locate: PointLocator
    earlier: czech_police.IdIndex
    # the partitions of the months before (month → key): their ids are ``earlier``'s
    earlier_partitions: dict[str, str]
    data_docs: bool = True  # off for a batch: built only for a month that fails

    @classmethod
    def load(cls, settings: Settings, month: Month) -> IngestContext:
        geography, version = load_current_geography(settings)
        earlier = _earlier_months(settings, month)
        return cls(
            geography,
            hierarchy_columns(geography),
            municipality_locator(settings, geography, version),
            accepted_ids(settings, earlier),
            earlier,
        )

    def add_month(self, settings: Settings, month: Month, key: str) -> None:
        """The next month of a batch, staged as partition ``key``: later months are judged
        against it (a batch commits it once it has passed its suites, before any later one)."""
        add_accepted_ids(self.earlier, settings, str(month), key)
        self.earlier_partitions[str(month)] = key


def stage_police_month(
    settings: Settings,
    month: Month,
    snapshot: dict[str, Any],
    run_id: str,
    placed_by_region: bool = False,
    context: IngestContext | None = None,
    stages: Stages | None = None,
    download: czech_police.PoliceDownload | None = None,
    screened: czech_police.Screened | None = None,
) -> dict[str, Any]:
    """Parse, check, place and stage one month. Rows that fail go to the quarantine.

    ``placed_by_region``: take the points' municipalities from the per-region placement tasks
    (which also checked the raw file) instead of placing them here.
    ``context``: the geography and the earlier months' ids, when a batch of months shares them.
    ``download``, ``screened``: the snapshot as already parsed, checked by the raw suite and
    screened (:func:`screen_police_month`, in a batch's helper process): the canonicalisation
    places and finishes its rows.
    """
    stages = stages or Stages()
    context = context or IngestContext.load(settings, month)
    key = partition_key(settings, month, snapshot, context.earlier_partitions)
    folder = partition_folder(settings, month, key)
    if placed_by_region:
        locate = _placed_by_region(
            placement_folder(settings, month, placement_key(settings, snapshot))
        )
    else:

        def locate(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
            with stages("spatial join"):
                return context.locate(lon, lat)

    if download is None or screened is None:
        if placed_by_region:  # the raw suite ran when the placement was prepared
            with stages("parse"):
                download = read_month(settings, month, snapshot)
            with stages("screen"):
                screened = czech_police.screen(
                    download.records, download.code_lists, month, COUNTRY
                )
        else:
            download, screened = screen_police_month(
                settings, month, snapshot, run_id, stages, context.data_docs
            )
    with stages("canonical"):
        canonical, quarantine = czech_police.finish(
            screened, download.code_lists, month, locate, context.earlier
        )
        canonical = canonical.merge(context.hierarchy, on="municipality_code", how="left")
        report = _ingest_report(month, snapshot, download, canonical, quarantine, key)
    with stages("write partition"):
        folder.mkdir(parents=True, exist_ok=True)
        write_parquet(canonical, folder / "incidents.parquet")
        write_parquet(concat_quarantine([quarantine]), folder / "quarantine.parquet")
        write_json_atomic(folder / "code_lists.json", download.code_lists.to_json())
        write_json_atomic(folder / "report.json", report)
    return {
        "key": key,
        **{
            k: report[k]
            for k in (
                "input_rows",
                "accepted_rows",
                "quarantined_rows",
                "quarantine_share",
                "quarantine_reasons",
                "export_changes",
            )
        },
    }


def ledger_lines(staged: dict[str, Any]) -> list[str]:
    """What a staged month's log says: rows in, accepted and quarantined with the reasons, and
    how the police's export differs from the schema we know."""
    lines = [
        f"{staged['input_rows']} rows in: {staged['accepted_rows']} accepted, "
        f"{staged['quarantined_rows']} quarantined ({staged['quarantine_share']:.2%})"
    ]
    lines += [
        f"quarantined {r['count']:>6} × {r['reason']}, e.g. {r['examples'][:2]}"
        for r in staged["quarantine_reasons"]
    ]
    lines += [f"the police export changed: {change}" for change in staged["export_changes"]]
    return lines


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
        "delimiter": download.records.delimiter,
        "export_changes": czech_police.export_changes(download.records),
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
    settings: Settings,
    month: Month,
    key: str,
    run_id: str,
    stages: Stages | None = None,
    data_docs: bool = True,
) -> dict[str, Any]:
    stages = stages or Stages()
    folder = partition_folder(settings, month, key)
    report = read_json(folder / "report.json")
    ledger = pd.DataFrame([{k: report[k] for k in ("unaccounted_rows", "quarantine_share")}])
    with stages("validate canonical (GX)"):
        ledger_check = _validate_month(
            settings,
            month,
            run_id,
            ledger,
            "incident_ledger",
            {"quarantine_limit": settings.quarantine_limit},
            data_docs,
        )
        if not ledger_check.success:
            ledger_check.explanation = ledger_explanation(
                report,
                settings.quarantine_limit,
                str(folder / "quarantine.parquet"),
                QUARANTINE_LIMIT_SETTING,
            )
        checks = [
            ledger_check,
            _validate_month(
                settings,
                month,
                run_id,
                # text read as the file's own dictionaries: categories without hashing
                validation_view(
                    read_text_as_dictionaries(folder / "incidents.parquet").to_pandas()
                ),
                "canonical_incidents",
                country_parameters() | {"months": [str(month)]},
                data_docs,
            ),
        ]
    return gate(checks, folder)


def commit_police_month(settings: Settings, month: Month, key: str) -> dict[str, Any]:
    """Make a validated month partition the one readers see (an atomic pointer swap)."""
    months = settings.canonical_dir / "incidents" / "months"
    return commit_month_partition(months, partition_folder(settings, month, key), str(month), key)


def accepted_ids(settings: Settings, months: dict[str, str]) -> czech_police.IdIndex:
    """The incident ids each of ``months`` (month → partition) accepted, oldest first."""
    index = czech_police.IdIndex()
    for month, key in sorted(months.items()):
        add_accepted_ids(index, settings, month, key)
    return index


def add_accepted_ids(index: czech_police.IdIndex, settings: Settings, month: str, key: str) -> None:
    """Add the ids a month's partition accepted (the months are added oldest first)."""
    folder = partition_folder(settings, Month.parse(month), key)
    ids = pd.read_parquet(folder / "incidents.parquet", columns=["incident_id"])
    index.add(month, ids["incident_id"].to_numpy())


def committed_months(settings: Settings) -> dict[str, str]:
    return committed_partitions(settings.canonical_dir / "incidents" / "months")
