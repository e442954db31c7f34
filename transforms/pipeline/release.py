"""Steps of the ``publish`` DAG: check the policy, build and protect the tables and the point
file, audit them, validate them, and write the versioned release."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import pairwise, repeat
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms.aggregate import (
    NONSENSITIVE,
    SENSITIVE,
    Cube,
    build_cube,
    geography_dimension,
    offence_dimension,
    part_code,
    period_dimension,
)
from transforms.columns import with_text_decoded
from transforms.periods import Month
from transforms.pipeline.common import (
    COUNTRY,
    InputMissing,
    code_version,
    country_parameters,
    docs_dir,
)
from transforms.pipeline.geography import (
    geography_folder,
    load_current_geography,
    load_current_units,
)
from transforms.pipeline.incidents import committed_months, partition_folder
from transforms.privacy.audit import (
    AuditFailed,
    AuditResult,
    audit,
    audit_report,
    cell_labels,
)
from transforms.privacy.cells import (
    NO_CELLS,
    NOTHING_KNOWN,
    PUBLIC_STATUSES,
    PUBLISHED,
    SUPPRESSED,
    KnownCells,
    below_sensitive_level,
    primary_cells,
    required_widths,
    table_cells,
)
from transforms.privacy.kanon import (
    POINT_COLUMNS,
    POINT_TEXT_COLUMNS,
    WGS84,
    PointLoss,
    PointRelease,
    point_classes,
)
from transforms.privacy.policy import (
    GEO_LEVELS,
    DisclosurePolicy,
    check_against_code_list,
    load_policy,
    policy_sha256,
    sensitive_codes,
)
from transforms.privacy.report import (
    add_tallies,
    protection_cost,
    public_protection_cost,
    tally,
)
from transforms.privacy.suppression import Protection
from transforms.privacy.tables import protect_year
from transforms.publish.catalogue import dataset_record
from transforms.publish.contents import ReleaseFile
from transforms.publish.datadocs import copy_data_docs
from transforms.publish.datapackage import Licence, data_package
from transforms.publish.formats import (
    CsvAppender,
    ParquetAppender,
    hilbert_order,
    read_text_as_dictionaries,
    spatially_sorted,
    text_columns,
    write_geojson,
    write_geoparquet,
    write_pmtiles,
    write_point_geojson,
    write_point_geoparquet,
)
from transforms.publish.portal import write_dataset_index, write_release_page
from transforms.publish.release import (
    MANIFEST,
    describe_releases,
    latest,
    publish_release,
    versions,
)
from transforms.publish.tiles import write_point_pmtiles
from transforms.settings import Settings
from transforms.storage import (
    FinishedFileDigests,
    fingerprint,
    read_json,
    read_json_or_none,
    sha256_file,
    write_json_atomic,
)
from transforms.timing import Stages
from transforms.validation import (
    VALIDATION_RECORD,
    gate,
    great_expectations_imported_meanwhile,
    passed,
    validate,
    validate_batches,
    validation_view,
)
from transforms.workers import processes_for, worker_processes

CELL_KEY = ["geo_code", "period", "offence_code"]
CERTIFICATES = "certificates.parquet"
PREVIOUS_CERTIFICATES = "previous-certificates.parquet"  # while the same inputs are restaged
AUDIT_RECORD = "audit.json"  # the audit gate's record, beside the tables it attacked
AUDIT_DETAILS = "audit_details.json"  # how the proof went: the operator's, never published
# the point classes validate_tables checked, staged beside its record: the tiles draw them
POINT_CLASSES = "point_classes.parquet"


@dataclass
class ReleaseContext:
    """Everything a release is computed from, loaded once per step."""

    settings: Settings
    inputs: dict[str, Any]
    policy: DisclosurePolicy
    policy_raw: bytes
    geography: pd.DataFrame  # the units; a GeoDataFrame with their shapes if asked for
    incidents: pd.DataFrame  # counted canonical rows of every committed month
    type_names: dict[int, str]
    type_parent: dict[int, int | None]
    sensitive: frozenset[int]
    # per year, the parts of it earlier releases held, and which releases (earlier_years)
    earlier: EarlierYears

    @property
    def months(self) -> list[str]:
        return sorted(self.inputs["months"])


class IncompatibleRelease(RuntimeError):
    """The previous release's cells mean other sums of the records than this release's."""


@dataclass(frozen=True)
class EarlierYears:
    """What earlier releases showed of a year before its last month: their year figure was the
    sum of the months they held (a *part* of the year: ``aggregate.period_dimension``)."""

    parts: dict[str, list[tuple[str, ...]]]  # year -> its parts, each a tuple of months
    holders: dict[str, list[str]]  # part code -> the releases whose year figure it is


NO_EARLIER_YEARS = EarlierYears({}, {})


def earlier_years(settings: Settings, inputs: dict[str, Any]) -> EarlierYears:
    """The parts of this release's years that earlier releases of the dataset held, for the
    years whose cells the previous release's pattern does not simply carry over: a year with
    a new or revised month, or every year where the policy or the geography changed since.

    A reader who holds release 2025-02.1 (2025 = January + February) and this one (2025 =
    January to March) knows March as their difference: the part is a figure the audit must
    know. Parts nest (each release adds months); one that does not is refused: this version
    cannot model it."""
    dataset_dir = settings.releases_dir / settings.dataset_id
    manifests = [read_json_or_none(dataset_dir / v / MANIFEST) for v in versions(dataset_dir)]
    manifests = [m for m in manifests if m]
    if not manifests:
        return NO_EARLIER_YEARS
    latest_manifest = manifests[-1]
    before = latest_manifest.get("inputs", {}).get("incident_partitions", {})
    now: dict[str, str] = inputs["months"]
    same_rules = (
        latest_manifest.get("inputs", {}).get("geography") == inputs["geography"]
        and latest_manifest.get("policy", {}).get("sha256") == inputs["policy_sha256"]
    )
    parts: dict[str, list[tuple[str, ...]]] = {}
    holders: dict[str, list[str]] = {}
    for year in sorted({m[:4] for m in now}):
        months = {m for m in now if m.startswith(year)}
        unchanged = months == {m for m in before if m.startswith(year)} and all(
            before[m] == now[m] for m in months
        )
        if unchanged and same_rules:
            continue  # the previous release's pattern of this year is carried over whole
        found: dict[tuple[str, ...], list[str]] = {}
        for manifest in manifests:
            held = tuple(sorted(m for m in manifest["data_months"] if m.startswith(year)))
            if held and set(held) < months:
                found.setdefault(held, []).append(manifest["version"])
        nested = sorted(found, key=len)
        for inner, outer in pairwise(nested):
            if not set(inner) < set(outer):
                raise IncompatibleRelease(
                    f"earlier releases held {year} as {list(inner)} and as {list(outer)}, "
                    "neither inside the other: a reader can subtract them in ways this "
                    "version does not audit. Publish the missing months in order."
                )
        if nested:
            parts[year] = nested
            for held in nested:
                holders[part_code(year, held)] = found[held]
    return EarlierYears(parts, holders)


def release_inputs(settings: Settings) -> dict[str, Any]:
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


def _code_list(settings: Settings, months: dict[str, str]) -> list[dict[str, Any]]:
    """The offence types as coded in the newest month's own download."""
    newest = max(months)
    folder = partition_folder(settings, Month.parse(newest), months[newest])
    types: list[dict[str, Any]] = read_json(folder / "code_lists.json")["types"]
    return types


