"""A reader who holds every file of the demo release, and of two monthly releases, attacks them
with an LP apart from the audit's (tests/transforms/privacy/reader.py)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.sample_pipeline import commit_month, promote_geography, publish
from tests.transforms.privacy.reader import (
    PublicRelease,
    ReaderAttack,
    narrowed_cells,
    policy_requirements,
    truth_from_records,
)
from transforms.domain.periods import Month
from transforms.pipeline import police_incidents as incidents
from transforms.pipeline import police_statistics as statistics
from transforms.pipeline.boundaries import load_current_geography
from transforms.plumbing.settings import Settings, get_settings
from transforms.privacy.kanon import point_classes


def offence_tree(settings: Settings, sensitive: set[int]) -> dict[str, str | None]:
    """The offence hierarchy as a reader writes it from the police list and the policy."""
    months = incidents.committed_months(settings)
    newest = max(months)
    folder = incidents.partition_folder(settings, Month.parse(newest), months[newest])
    types = json.loads((folder / "code_lists.json").read_text())["types"]
    parent = {t["code"]: t["parent"] for t in types}
    tree: dict[str, str | None] = {"NONSENSITIVE": None, "SENSITIVE": None}
    for code, up in parent.items():
        if code in sensitive:
            tree[str(code)] = "SENSITIVE" if up not in sensitive else str(up)
        else:
            tree[str(code)] = "NONSENSITIVE" if up is None else str(up)
    return tree


def counted_records(settings: Settings, months: list[str]) -> list[tuple[str, str, str]]:
    committed = incidents.committed_months(settings)
    rows = pd.concat(
        pd.read_parquet(
            incidents.partition_folder(settings, Month.parse(m), committed[m])
            / "incidents.parquet",
            columns=["municipality_code", "reported_month", "offence_code", "counted"],
        )
        for m in months
    )
    rows = rows[rows["counted"]]
    return list(
        zip(
            rows["municipality_code"].astype(str),
            rows["reported_month"].astype(str),
            rows["offence_code"].astype(str),
            strict=True,
        )
    )


def reader_of(settings: Settings, folder: Path, sensitive: set[int]) -> tuple[PublicRelease, dict]:
    """What a reader holds of a release, and the true count of each of its cells."""
    geography, _ = load_current_geography(settings)
    manifest = json.loads((folder / "manifest.json").read_text())
    months = manifest["data_months"]
    geo_parent = {
        str(c): (None if pd.isna(p) else str(p))
        for c, p in zip(geography["code"], geography["parent_code"], strict=True)
    }
    offences = offence_tree(settings, sensitive)
    counts = pd.read_parquet(folder / "counts.parquet")
    counts = counts.astype({c: str for c in ("geo_code", "period", "offence_code", "status")})
    classes = point_classes(pq.read_table(folder / "incidents.parquet"))
    municipalities = gpd.GeoDataFrame(
        geography.loc[geography["level"] == "municipality", ["code", "geometry"]]
    ).to_crs("EPSG:4326")
    release = PublicRelease(counts, geo_parent, offences, months, classes, municipalities)
    truth = truth_from_records(counted_records(settings, months), geo_parent, offences, months)
    return release, truth


def requirements(settings: Settings, release: PublicRelease, truth: dict, sensitive: set[int]):
    geography, _ = load_current_geography(settings)
    levels = dict(zip(geography["code"].astype(str), geography["level"], strict=True))
    shown = set(
        release.counts.loc[
            release.counts["status"] == "published", ["geo_code", "period", "offence_code"]
        ].itertuples(index=False, name=None)
    )
    hidden = [key for key in truth if key not in shown]
    codes = {"SENSITIVE", *(str(c) for c in sensitive)}
    return policy_requirements(truth, hidden, levels, codes, {"municipality"})


def police_sums(
    settings: Settings, sample_dir: Path, months: list[str], truth: dict
) -> list[tuple[list[tuple[str, str, str]], float, float]]:
    """The police's unit figures as sums of the release's cells, written apart from the
    pipeline: municipalities wholly (99 %) inside a unit's polygon, the types each TSK code
    counts (``type_tsk.csv``), January to the report's month. A figure is taken as an equation
    where the unit holds whole municipalities and the code is exact, else as the bound that
    holds; the reader keeps those the true table satisfies (a reader who knew which figures
    match the files exactly: stronger than a real one)."""
    pointer = json.loads((settings.canonical_dir / "police_districts" / "current.json").read_text())
    units = gpd.read_parquet(
        settings.canonical_dir / "police_districts" / "versions" / pointer["version"]
        / "police_units.parquet"
    )  # fmt: skip
    units = units[units["level"] == "unit"].to_crs("EPSG:3035")
    geography, _ = load_current_geography(settings)
    towns = geography[geography["level"] == "municipality"].to_crs("EPSG:3035")
    within: dict[str, list[str]] = {}
    cut: set[str] = set()
    for unit, shape in zip(units["code"], units.geometry, strict=True):
        share = towns.geometry.intersection(shape).area / towns.geometry.area
        within[unit] = sorted(towns.loc[share >= 0.99, "code"].astype(str))
        cut |= {unit} if ((share > 0.01) & (share < 0.99)).any() else set()
    mapping = pd.read_csv(sample_dir / "police_statistics" / "type_tsk.csv", dtype=str)
    types = mapping.groupby("tsk_code")["offence_code"].apply(list).to_dict()
    exact = set(mapping.loc[mapping["exact"] == "true", "tsk_code"])
    committed = statistics.committed_months(settings)
    reports = pd.concat(
        pd.read_parquet(statistics.partition_folder(settings, Month.parse(m), k)
                        / "cumulative.parquet")
        for m, k in committed.items()
    )  # fmt: skip
    reports = reports[~reports["is_subtotal"] & reports["tsk_code"].isin(types)]
    sums = []
    for unit, month, tsk, found in zip(
        reports["unit_code"], reports["month"], reports["tsk_code"], reports["found"], strict=True
    ):
        span = [m for m in months if m[:4] == month[:4] and m <= month]
        keys = [(g, p, o) for g in within.get(unit, []) for p in span for o in types[tsk]]
        whole = len(span) == int(month[5:]) and tsk in exact and unit not in cut
        low, high = (float(found), float(found)) if whole else (-np.inf, float(found))
        if keys and low - 1e-9 <= sum(truth[k] for k in keys) <= high + 1e-9:
            sums.append((keys, low, high))
    return sums


def test_the_demo_release_withstands_a_reader_with_every_file(pipeline_run, sample_dir) -> None:
    """Every hidden non-zero cell of the demo release keeps the width the policy requires
    against the table, its one status, the points, the true boundaries and the police's own
    statistics per unit (or as much as those statistics alone leave it: the release cannot make
    them safer); among them the cells the attack on release 2025-03.1 of the first policy
    narrowed."""
    settings = pipeline_run["settings"]
    sensitive = set(pipeline_run["policy"]["sensitive_offences"])
    release, truth = reader_of(settings, Path(pipeline_run["release"]["path"]), sensitive)
    release.outside = police_sums(settings, sample_dir, release.months, truth)
    assert len(release.outside) > 300  # a real attack: most of the sample's figures map
    attack = ReaderAttack(release)
    police_only = ReaderAttack(
        PublicRelease(
            release.counts.iloc[0:0], release.geo_parent, release.offence_parent, release.months,
            outside=release.outside,
        )
    )  # fmt: skip
    required = requirements(settings, release, truth, sensitive)
    assert sum(1 for need in required.values() if need >= 3) > 500  # a real attack
    assert narrowed_cells(attack, truth, required, police_only) == []
    # the cells the attack on the first policy's release narrowed: each is published, or
    # hidden and as wide as required (the regression cases of the issue)
    for key in [
        ("3504", "2025-01", "35"),  # two primaries and a remainder of 4: each was 2
        ("3504", "2025-02", "57"),  # recomputable secondaries
        ("3504", "2025-03", "57"),
        ("563889", "2025-02", "22"),
        ("563889", "2025-03", "21"),
        ("535419", "2025-01", "SENSITIVE"),  # bounded by points: now no row at all
    ]:
        if key in required and required[key] > 0:
            low, high = attack.interval(key)
            was_low, was_high = police_only.interval(key)
            assert high - low >= min(required[key], was_high - was_low), key


@pytest.fixture(scope="module")
def two_monthly_releases(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path):
    """Release 2025-02.1 (January, February), then 2025-03.1 (January to March)."""
    settings = get_settings(data_root=tmp_path_factory.mktemp("monthly"), data_in=sample_dir)
    promote_geography(settings, "m")
    commit_month(settings, Month(2025, 1), "m")
    commit_month(settings, Month(2025, 2), "m")
    first = publish(settings, "m")
    commit_month(settings, Month(2025, 3), "m")
    second = publish(settings, "m")
    return settings, first, second


def test_a_reader_of_two_monthly_releases_cannot_subtract_them(two_monthly_releases) -> None:
    """2025 in the first release is January + February; in the second, January to March. A
    reader who holds both knows March as the difference of the two year figures wherever both
    are shown, and every cell the first release showed: no hidden cell of the second may come
    out narrower than required."""
    settings, first, second = two_monthly_releases
    assert first["release"]["version"] == "2025-02.1"
    assert second["release"]["version"] == "2025-03.1"
    sensitive = set(second["policy"]["sensitive_offences"])
    release, truth = reader_of(settings, Path(second["release"]["path"]), sensitive)
    earlier = pd.read_parquet(Path(first["release"]["path"]) / "counts.parquet")
    earlier = earlier[earlier["status"] == "published"]
    for g, p, o, value in zip(
        earlier["geo_code"].astype(str),
        earlier["period"].astype(str),
        earlier["offence_code"].astype(str),
        earlier["count"].astype(int),
        strict=True,
    ):
        if p == "2025":  # then January + February
            release.earlier_sums.append(((g, ("2025-01", "2025-02"), o), value))
        else:
            release.earlier.append(((g, p, o), value))
    attack = ReaderAttack(release)
    required = requirements(settings, release, truth, sensitive)
    assert narrowed_cells(attack, truth, required) == []
