"""What a release is computed from: the committed months, the geography, the policy and the
code list, the history's checks, and what earlier releases already told readers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from transforms.domain.counting import (
    Cube,
    build_cube,
    geography_dimension,
    offence_dimension,
    part_code,
    period_dimension,
)
from transforms.domain.periods import Month
from transforms.pipeline.boundaries import (
    load_current_geography,
    load_current_units,
)
from transforms.pipeline.common import (
    InputMissing,
    code_version,
    source_terms,
)
from transforms.pipeline.police_incidents import committed_months, partition_folder
from transforms.pipeline.publish.police_figures import load_police_figures, police_inputs
from transforms.pipeline.publish.staged import (
    CELL_KEY,
    staged_certificates,
    staged_rows,
    with_cell_numbers,
)
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.settings import SettingMissing, Settings
from transforms.plumbing.storage import (
    read_json,
    read_json_or_none,
)
from transforms.privacy.cells import (
    NO_CELLS,
    NOTHING_KNOWN,
    PUBLISHED,
    KnownCells,
    known_union,
)
from transforms.privacy.police_figures import (
    NOTHING_OUTSIDE,
    OutsideKnowledge,
    PoliceFigures,
    police_knowledge,
)
from transforms.privacy.policy import (
    DisclosurePolicy,
    check_against_code_list,
    load_policy,
    policy_sha256,
    sensitive_codes,
)
from transforms.publish.catalogue import Publisher
from transforms.publish.folder import (
    MANIFEST,
    latest,
    versions,
)


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
    # the police's own statistics readers hold beside the release (publish.police_figures)
    police: PoliceFigures | None = None

    @property
    def months(self) -> list[str]:
        return sorted(self.inputs["months"])


class IncompatibleRelease(PermanentFailure, RuntimeError):
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


# what the incident release is made of (the police's statistics only inform its audit)
INCIDENT_SOURCES = ("police", "boundaries", "population")


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
        # the sources' licences and attributions: the release's licence follows from them
        "sources": [terms.to_json() for terms in source_terms(settings, INCIDENT_SOURCES)],
        # the police's reports and units the audit takes readers to hold (None: none yet)
        "police_statistics": police_inputs(settings),
    }


def code_list(settings: Settings, months: dict[str, str]) -> list[dict[str, Any]]:
    """The offence types as coded in the newest month's own download."""
    newest = max(months)
    folder = partition_folder(settings, Month.parse(newest), months[newest])
    types: list[dict[str, Any]] = read_json(folder / "code_lists.json")["types"]
    return types


def check_policy(settings: Settings) -> dict[str, Any]:
    """Refuse an inconsistent policy before any table is built."""
    policy, raw = load_policy(settings.policy_path)
    source_terms(settings)  # a source without a known licence is refused here too
    catalogue_publisher(settings)  # and a release that could not be catalogued
    months = committed_months(settings)
    if not months:
        raise InputMissing("no committed month: run 'police_incidents' first")
    types = code_list(settings, months)
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
    categories (a decade is 15 million rows: as Python strings they alone take gigabytes)."""
    if not paths:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    table = pa.concat_tables(pq.read_table(p, columns=columns) for p in paths)
    text = [c for c in ("reported_month", "municipality_code") if c in columns]
    incidents = table.to_pandas(categories=text)
    del table
    # Arrow's allocator keeps freed pages for reuse, which the steps after this (pandas and
    # shapely, not Arrow) would never use
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
    name them when an id is in two."""
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
    types = code_list(settings, inputs["months"])
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
        load_police_figures(settings, inputs),
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


def outside_knowledge(ctx: ReleaseContext, cube: Cube) -> OutsideKnowledge:
    """What the police's own statistics tell readers of a year's cells (nothing without them)."""
    return NOTHING_OUTSIDE if ctx.police is None else police_knowledge(cube, ctx.police)


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


def previous_knowledge(
    ctx: ReleaseContext, cube: Cube, previous: str | None = None
) -> PreviousRelease:
    """What the previous release (``previous``, by default the newest) already told readers
    about cells of this one.

    A cell it published is known wherever it still holds the value shown then (``known``):
    whatever changed in between (a revised month, new boundaries or population), a reader who
    takes the old figure for the new one is right exactly there. A cell of a period whose
    months are the same, and unchanged, in both releases, made under the same policy and
    geography, that it hid stays hidden (``keep``): the readers' tables stay consistent from one
    release to the next.
    """
    dataset_dir = ctx.settings.releases_dir / ctx.settings.dataset_id
    version = previous if previous is not None else (latest(dataset_dir) or {}).get("version")
    if version is None:
        return NO_PREVIOUS_RELEASE
    folder = dataset_dir / version
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
    old = staged_rows(
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
        return PreviousRelease(known, NO_CELLS, version)
    stable = {p for p in same_months if months_of(p, sorted(now)) <= unchanged}
    keep = ~shown & index["period"].isin(stable).to_numpy()
    staged = ctx.settings.runs_dir / "publish" / str(manifest.get("inputs_fingerprint", ""))[:16]
    return PreviousRelease(known, cell[keep], version, staged_certificates(cube, staged))


def _with_earlier_parts(ctx: ReleaseContext, cube: Cube, known: KnownCells) -> KnownCells:
    """``known`` and the parts of the cube's year (``earlier_years``) that the releases holding
    them published, where they still hold the value shown then."""
    dataset_dir = ctx.settings.releases_dir / ctx.settings.dataset_id
    parts = [known]
    for code in cube.period.codes:
        if cube.period.level[code] != "part":
            continue
        year = code[:4]
        for version in ctx.earlier.holders.get(code, []):
            rows = staged_rows(
                dataset_dir / version / "counts.parquet",
                [year],
                [*CELL_KEY, "count", "status"],
            )
            rows = rows[rows["status"] == PUBLISHED].assign(period=code)
            index = with_cell_numbers(cube, rows)
            cell = index["index"].to_numpy(dtype=np.int64)
            value = index["count"].to_numpy(dtype="float64", na_value=np.nan)
            still = value == cube.count[cell]
            parts.append(KnownCells(cell[still], value[still].astype(np.int64)))
    return known_union(parts)


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


def catalogue_publisher(settings: Settings) -> Publisher:
    """Who publishes the releases and where, for the catalogue records; refuses to go on
    without the public address (records pointing at a placeholder would be harvested as they
    are)."""
    if settings.public_base_url is None:
        raise SettingMissing(
            "OPENCRIME_PUBLIC_BASE_URL is not set: the catalogue records of a release name the "
            "https address its folder is served at (e.g. https://data.mesto.cz/opencrime/"
            "releases). Set it and run the publish DAG again; the last good release is untouched."
        )
    return Publisher(
        base_url=settings.public_base_url,
        iri=settings.publisher_iri,
        name=settings.publisher_name,
        contact_name=settings.contact_name,
        contact_email=settings.contact_email,
    )