def check_policy(settings: Settings) -> dict[str, Any]:
    """Refuse an inconsistent policy before any table is built."""
    policy, raw = load_policy(settings.policy_path)
    months = committed_months(settings)
    if not months:
        raise InputMissing("no committed month: run 'police_incidents' first")
    types = _code_list(settings, months)
    names = {t["code"]: t["name"] for t in types}
    check_against_code_list(policy, names)
    sensitive = sensitive_codes(policy, names, {t["code"]: t["parent"] for t in types})
    return {
        "id": policy.id,
        "version": policy.version,
        "sha256": policy_sha256(raw),
        "sensitive_offences": sorted(sensitive),
    }


# what counting and the k-anonymous points read of a canonical incident
RELEASE_COLUMNS = [
    "incident_id",
    "offence_code",
    "offence_group",
    "counted",
    "reported_month",
    "lon",
    "lat",
    "municipality_code",
]

# what counting reads (``build_release_cube``): the audit recounts without the ids and points
CUBE_COLUMNS = ["offence_code", "counted", "reported_month", "municipality_code"]


def _load_incidents(paths: list[Path], columns: list[str] = RELEASE_COLUMNS) -> pd.DataFrame:
    """The committed partitions, with only the columns a release reads; months and places as
    categories (a decade is 15 million rows: as Python strings they alone took over 3 GiB)."""
    if not paths:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    table = pa.concat_tables(pq.read_table(p, columns=columns) for p in paths)
    text = [c for c in ("reported_month", "municipality_code") if c in columns]
    incidents = table.to_pandas(categories=text)
    del table
    # Arrow's allocator keeps freed pages for reuse: on a decade, 1.9 GiB the steps after this
    # (pandas and shapely, not Arrow) would never use
    pa.default_memory_pool().release_unused()
    return incidents


def _partitions(settings: Settings, months: dict[str, str]) -> list[Path]:
    return [
        partition_folder(settings, Month.parse(m), p) / "incidents.parquet"
        for m, p in sorted(months.items())
    ]


def check_history(settings: Settings, inputs: dict[str, Any]) -> None:
    """The checks that need every committed month at once (ids and months only).

    A partition holds its own month's incidents only (its canonical suite checks that), so its
    ids alone are read and compared with the other partitions'; the months are read only to
    name them when an id is in two (a decade: 2.3-4.1 s -> 0.6-1.4 s of CPU)."""
    paths = _partitions(settings, inputs["months"])
    parts = [pq.read_table(p, columns=["incident_id"])["incident_id"].to_numpy() for p in paths]
    if not ids_in_one_part(parts):
        check_each_incident_in_one_month(_load_incidents(paths, ["incident_id", "reported_month"]))


def ids_in_one_part(parts: list[np.ndarray]) -> bool:
    """Whether no id is in more than one of ``parts`` (within its part an id may repeat).

    Ids that fill most of their range (a police force numbers its records) are marked in a
    table of that range, each part's with its number, in one pass; others are sorted."""
    parts = [part.astype(np.int64, copy=False) for part in parts if len(part)]
    if not parts:
        return True
    low, high = min(int(p.min()) for p in parts), max(int(p.max()) for p in parts)
    if high - low < 4 * sum(len(p) for p in parts) + (1 << 20):
        owner = np.zeros(high - low + 1, dtype=np.min_scalar_type(len(parts)))  # 0: no part
        for number, part in enumerate(parts, 1):
            seen = owner[part - low]
            if ((seen != 0) & (seen != number)).any():
                return False
            owner[part - low] = number
        return True
    distinct = np.sort(np.concatenate([np.unique(p) for p in parts]))
    return not (distinct[1:] == distinct[:-1]).any()


def check_each_incident_in_one_month(incidents: pd.DataFrame) -> None:
    """A month staged before an earlier one was (re)committed may repeat that month's ids.

    On sorted integer arrays: a decade's 15 million (id, month) pairs in about a second."""
    ids = incidents["incident_id"].to_numpy(dtype=np.int64)
    month, months = pd.factorize(incidents["reported_month"], sort=True)
    order = np.lexsort((month, ids))
    ids, month = ids[order], month[order]
    distinct = np.ones(len(ids), dtype=bool)
    distinct[1:] = (ids[1:] != ids[:-1]) | (month[1:] != month[:-1])
    ids, month = ids[distinct], month[distinct]
    repeated = np.zeros(len(ids), dtype=bool)
    repeated[1:] = ids[1:] == ids[:-1]  # the id's second or later month
    if repeated.any():
        # each repeated id's latest month: the last of its run of distinct pairs
        last = np.flatnonzero(repeated & np.append(ids[1:] != ids[:-1], True))
        later = sorted({str(months[m]) for m in month[last]})
        raise RuntimeError(
            f"{len(last)} incident id(s) are in more than one committed month (e.g. "
            f"{ids[last][:3].tolist()}): re-run 'police_incidents' for {later} so they "
            "are quarantined there as duplicate_across_months"
        )


def load_context(
    settings: Settings,
    years: Iterable[str] | None = None,
    shapes: bool = False,
    columns: list[str] = RELEASE_COLUMNS,
) -> ReleaseContext:
    """What a release is computed from, with the incidents of ``years`` (all by default: then
    the history is checked too; a step that loads year by year calls ``check_history``).
    ``shapes``: the geography with its units' polygons (the k-anonymous points need them).
    ``columns``: the incidents' columns to read (:data:`CUBE_COLUMNS` to count them only)."""
    inputs = release_inputs(settings)
    policy, policy_raw = load_policy(settings.policy_path)
    geography = load_current_geography(settings)[0] if shapes else load_current_units(settings)
    wanted = None if years is None else set(years)
    months = {m: p for m, p in inputs["months"].items() if wanted is None or m[:4] in wanted}
    if years is None and not {"incident_id", "reported_month"} <= set(columns):
        raise ValueError("the whole history is checked on its ids and months: load them")
    incidents = _load_incidents(_partitions(settings, months), columns)
    if years is None:
        check_each_incident_in_one_month(incidents)
    types = _code_list(settings, inputs["months"])
    names = {int(t["code"]): str(t["name"]) for t in types}
    parent = {int(t["code"]): t["parent"] for t in types}
    check_against_code_list(policy, names)
    return ReleaseContext(
        settings,
        inputs,
        policy,
        policy_raw,
        geography,
        incidents[incidents["counted"].astype(bool)].reset_index(drop=True),
        names,
        parent,
        sensitive_codes(policy, names, parent),
        earlier_years(settings, inputs),
    )


def release_years(ctx: ReleaseContext) -> list[str]:
    return sorted({m[:4] for m in ctx.months})


def year_incidents(ctx: ReleaseContext, year: str) -> pd.DataFrame:
    return ctx.incidents[ctx.incidents["reported_month"].str.startswith(year)]


def build_release_cube(ctx: ReleaseContext, year: str) -> Cube:
    """The cube of one year. Years are the roots of the period hierarchy: no relation joins two
    years, so each year is counted, protected and audited on its own, and a release of a decade
    needs the memory of one year."""
    rows = year_incidents(ctx, year)
    # as categories of text: a year's 1.5 M records spelled out as strings take seconds
    offence = rows["offence_code"].astype("category")
    base = pd.DataFrame(
        {
            "geo": rows["municipality_code"].astype("category"),
            "period": rows["reported_month"].astype("category"),
            "offence": offence.cat.rename_categories(str),
        }
    )
    return build_cube(
        base,
        geography_dimension(ctx.geography),
        period_dimension(
            [m for m in ctx.months if m.startswith(year)],
            {year: ctx.earlier.parts[year]} if year in ctx.earlier.parts else None,
        ),
        offence_dimension(ctx.type_names, ctx.type_parent, ctx.sensitive),
    )


def _staged_rows(
    path: Path,
    periods: Iterable[str],
    columns: list[str] | None = None,
    *,
    text_as_categories: bool = False,
) -> pd.DataFrame:
    """The rows of a staged or released table that belong to ``periods`` (a cube's).

    ``text_as_categories``: text columns come back as categories, read from the file's own
    dictionaries. A year of counts repeats a few thousand codes and names over millions of
    rows; spelling each out as a Python string and then categorising it took 2.2 s of a year's
    validation, against 0.9 s. For readers that look values up, not for the published bytes.
    """
    periods = list(periods)
    year_file = _year_file(path, periods)
    text = _text_columns(year_file, columns) if text_as_categories else None
    if year_file == path or (columns is not None and "period" not in columns):
        return pd.read_parquet(
            path, columns=columns, filters=[("period", "in", periods)], read_dictionary=text
        )
    # a year's own file holds that year's periods: read whole, the filter was a copy of every
    # column (0.2-0.6 s of a year's 3.4 M rows); rows of other periods would still be dropped
    rows = pd.read_parquet(year_file, columns=columns, read_dictionary=text)
    outside = ~rows["period"].isin(periods)
    return rows[~outside].reset_index(drop=True) if outside.any() else rows


def _year_file(path: Path, periods: list[str]) -> Path:
    """A staged table's file of the year ``periods`` are in, if it has one; else ``path``."""
    years = {p[:4] for p in periods}
    if len(years) == 1 and (path / f"{min(years)}.parquet").is_file():
        return path / f"{min(years)}.parquet"  # staged a file per year: only it is opened
    return path


def _text_columns(path: Path, columns: list[str] | None) -> list[str]:
    text = text_columns(pq.ParquetDataset(path).schema)
    return [c for c in text if columns is None or c in columns]


def counts_by_year(
    folder: Path,
    months: Iterable[str],
    columns: list[str] | None = None,
    *,
    text_as_categories: bool = False,
) -> Iterator[tuple[str, pd.DataFrame]]:
    """A staged or released counts table a year at a time (the year's total and its months):
    a decade's table has about 93 million rows, a year's is what a worker holds in memory."""
    for year, periods in _year_periods(months):
        path = folder / "counts.parquet"
        yield year, _staged_rows(path, periods, columns, text_as_categories=text_as_categories)


def count_tables_by_year(folder: Path, months: Iterable[str]) -> Iterator[tuple[str, pa.Table]]:
    """``counts_by_year`` as Arrow tables, text dictionary-encoded as the file stores it: what
    the release writers copy to Parquet and CSV without a Python string per value."""
    for year, periods in _year_periods(months):
        path = _year_file(folder / "counts.parquet", periods)
        if path == folder / "counts.parquet":
            yield year, read_text_as_dictionaries(path, filters=[("period", "in", periods)])
            continue
        table = read_text_as_dictionaries(path)  # a year's own file: as in _staged_rows
        inside = pc.is_in(
            table["period"], value_set=pa.array(periods, table["period"].type.value_type)
        )
        yield year, table if pc.all(inside).as_py() else table.filter(inside)


def _year_periods(months: Iterable[str]) -> Iterator[tuple[str, list[str]]]:
    """Each year of ``months`` with its periods: the year's total and its months."""
    months = sorted(months)
    for year in sorted({m[:4] for m in months}):
        yield year, [year, *(m for m in months if m.startswith(year))]


def with_cell_numbers(cube: Cube, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` keyed by ``CELL_KEY``, with the cube's number of each cell as ``index``, in the
    cube's order (rows for cells the cube lacks are dropped)."""
    numbers = cube.cell_numbers(rows)
    kept = np.flatnonzero(numbers >= 0)
    kept = kept[np.argsort(numbers[kept], kind="stable")]
    return rows.iloc[kept].reset_index(drop=True).assign(index=numbers[kept])


@dataclass(frozen=True)
class PreviousRelease:
    """What the previous release tells of a year's cells (``previous_knowledge``)."""

    known: KnownCells  # what readers know: cells it published that still hold their value
    keep: np.ndarray  # cells it hid in unchanged periods: they stay hidden
    version: str | None
    # the certificates it chose, from its run's staging when that is still there: a kept
    # pattern is proven by the directions that hid it (hints, checked like any)
    hints: tuple[np.ndarray, np.ndarray] | None = None


NO_PREVIOUS_RELEASE = PreviousRelease(NOTHING_KNOWN, NO_CELLS, None)


def previous_knowledge(ctx: ReleaseContext, cube: Cube) -> PreviousRelease:
    """What the previous release already told readers about cells of this one.

    A cell it published is known wherever it still holds the value shown then (``known``):
    whatever changed in between (a revised month, new boundaries or population), a reader who
    takes the old figure for the new one is right exactly there. A cell of a period whose
    months are the same, and unchanged, in both releases, made under the same policy and
    geography, that it hid stays hidden (``keep``): the readers' tables stay consistent from one
    release to the next.
    """
    dataset_dir = ctx.settings.releases_dir / ctx.settings.dataset_id
    pointer = latest(dataset_dir)
    if pointer is None:
        return NO_PREVIOUS_RELEASE
    folder = dataset_dir / pointer["version"]
    manifest = read_json(folder / MANIFEST)
    _check_same_cells(manifest, ctx)
    before: dict[str, str] = manifest["inputs"]["incident_partitions"]
    now: dict[str, str] = ctx.inputs["months"]
    unchanged = {m for m, key in before.items() if now.get(m) == key}

    def months_of(period: str, months: list[str]) -> set[str]:
        return {period} if len(period) == 7 else {m for m in months if m.startswith(period)}

    # a period's cell is the same sum of records in both releases where its months are
    same_months = {
        p for p in cube.period.codes if months_of(p, sorted(now)) == months_of(p, sorted(before))
    }
    old = _staged_rows(
        folder / "counts.parquet",
        cube.period.codes,
        [*CELL_KEY, "count", "status"],
        text_as_categories=True,
    )
    old = old[old["period"].isin(same_months)]
    index = with_cell_numbers(cube, old)
    cell = index["index"].to_numpy(dtype=np.int64)
    shown = (index["status"] == PUBLISHED).to_numpy()
    value = index["count"].to_numpy(dtype="float64", na_value=np.nan)
    still = shown & (value == cube.count[cell])
    known = _with_earlier_parts(ctx, cube, KnownCells(cell[still], value[still].astype(np.int64)))
    same_rules = (
        manifest.get("inputs", {}).get("geography") == ctx.inputs["geography"]
        and manifest.get("policy", {}).get("sha256") == ctx.inputs["policy_sha256"]
    )
    if not same_rules:
        return PreviousRelease(known, NO_CELLS, pointer["version"])
    stable = {p for p in same_months if months_of(p, sorted(now)) <= unchanged}
    keep = ~shown & index["period"].isin(stable).to_numpy()
    staged = ctx.settings.runs_dir / "publish" / str(manifest.get("inputs_fingerprint", ""))[:16]
    return PreviousRelease(known, cell[keep], pointer["version"], _certificates(cube, staged))


def _with_earlier_parts(ctx: ReleaseContext, cube: Cube, known: KnownCells) -> KnownCells:
    """``known`` and the parts of the cube's year (``earlier_years``) that the releases holding
    them published, where they still hold the value shown then."""
    dataset_dir = ctx.settings.releases_dir / ctx.settings.dataset_id
    cells, counts = [known.cells], [known.counts]
    for code in cube.period.codes:
        if cube.period.level[code] != "part":
            continue
        year = code[:4]
        for version in ctx.earlier.holders.get(code, []):
            rows = _staged_rows(
                dataset_dir / version / "counts.parquet",
                [year],
                [*CELL_KEY, "count", "status"],
            )
            rows = rows[rows["status"] == PUBLISHED].assign(period=code)
            index = with_cell_numbers(cube, rows)
            cell = index["index"].to_numpy(dtype=np.int64)
            value = index["count"].to_numpy(dtype="float64", na_value=np.nan)
            still = value == cube.count[cell]
            cells.append(cell[still])
            counts.append(value[still].astype(np.int64))
    if len(cells) == 1:
        return known
    every = np.concatenate(cells)
    first = np.unique(every, return_index=True)[1]
    return KnownCells(every[first], np.concatenate(counts)[first])


def _check_same_cells(manifest: dict[str, Any], ctx: ReleaseContext) -> None:
    """Refuse a previous release whose cells are other sums of the records: one made under a
    policy whose municipal totals held sensitive offences, or whose sensitive offences were
    others. A reader who holds both releases could subtract one's figure from the other's."""
    version = manifest.get("version", "?")
    sensitive = manifest.get("sensitive_offences")
    if sensitive is not None and sorted(sensitive) == sorted(ctx.sensitive):
        return
    policy = manifest.get("policy", {})
    raise IncompatibleRelease(
        f"the previous release {version} was made under disclosure policy "
        f"{policy.get('id')} {policy.get('version')}, whose tables count "
        + (
            "sensitive offences inside the municipal totals"
            if sensitive is None
            else f"other offences as sensitive ({sorted(sensitive)} against "
            f"{sorted(ctx.sensitive)})"
        )
        + ": a reader who holds it and this release could subtract one figure from the other "
        "and learn sensitive counts of a municipality. If that release was never made public "
        "(the generated sample of 'make demo' never is), remove it: 'make clean', or delete "
        f"{ctx.settings.releases_dir / ctx.settings.dataset_id}. Otherwise publish this policy "
        "as a new dataset (OPENCRIME_DATASET_ID) and read docs/disclosure-policy.md on changing "
        "the policy of a published dataset."
    )


# Years counted and protected at once in build_tables, each in its own process (about 2 GiB
# each on a national year): the machines this runs on have two cores.
YEAR_WORKERS = 2


@dataclass
class StagedYear:
    """What a year's staging tells the release summary."""

    statuses: dict[str, int]
    cost: pd.DataFrame  # transforms.privacy.report.tally of the year's table
    rounds: int
    previous_release: str | None
    point_loss: PointLoss
    points: int
    counted: int
    # the country's total of each root of the offence hierarchy for the year is published: the
    # release's ledger (offences counted and the rows behind them) adds them up, so it may go
    # out only then
    totals_published: bool
    stages: list[tuple[str, float, float]]


def stage_release_tables(settings: Settings, stages: Stages | None = None) -> dict[str, Any]:
    """Count, protect (suppression + k-anonymous points) and stage the release's tables.

    Years are the roots of the period hierarchy, so no relation joins two and each year is
    counted and protected on its own, ``YEAR_WORKERS`` at a time, into its own files
    (``<table>.parquet/<year>.parquet``; readers see each table as one dataset)."""
    stages = stages or Stages()
    ctx = load_context(settings, years=())
    key = fingerprint(ctx.inputs)
    staged = settings.runs_dir / "publish" / key[:16]
    # the gates' records speak of the tables they checked: once those are rewritten, only the
    # gates may say so again (an attempt that fails halfway leaves some years restaged)
    for record in (VALIDATION_RECORD, AUDIT_RECORD, POINT_CLASSES):
        (staged / record).unlink(missing_ok=True)
    if (staged / CERTIFICATES).is_dir():
        # a run of the same inputs again: the certificates it staged are the previous release's
        # (previous_knowledge reads them as hints), kept aside while the years are restaged
        shutil.rmtree(staged / PREVIOUS_CERTIFICATES, ignore_errors=True)
        (staged / CERTIFICATES).rename(staged / PREVIOUS_CERTIFICATES)
    for table in STAGED_TABLES:  # a failed attempt's years, or an older version's single file
        if (staged / table).is_dir():
            shutil.rmtree(staged / table)
        (staged / table).unlink(missing_ok=True)
        (staged / table).mkdir(parents=True)
    years = release_years(ctx)
    statuses: Counter[str] = Counter()
    costs: list[pd.DataFrame] = []
    rounds, previous, counted, totals_published = 0, None, 0, True
    point_loss, point_rows = PointLoss(ctx.policy.incidents.k, {}, 0, 0), 0
    with processes_for(len(years), YEAR_WORKERS) as workers:
        # the workers start on the years while this process checks the history they rest on
        # (seconds each); a history that fails it stops the task, nothing staged is gated
        staging = workers.map(stage_year, repeat(settings), years, repeat(staged))
        try:
            with stages("check the history"):
                check_history(settings, ctx.inputs)
        except BaseException:
            workers.shutdown(cancel_futures=True)
            raise
        for year in staging:
            stages.record(year.stages)
            statuses.update(year.statuses)
            costs.append(year.cost)
            rounds = max(rounds, year.rounds)
            previous = year.previous_release
            point_loss, point_rows = point_loss + year.point_loss, point_rows + year.points
            counted += year.counted
            totals_published &= year.totals_published
    reports = [
        read_json(partition_folder(settings, Month.parse(m), p) / "report.json")
        for m, p in sorted(ctx.inputs["months"].items())
    ]
    cost = add_tallies(costs)
    ledger = {
        "input_rows": sum(r["input_rows"] for r in reports),
        "accepted_rows": sum(r["accepted_rows"] for r in reports),
        "quarantined_rows": sum(r["quarantined_rows"] for r in reports),
        "excluded_not_offence_rows": sum(r["excluded_not_offence_rows"] for r in reports),
        "counted_offences": counted,
    }
    ledger["quarantine_share"] = (
        round(ledger["quarantined_rows"] / ledger["input_rows"], 6) if ledger["input_rows"] else 0.0
    )
    summary = {
        "months": ctx.months,
        # the ledger adds up every offence, sensitive ones included: published only where the
        # country's year totals it is the sum of are (else it would tell a hidden one)
        **(ledger if totals_published else {"ledger_withheld": True}),
        "cells": statuses.total(),
        "cells_published": statuses[PUBLISHED],
        "cells_suppressed": statuses[SUPPRESSED],
        "protection_cost": public_protection_cost(cost),
        "incident_points": point_rows,
        "information_loss": point_loss.report(),
        "previous_release": previous,
    }
    # the operator's figures: sums over hidden cells, never in a release (privacy.report)
    internal = {
        "ledger": ledger,
        "protection_cost": protection_cost(cost, counted),
        "protection_rounds": rounds,
        "information_loss": point_loss.internal_report(),
    }
    write_json_atomic(
        staged / "inputs.json",
        ctx.inputs
        | {
            "fingerprint": key,
            "summary": summary,
            "operator_report": internal,
            "sensitive_offences": sorted(ctx.sensitive),
            "sensitive_groups": sorted(c for c in ctx.sensitive if ctx.type_parent.get(c) is None),
        },
    )
    return {"staged": str(staged), "fingerprint": key, "summary": summary}


STAGED_TABLES = ["counts.parquet", CERTIFICATES, "incidents.parquet"]


def stage_year(settings: Settings, year: str, staged: Path) -> StagedYear:
    """One year counted, protected and staged, in a worker process of ``build_tables``."""
    stages = Stages()
    with stages("load canonical incidents"):
        ctx = load_context(settings, years=[year], shapes=True)

    def year_file(table: str) -> ParquetAppender:
        return ParquetAppender(staged / table / f"{year}.parquet", staging=True)

    with (
        year_file("counts.parquet") as counts_file,
        year_file(CERTIFICATES) as certificates_file,
        year_file("incidents.parquet") as points_file,
    ):
        cube, protection, statuses, previous, points = _stage_year(
            ctx, year, stages, counts_file, certificates_file, points_file
        )
    return StagedYear(
        {str(k): int(n) for k, n in statuses.items() if n},
        tally(cube, protection.codes, protection.table),
        protection.iterations,
        previous,
        points.counts,
        len(points.points),
        len(ctx.incidents),
        _country_year_totals_published(cube, protection),
        stages.rows,
    )


def _country_year_totals_published(cube: Cube, protection: Protection) -> bool:
    """Whether the country's year total of every root of the offence hierarchy is published."""
    roots = [cube.offence.index()[c] for c in cube.offence.codes if cube.offence.parent[c] is None]
    country = [cube.geo.index()[c] for c in cube.geo.codes if cube.geo.parent[c] is None]
    years = [cube.period.index()[c] for c in cube.period.codes if cube.period.parent[c] is None]
    cells = [
        (g * cube.shape[1] + p) * cube.shape[2] + o for g in country for p in years for o in roots
    ]
    return not protection.hidden[cells].any()


def _stage_year(
    ctx: ReleaseContext,
    year: str,
    stages: Stages,
    counts_file: ParquetAppender,
    certificates_file: ParquetAppender,
    points_file: ParquetAppender,
) -> tuple[Cube, Protection, pd.Series, str | None, PointRelease]:
    """Count, protect and append one year's tables; the cube, its protection, the published
    cells by status, the previous release considered and the points."""
    with stages("count cube"):
        cube = build_release_cube(ctx, year)
    previous = previous_knowledge(ctx, cube)
    assert isinstance(ctx.geography, gpd.GeoDataFrame), "loaded with its shapes"
    with stages("protect (suppression, table, k-anonymous points)"):
        protected = protect_year(
            cube,
            year_incidents(ctx, year),
            ctx.geography[ctx.geography["level"] == "municipality"],
            ctx.policy,
            (ctx.type_names, ctx.type_parent),
            ctx.sensitive,
            (
                dict(zip(ctx.geography["code"], ctx.geography["name"], strict=True)),
                {
                    c: (None if pd.isna(p) else int(p))
                    for c, p in zip(ctx.geography["code"], ctx.geography["population"], strict=True)
                },
            ),
            previous.known,
            previous.keep,
            previous.hints,
        )
    with stages("stage the tables"):
        counts_file.append(protected.counts)
        statuses = protected.counts["status"].value_counts()
        hint_cells, hint_items = protected.protection.hints
        # for the audit only: never copied into a release (transforms.privacy.certificates)
        certificates_file.append(cube.keys(hint_cells).assign(candidate=hint_items))
        points_file.append(protected.points.points)
    return cube, protected.protection, statuses, previous.version, protected.points


def audit_release_tables(
    settings: Settings, staged: str, stages: Stages | None = None
) -> dict[str, Any]:
    """The gate: attack the staged table with every published relation and the previous release.

    Rebuilds the cube and the protection requirements from the inputs, independently of the
    protection step, and reads only the published statuses it staged (``published`` or
    ``suppressed``, as a reader sees them).
    """
    stages = stages or Stages()
    with stages("check the history"):
        ctx = load_context(settings, years=())
        check_history(settings, ctx.inputs)
    results: list[AuditResult] = []
    cells = hidden = 0
    failing: list[str] = []
    known_cells, previous = 0, None
    for year in release_years(ctx):
        # a year's incidents and cube are gone before the next year's are loaded
        with stages("load canonical incidents"):
            year_ctx = load_context(settings, years=[year], columns=CUBE_COLUMNS)
        result, table_hidden, labels, known, previous = _audit_year(
            year_ctx, year, Path(staged), stages
        )
        del year_ctx
        failing += labels
        # without each cell's binding relations: the report counts widths (a decade's: 0.7 GB)
        results.append(
            AuditResult(result.cells.drop(columns="binding"), result.components, result.lp_solves)
        )
        cells, hidden = cells + len(table_hidden), hidden + int(table_hidden.sum())
        known_cells += known
    result = AuditResult(
        pd.concat([r.cells for r in results], ignore_index=True),
        sum(r.components for r in results),
        sum(r.lp_solves for r in results),
    )
    inputs = read_json(Path(staged) / "inputs.json")
    report = {
        "passed": result.passed,
        "policy": {
            "id": ctx.policy.id,
            "version": ctx.policy.version,
            "sha256": ctx.inputs["policy_sha256"],
        },
        "attacker": ATTACKER_MODEL,
        "previous_release_considered": previous,
        "cells": cells,
        "published": cells - hidden,
        "suppressed": hidden,
        "protection_cost": inputs["summary"]["protection_cost"],
        "information_loss": inputs["summary"]["information_loss"],
    }
    # how the proof went (cells by certificate and LP, widths) depends on hidden counts: the
    # operator's, beside the public record, never in a release
    internal = audit_report(result) | {"previous_release_known_cells": known_cells}
    write_json_atomic(Path(staged) / AUDIT_RECORD, report)
    write_json_atomic(Path(staged) / AUDIT_DETAILS, internal)
    if failing:
        raise AuditFailed(
            f"{len(failing)} hidden cell(s) can be narrowed below their protection width from "
            "the published figures",
            failing,
        )
    return {
        "passed": report["passed"],
        "suppressed": hidden,
        "protected_cells_attacked": internal["protected_cells_attacked"],
        "lp_solves": internal["lp_solves"],
    }


# What the audit assumes a reader knows (audit.json, docs/disclosure-policy.md).
ATTACKER_MODEL = [
    "every published cell of this release, its status (published or suppressed) and rate",
    "every additive relation of the table: each hierarchy jointly; a type is at least the sum of "
    "its subtypes",
    "every cell an earlier release published, where it still holds the value shown then",
    "the policy and the algorithm: counts are whole numbers ≥ 0; a published count is never "
    "below its threshold",
    "the point file: built from published cells only, it adds nothing about a hidden cell",
    "the area files, tiles, portal and extracts: the same published cells",
]


def _audit_year(
    ctx: ReleaseContext, year: str, staged: Path, stages: Stages
) -> tuple[AuditResult, np.ndarray, list[str], int, str | None]:
    """Recount one year, check its staged statuses and attack them: the audit's result, which
    rows of the published table are hidden, the failing cells' labels, how many cells an
    earlier release made known, and the previous release."""
    with stages("count cube"):
        cube = build_release_cube(ctx, year)
    previous = previous_knowledge(ctx, cube)
    known = previous.known
    table = table_cells(cube, ctx.policy)
    hidden = _staged_hidden(cube, table, staged)
    _, primary_required, _ = primary_cells(cube, ctx.policy)
    exposed = (primary_required > 0) & ~hidden
    if exposed.any():
        labels = cell_labels(cube, np.flatnonzero(exposed))
        raise AuditFailed(f"{len(labels)} cell(s) the policy protects are published", labels)
    required = required_widths(cube, ctx.policy, hidden, primary_required)
    with stages("audit (certificates + LP attack)"):
        hints = _certificates(cube, staged)
        result = audit(
            cube,
            hidden.astype(np.int8),
            required,
            known,
            hints=hints,
            free=below_sensitive_level(cube, ctx.policy),
        )
    labels = cell_labels(cube, result.failing["cell"].to_numpy())
    return result, hidden[table], labels, len(known), previous.version


def _staged_hidden(cube: Cube, table: np.ndarray, staged: Path) -> np.ndarray:
    """Per cube cell, in the cube's order: hidden, as the staged table says (a cell that is no
    row of the table, a sensitive offence below the level it is published from, is hidden)."""
    counts = _staged_rows(
        staged / "counts.parquet", cube.period.codes, [*CELL_KEY, "status"], text_as_categories=True
    )
    numbers = cube.cell_numbers(counts)
    in_cube = numbers >= 0
    if np.bincount(numbers[in_cube], minlength=len(cube.count)).max(initial=0) > 1:
        raise RuntimeError("the staged table has a cell more than once: rebuild it")
    staged_codes = pd.Categorical(counts["status"], categories=PUBLIC_STATUSES).codes
    if ((staged_codes < 0) & counts["status"].notna().to_numpy())[in_cube].any():
        raise RuntimeError(f"the staged table has a status other than {', '.join(PUBLIC_STATUSES)}")
    codes = np.full(len(cube.count), -1, dtype=staged_codes.dtype)
    codes[numbers[in_cube]] = staged_codes[in_cube]
    if (codes[table] < 0).any():
        raise RuntimeError("the staged table does not cover the cube: rebuild it")
    if (codes[~table] >= 0).any():
        labels = cell_labels(cube, np.flatnonzero((codes >= 0) & ~table))
        raise AuditFailed("the table has rows the policy never publishes", labels)
    return np.where(table, codes == PUBLIC_STATUSES.index(SUPPRESSED), True)


def _certificates(cube: Cube, staged: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The certificates a protection step staged for the cube's year, as cube cells: hints
    the audit (and the next release's protection) checks. None where none are staged."""
    year = [p for p in cube.period.codes if cube.period.parent[p] is None]
    for name in (CERTIFICATES, PREVIOUS_CERTIFICATES):
        path = staged / name
        if path.is_file() or any((path / f"{y}.parquet").is_file() for y in year):
            break
    else:
        return None
    certificates = _staged_rows(path, cube.period.codes, text_as_categories=True)
    index = with_cell_numbers(cube, certificates)
    return index["index"].to_numpy(dtype=np.int64), index["candidate"].to_numpy(dtype=np.int64)


def operator_report(settings: Settings, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The figures of a release that stay with its operator (the ledger, what protection costs
    by why cells are hidden, the points never placed, how the audit's proof went), from the run
    that staged it; None when that run's folder is gone."""
    staged = settings.runs_dir / "publish" / str(manifest.get("inputs_fingerprint", ""))[:16]
    inputs = read_json_or_none(staged / "inputs.json")
    if not inputs or "operator_report" not in inputs:
        return None
    report: dict[str, Any] = inputs["operator_report"]
    return report | {"audit": read_json_or_none(staged / AUDIT_DETAILS)}


def read_staged_points(path: Path) -> pa.Table:
    """The staged point file, its text columns dictionary-encoded (a decade's ten million
    points repeat a few hundred thousand cell codes)."""
    return pq.read_table(path, columns=POINT_COLUMNS, read_dictionary=POINT_TEXT_COLUMNS)


def points_view(classes: pd.DataFrame) -> pd.DataFrame:
    """What the ``published_points`` suite checks: each distinct point row once (the staged
    points' :func:`point_classes`), with the size of its (location, month, group) class.
    Every expectation of that suite is row-wise, so the distinct rows pass exactly when all
    rows do (its Data Docs count distinct rows)."""
    class_size = classes.groupby(["cell_code", "month", "offence_group"])["records"]
    return classes.assign(class_size=class_size.transform("sum")).drop(columns="records")


def validate_release_tables(settings: Settings, staged: str, run_id: str) -> dict[str, Any]:
    policy, _ = load_policy(settings.policy_path)
    folder = Path(staged)
    inputs = read_json(folder / "inputs.json")
    docs = docs_dir(settings, "publish", run_id)
    small = sorted(set(range(1, policy.aggregates.primary_threshold)))
    months = inputs["months"]
    with great_expectations_imported_meanwhile():
        classes = point_classes(read_staged_points(folder / "incidents.parquet"))
        # staged before the record that lets write_release read them: its tiles draw the
        # classes checked here instead of grouping ten million points again
        with ParquetAppender(folder / POINT_CLASSES, staging=True) as staged_classes:
            staged_classes.append(classes)
        view = validation_view(points_view(classes), ["level", "offence_group_name"])
    # the release's Data Docs show the data's date, not the wall clock: same data, same pages
    as_of = Month.parse(max(inputs["months"])).next().start_utc()
    checks = [
        # each expectation is row-wise or keyed by period, and no period spans two years
        validate_batches(
            (
                (year, validation_view(counts))
                for year, counts in counts_by_year(folder, months, text_as_categories=True)
            ),
            "published_counts",
            settings.expectations_dir,
            docs,
            {"small_counts": small, "periods": list(period_dimension(months).codes)}
            | sensitive_code_parameters(policy, inputs["sensitive_offences"]),
            as_of,
        ),
        validate(
            view,
            "published_points",
            settings.expectations_dir,
            docs,
            country_parameters()
            | {"k": policy.incidents.k, "sensitive_groups": inputs["sensitive_groups"]},
            as_of,
        ),
    ]
    return gate(checks, folder)


def sensitive_code_parameters(
    policy: DisclosurePolicy, sensitive: Iterable[int]
) -> dict[str, list[str]]:
    """The ``published_counts`` suite's ``sensitive_codes_at_<level>``: per geography level,
    the offence codes its rows must not have (the sensitive ones, below the policy's minimum
    level; none from that level up)."""
    codes = [SENSITIVE, *(str(c) for c in sorted(sensitive))]
    allowed = GEO_LEVELS.index(policy.sensitive.min_geo_level)
    return {
        f"sensitive_codes_at_{level}": codes if GEO_LEVELS.index(level) < allowed else []
        for level in ("municipality", "district", "region")
    }


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

    changes = what_changed(previous, inputs)
    if settings.release_note:
        changes.append(settings.release_note)

    digests = FinishedFileDigests()  # the page, the data package and the manifest list them

    def write_files(target: Path, version: str) -> dict[str, Any]:
        # the areas' shapes and the points' tiles and files (half the work) are made on the
        # second core meanwhile; this process writes the counts, the areas and the areas'
        # tiles, so that the two finish together
        with worker_processes(1) as side:
            # first in the side process's queue: the shapes are ready long before the counts
            shapes = side.submit(area_shapes, _area_polygons(geography))
            point_tiles = side.submit(write_point_tiles, folder / POINT_CLASSES, target)
            point_files = side.submit(write_point_files, folder / "incidents.parquet", target)
            counts_rows, area_totals = 0, []
            with (
                stages("write counts (Parquet, CSV)"),
                ParquetAppender(target / "counts.parquet") as parquet,
                CsvAppender(target / "counts.csv") as csv,
            ):
                for _year, counts in count_tables_by_year(folder, inputs["months"]):
                    parquet.append(counts)
                    csv.append(counts)
                    counts_rows += counts.num_rows
                    area_totals.append(all_offence_rows(counts))
            digests.add({target / "counts.csv": csv.sha256})  # hashed as it was written
            with stages("write areas with totals"):
                totals = all_offence_totals(area_totals)
                simplified, shape_stages = shapes.result()
                stages.record(shape_stages)
                areas = {
                    name: spatially_sorted(
                        _areas_with_totals(geography, simplified[level], totals, level)
                    )
                    for level, name in AREA_FILES.items()
                }
            for name, layer in areas.items():
                with stages("write areas with totals"):
                    path = target / f"{name}.geojson"
                    digests.add({path: write_geojson(layer, path)})  # hashed as it was written
                    write_geoparquet(layer, target / f"{name}.parquet")
            write_municipality_tiles(tile_properties(areas["municipalities"]), target, stages)
            with stages("checksums while the side process writes"):
                # this process's files (gigabytes) are hashed while it would wait anyway; one
                # thread, as the side process has the other core
                # (the CSV and the GeoJSON files were hashed as they were written)
                digests.prefetch(
                    [target / n for n in ("counts.parquet", "municipalities.pmtiles")]
                    + [target / f"{n}.parquet" for n in areas],
                    threads=1,
                )
            with stages("wait for the side process"):
                stages.record(point_tiles.result())
                point_rows, point_digests, point_stages = point_files.result()
                stages.record(point_stages)
                digests.add(point_digests)
        (target / "disclosure-policy.yaml").write_bytes(policy_raw)
        shutil.copyfile(folder / AUDIT_RECORD, target / "audit.json")
        site = docs_source / "gx" / "uncommitted" / "data_docs" / "local_site"
        if site.exists():
            copy_data_docs(site, target / "validation" / "data_docs")
        write_json_atomic(
            target / "catalog" / "dataset.jsonld",
            release_catalogue_record(settings, version, sorted(inputs["months"])),
        )
        digests.prefetch([p for p in target.rglob("*") if p.is_file()])
        write_release_page(
            target,
            title=settings.dataset_title,
            version=version,
            months=sorted(inputs["months"]),
            licence=(settings.licence_id, settings.licence_url),
            policy=policy,
            audit=read_json(folder / AUDIT_RECORD),
            changes=changes,
            files=RELEASE_FILES,
            digest=digests,
        )
        write_json_atomic(
            target / "datapackage.json", release_data_package(settings, target, version, digests)
        )
        return {
            "row_counts": {
                "counts": counts_rows,
                "incidents": point_rows,
                **{name: len(layer) for name, layer in areas.items()},
            }
        }

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
            "raw_files": raw_input_files(settings, inputs),
        },
        "parameters": {
            "quarantine_limit": settings.quarantine_limit,
            "disclosure_policy": policy.model_dump(mode="json"),
            "licence": settings.licence_id,
        },
        "summary": inputs["summary"],
        "validation": read_json(folder / VALIDATION_RECORD),
        "changes": changes,
    }
    result = publish_release(
        dataset_dir, max(inputs["months"]), inputs["fingerprint"], write_files, manifest, digests
    )
    write_dataset_index(dataset_dir, settings.dataset_title, release_list(dataset_dir))
    return {"version": result.version, "path": str(result.path), "created": result.created}


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
    staged_points: Path, target: Path
) -> tuple[int, dict[Path, str], list[tuple[str, float, float]]]:
    """The published points as GeoParquet and GeoJSON, Hilbert-sorted: their rows, their
    SHA-256 (hashed here, once written) and the stage timings (run in a side process)."""
    stages = Stages()
    paths = [target / "incidents.parquet", target / "incidents.geojson"]
    with stages("write points (GeoParquet, GeoJSON)"):
        points = read_staged_points(staged_points)
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


AREAS_DESCRIPTION = (
    "polygons simplified for web maps (shared borders kept), with population and each "
    "period's published total and rate per 1,000 inhabitants."
)
RELEASE_FILES = [
    ReleaseFile(
        "counts",
        "counts.csv",
        "Počty trestných činů (CSV)",
        "Offence counts (CSV)",
        "Counts by unit, period and offence after disclosure control, with rates.",
        schema="counts.schema.json",
    ),
    ReleaseFile(
        "counts-parquet",
        "counts.parquet",
        "Počty trestných činů (Parquet)",
        "Offence counts (Parquet)",
        "The same table as counts.csv, typed, as Parquet.",
    ),
    ReleaseFile(
        "incidents",
        "incidents.geojson",
        "Události v buňkách s nejméně k záznamy (GeoJSON)",
        "Incidents in cells of at least k records (GeoJSON)",
        "One point per offence at the centroid of its generalised grid cell or municipality; "
        "sensitive offences are left out.",
    ),
    ReleaseFile(
        "incidents-geoparquet",
        "incidents.parquet",
        "Události v buňkách s nejméně k záznamy (GeoParquet)",
        "Incidents in cells of at least k records (GeoParquet 1.1)",
        "The same points as incidents.geojson, as GeoParquet 1.1.",
    ),
    *(
        ReleaseFile(
            f"{name}{suffix}",
            f"{name}.{extension}",
            f"{cs} s počty ({kind})",
            f"{en} with counts ({kind})",
            f"{en}: {AREAS_DESCRIPTION}",
        )
        for name, cs, en in (
            ("municipalities", "Obce", "Municipalities"),
            ("districts", "Okresy", "Districts"),
            ("regions", "Kraje", "Regions"),
        )
        for suffix, extension, kind in (
            ("", "geojson", "GeoJSON"),
            ("-geoparquet", "parquet", "GeoParquet 1.1"),
        )
    ),
    ReleaseFile(
        "municipalities-tiles",
        "municipalities.pmtiles",
        "Obce s počty, vektorové dlaždice (PMTiles)",
        "Municipalities with counts, vector tiles (PMTiles)",
        "The municipality polygons as Mapbox Vector Tiles in a PMTiles archive, zoom 5-12: "
        "every municipality at every zoom, with its code, name, district, population and the "
        "latest year's count, status and rate. Other periods join by code to "
        "municipalities.geojson or counts.csv.",
    ),
    ReleaseFile(
        "incidents-tiles",
        "incidents.pmtiles",
        "Body událostí, vektorové dlaždice (PMTiles)",
        "Incident points, vector tiles (PMTiles)",
        "The incident points as Mapbox Vector Tiles in a PMTiles archive, zoom 5-14: one "
        "feature per k-anonymous class (grid cell or municipality, month, offence group) with "
        "its number of records.",
    ),
    ReleaseFile(
        "disclosure-policy",
        "disclosure-policy.yaml",
        "Pravidla ochrany obětí",
        "Disclosure policy",
        "The exact disclosure-control policy this release was produced under.",
    ),
    ReleaseFile(
        "catalogue-record",
        "catalog/dataset.jsonld",
        "Katalogizační záznam DCAT-AP-CZ",
        "DCAT-AP-CZ catalogue record",
        "The record a local open-data catalogue serves for this release (JSON-LD).",
    ),
    ReleaseFile(
        "audit",
        "audit.json",
        "Audit ochrany",
        "Disclosure audit",
        "The LP interval attack on every hidden cell: counts and widths, never values.",
    ),
]


def release_data_package(
    settings: Settings, folder: Path, version: str, digest: Callable[[Path], str]
) -> dict[str, Any]:
    """The release's ``datapackage.json``: every file, its schema, hash and licence."""
    return data_package(
        folder,
        name=settings.dataset_id,
        version=version,
        title=settings.dataset_title,
        description=(
            "Offences recorded by the police, counted by municipality, district, region and "
            "country, by month and year, and by offence type and group, with small counts "
            "suppressed and incident points generalised to k-anonymous cells."
        ),
        licence=Licence(settings.licence_id, settings.licence_title, settings.licence_url),
        sources=COUNTRY.sources,
        files=RELEASE_FILES,
        schemas_dir=settings.output_schemas_dir,
        digest=digest,
    )


def raw_input_files(settings: Settings, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every raw file the release was built from, with its SHA-256 (the snapshots' names)."""
    report = read_json(geography_folder(settings, inputs["geography"]) / "report.json")
    files = [
        {"source": name, "original_name": item["original_name"], "sha256": item["sha256"]}
        for name, item in sorted(report["inputs"].items())
    ]
    for month, key in sorted(inputs["months"].items()):
        report = read_json(partition_folder(settings, Month.parse(month), key) / "report.json")
        files.append({"source": f"police {month}", "sha256": report["snapshot"]})
    return files


def what_changed(previous: dict[str, Any] | None, inputs: dict[str, Any]) -> list[str]:
    """Bilingual lines saying how this release differs from the one before it."""
    if previous is None:
        return ["První vydání. / First release."]
    lines = [f"Předchozí vydání / previous release: {previous['version']}."]
    before = previous.get("inputs", {}).get("incident_partitions", {})
    now = inputs["months"]
    added = sorted(set(now) - set(before))
    revised = sorted(m for m in now if m in before and before[m] != now[m])
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
    return lines


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


def release_catalogue_record(settings: Settings, version: str, months: list[str]) -> dict[str, Any]:
    """The release's DCAT-AP-CZ dataset record, one distribution per catalogued data file."""
    return dataset_record(
        base_url=settings.public_base_url,
        dataset_id=settings.dataset_id,
        version=version,
        publisher_iri=settings.publisher_iri,
        months=months,
        licence_url=settings.licence_url,
        author=settings.publisher_name,
        files=RELEASE_FILES,
    )


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


# what the areas' totals are made of (``_areas_with_totals``)
AREA_TOTAL_COLUMNS = [*CELL_KEY, "geo_level", "count", "status", "rate_per_1000"]


def all_offence_rows(counts: pa.Table) -> pa.Table:
    """The all-offence rows of a part of a counts table (text dictionary-encoded, as
    ``count_tables_by_year`` reads it), the areas' totals' columns only. Found on the offence
    codes' dictionary: a filter on the file spelled out each row's text first (a decade's
    33.8 M rows, 3.7-5.6 s against 1.2 s)."""
    code = counts["offence_code"]
    inside = pc.is_in(code, value_set=pa.array([NONSENSITIVE], code.type.value_type))
    return counts.select(AREA_TOTAL_COLUMNS).filter(inside)


def all_offence_totals(parts: Iterable[pa.Table]) -> pd.DataFrame:
    """Every level's all-offence rows of the parts of a counts table: the areas' totals, a
    small slice of it (gathered while the parts are written, not read again: the decade's
    table read whole for them took its process to 2.3 GiB)."""
    return with_text_decoded(pa.concat_tables(parts)).to_pandas()


def _area_polygons(geography: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
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


def _areas_with_totals(
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


def simplified_coverage(polygons: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify polygons that tile the country together, keeping shared borders shared.

    GEOS's coverage simplification moves each shared edge once, for both neighbours. A set that
    is not a clean coverage (overlaps, slivers) is returned unsimplified rather than damaged.
    """
    import shapely

    if len(polygons) == 0 or not shapely.coverage_is_valid(polygons):
        return polygons
    return np.asarray(shapely.coverage_simplify(polygons, tolerance))


def mirror_release(settings: Settings) -> dict[str, Any] | None:
    """Copy the latest release to the release store, if one is configured."""
    from transforms.publish.object_store import mirror_latest

    if not settings.release_store:
        return None
    result = mirror_latest(
        settings.releases_dir / settings.dataset_id,
        settings.release_store,
        settings.release_store_options,
    )
    if result is None:
        return None
    return {"url": result.url, "version": result.version, "uploaded_files": result.uploaded_files}


def check_freshness(settings: Settings, today: date) -> dict[str, Any]:
    """Whether the latest release covers the months the policy says are due (see freshness)."""
    from transforms.publish.freshness import freshness

    policy, _ = load_policy(settings.policy_path)
    pointer = latest(settings.releases_dir / settings.dataset_id)
    published = None
    if pointer is not None:
        manifest = read_json(
            settings.releases_dir / settings.dataset_id / pointer["version"] / MANIFEST
        )
        published = Month.parse(max(manifest["data_months"]))
    result = freshness(
        published,
        today,
        policy.time.release_lag_months,
        settings.release_grace_days,
        Month.parse(settings.last_month) if settings.last_month else None,
    )
    if result is None:
        return {"late": False, "message": "nothing is due yet"}
    return {
        "late": result.late,
        "published": str(result.published) if result.published else None,
        "expected": str(result.expected),
        "due": result.due.isoformat(),
        "message": result.message(today),
    }
