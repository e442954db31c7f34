"""A reader who holds every file of a release attacks it: the published table with its one status,
the point file, the true municipality polygons and the rules. No hidden cell may come out
narrower than the policy requires (tests/transforms/privacy/reader.py, an LP apart from the
audit's), on small releases with sensitive and non-sensitive offences in small municipalities
and points at every generalisation level."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.transforms.privacy.reader import (
    PublicRelease,
    ReaderAttack,
    narrowed_cells,
    policy_requirements,
)
from tests.transforms.privacy.strategies import POLICY
from transforms.domain.counting import (
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
)
from transforms.privacy.kanon import point_classes
from transforms.privacy.policy import sensitive_codes
from transforms.privacy.tables import ProtectedYear, protect_year

TYPES = {
    1: "NÁSILNÁ TRESTNÁ ČINNOST",
    2: "Úmyslné ublížení na zdraví",
    3: "Znásilnění",
    4: "Týrání osoby žijící ve společném obydlí",
    35: "KRÁDEŽE",
    44: "Krádež v obchodě",
    45: "Kapesní krádež",
    97: "PŘESTUPKY",
}
PARENT: dict[int, int | None] = {1: None, 2: 1, 3: 1, 4: 1, 35: None, 44: 35, 45: 35, 97: None}
SENSITIVE = sensitive_codes(POLICY, TYPES, PARENT)
LEAVES = [2, 3, 4, 44, 45, 97]
# the offence hierarchy as a reader writes it down from the police list and the policy
READER_OFFENCES: dict[str, str | None] = {
    "NONSENSITIVE": None,
    "SENSITIVE": None,
    "1": "NONSENSITIVE",
    "2": "1",
    "3": "SENSITIVE",
    "4": "SENSITIVE",
    "35": "NONSENSITIVE",
    "44": "35",
    "45": "35",
    "97": "NONSENSITIVE",
}
SIDE = 0.05  # degrees: a municipality is a square about 3.5 km × 5.5 km


def test_the_readers_offence_tree_is_the_policys() -> None:
    assert {3, 4} == SENSITIVE
    dim = offence_dimension(TYPES, PARENT, SENSITIVE)
    assert dict(dim.parent) == READER_OFFENCES


def small_country(districts: list[int]) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """A country of one region, ``districts`` districts of that many municipalities each, laid
    out as squares in a row (true polygons: the reader has them)."""
    rows = [("CZ", "country", None), ("R1", "region", "CZ")]
    shapes = []
    column = 0
    for d, n in enumerate(districts):
        rows.append((f"D{d}", "district", "R1"))
        for m in range(n):
            code = f"5{d}{m:04d}"
            rows.append((code, "municipality", f"D{d}"))
            west = 14.0 + column * SIDE
            shapes.append((code, shapely.box(west, 50.0, west + SIDE, 50.0 + SIDE)))
            column += 1
    geography = pd.DataFrame(rows, columns=["code", "level", "parent_code"])
    geography["name"] = geography["code"]
    geography["population"] = 800
    municipalities = gpd.GeoDataFrame(
        {"code": [c for c, _ in shapes]}, geometry=[s for _, s in shapes], crs="EPSG:4326"
    )
    return geography, municipalities


@st.composite
def small_releases(draw: st.DrawFn) -> tuple[pd.DataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    districts = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    months = ["2025-01", "2025-02", "2025-03"][: draw(st.integers(1, 3))]
    geography, municipalities = small_country(districts)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    busy = draw(st.sampled_from([2.0, 12.0, 40.0]))  # offences per municipality and month
    spread = draw(st.sampled_from([0.001, 0.004, 0.015]))  # how tightly they cluster
    rows = []
    for code, shape in zip(municipalities["code"], municipalities.geometry, strict=True):
        west, south = shape.bounds[:2]
        spots = rng.uniform([west, south], [west + SIDE, south + SIDE], size=(2, 2))
        for month in months:
            for _ in range(rng.poisson(busy * rng.uniform(0.2, 1.8))):
                spot = spots[rng.integers(0, 2)]
                lon = np.clip(spot[0] + rng.normal(0, spread), west + 1e-4, west + SIDE - 1e-4)
                lat = np.clip(spot[1] + rng.normal(0, spread), south + 1e-4, south + SIDE - 1e-4)
                offence = int(rng.choice(LEAVES, p=[0.2, 0.08, 0.07, 0.3, 0.15, 0.2]))
                rows.append((code, month, offence, lon, lat))
    incidents = incident_frame(rows)
    return geography, municipalities, incidents


def protect_small(
    geography: pd.DataFrame, municipalities: gpd.GeoDataFrame, incidents: pd.DataFrame
) -> tuple[ProtectedYear, dict[tuple[str, str, str], int], list[str]]:
    """The release's tables, each cell's true count by key, and the months."""
    months = sorted(incidents["reported_month"].unique()) or ["2025-01"]
    base = pd.DataFrame(
        {
            "geo": incidents["municipality_code"],
            "period": incidents["reported_month"],
            "offence": incidents["offence_code"].astype(str),
        }
    )
    cube = build_cube(
        base,
        geography_dimension(geography),
        period_dimension(months),
        offence_dimension(TYPES, PARENT, SENSITIVE),
    )
    protected = protect_year(
        cube,
        incidents,
        municipalities,
        POLICY,
        (TYPES, PARENT),
        SENSITIVE,
        (dict(zip(geography["code"], geography["name"], strict=True)), {}),
    )
    keys = cube.keys(np.arange(len(cube.count)))
    truth = {
        (str(g), str(p), str(o)): int(c)
        for g, p, o, c in zip(
            keys["geo_code"], keys["period"], keys["offence_code"], cube.count, strict=True
        )
    }
    protected.counts.attrs["primary"] = {
        key for key, code in zip(truth, protected.protection.codes, strict=True) if code == 1
    }
    return protected, truth, months


def incident_frame(rows: list[tuple[str, str, int, float, float]]) -> pd.DataFrame:
    """Incident rows (municipality, month, offence, lon, lat) as ``protect_small`` reads them."""
    incidents = pd.DataFrame(
        rows, columns=["municipality_code", "reported_month", "offence_code", "lon", "lat"]
    )
    incidents["incident_id"] = np.arange(len(incidents)) + 1
    incidents["offence_group"] = [
        c if PARENT[c] is None else PARENT[c] for c in incidents["offence_code"]
    ]
    return incidents


def attack_of(
    protected: ProtectedYear,
    geography: pd.DataFrame,
    municipalities: gpd.GeoDataFrame,
    months: list[str],
) -> tuple[ReaderAttack, set[tuple[str, str, str]]]:
    """The reader's attack on a small release, and the cells it publishes."""
    view = reader_view(protected, geography, municipalities, months)
    shown = set(
        view.counts.loc[
            view.counts["status"] == "published", ["geo_code", "period", "offence_code"]
        ].itertuples(index=False, name=None)
    )
    return ReaderAttack(view), shown


def small_requirements(
    geography: pd.DataFrame, truth: dict[tuple[str, str, str], int], hidden: list
) -> dict[tuple[str, str, str], int]:
    """The policy's widths for the hidden cells of a small release. A municipality that is its
    whole district shows the district's figure (the sensitive rule's exception in the docs),
    which the policy protects as the district's."""
    levels = dict(zip(geography["code"], geography["level"], strict=True))
    towns = geography[geography["level"] == "municipality"]
    alone = set(towns.loc[~towns["parent_code"].duplicated(keep=False), "code"].astype(str))
    return policy_requirements(
        truth, hidden, levels, {"SENSITIVE", "3", "4"}, {"municipality"}, alone
    )


def reader_view(
    protected: ProtectedYear,
    geography: pd.DataFrame,
    municipalities: gpd.GeoDataFrame,
    months: list[str],
) -> PublicRelease:
    counts = protected.counts.astype({c: str for c in ("geo_code", "period", "offence_code")})
    classes = point_classes(pa.Table.from_pandas(protected.points.points, preserve_index=False))
    return PublicRelease(
        counts=counts.astype({"status": str}),
        geo_parent={
            c: (None if pd.isna(p) else str(p))
            for c, p in zip(geography["code"], geography["parent_code"], strict=True)
        },
        offence_parent=READER_OFFENCES,
        months=months,
        points=classes,
        municipalities=municipalities,
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_releases())
def test_a_reader_with_every_file_narrows_no_hidden_cell(
    release: tuple[pd.DataFrame, gpd.GeoDataFrame, pd.DataFrame],
) -> None:
    geography, municipalities, incidents = release
    protected, truth, months = protect_small(geography, municipalities, incidents)
    counts = protected.counts
    # one status for every hidden cell; no sensitive offence in a municipality's rows
    assert set(counts["status"].astype(str)) <= {"published", "suppressed"}
    municipal = counts[counts["geo_level"].astype(str) == "municipality"]
    assert not municipal["offence_code"].astype(str).isin({"SENSITIVE", "3", "4"}).any()
    # every point lies in a (municipality, month, group) cell the table publishes
    shown = counts[counts["status"].astype(str) == "published"]
    published = set(
        zip(
            shown["geo_code"].astype(str),
            shown["period"].astype(str),
            shown["offence_code"].astype(str),
            strict=True,
        )
    )
    points = protected.points.points
    at_municipality = points[points["level"].astype(str) == "municipality"]
    for code, month, group in zip(
        at_municipality["cell_code"],
        at_municipality["month"],
        at_municipality["offence_group"],
        strict=True,
    ):
        assert (str(code), str(month), str(group)) in published
    # the attack
    attack, _ = attack_of(protected, geography, municipalities, months)
    hidden = [key for key in attack.index if key not in published]
    required = small_requirements(geography, truth, hidden)
    assert narrowed_cells(attack, truth, required) == []


def test_a_municipality_that_is_its_whole_district_shows_the_districts_sensitive_figure():
    """One district of one municipality with 12 sensitive offences: the district publishes 12
    (at least the threshold), and the municipality's own sensitive figure, no row of the table,
    is that same 12, which the policy allows (CI found this case at random)."""
    geography, municipalities = small_country([1])
    west, south = municipalities.geometry.iloc[0].bounds[:2]
    offences = [3] * 12 + [LEAVES[0]] * 20 + [LEAVES[3]] * 15
    incidents = incident_frame(
        [("500000", "2025-01", o, west + SIDE / 2, south + SIDE / 2) for o in offences]
    )
    protected, truth, months = protect_small(geography, municipalities, incidents)
    attack, shown = attack_of(protected, geography, municipalities, months)
    assert ("D0", "2025-01", "SENSITIVE") in shown
    hidden = [key for key in attack.index if key not in shown]
    assert narrowed_cells(attack, truth, small_requirements(geography, truth, hidden)) == []


def test_a_status_that_said_why_would_have_told_the_reader() -> None:
    """The attack is strong enough to matter: told which hidden cells are primary (1 or 2), the
    same reader narrows cells the one status protects."""
    geography, municipalities = small_country([3, 2])
    rng = np.random.default_rng(7)
    rows = []
    for code, shape in zip(municipalities["code"], municipalities.geometry, strict=True):
        west, south = shape.bounds[:2]
        for month in ("2025-01", "2025-02"):
            for _ in range(rng.poisson(4)):
                offence = int(rng.choice(LEAVES))
                rows.append((code, month, offence, west + SIDE / 2, south + SIDE / 2))
    incidents = incident_frame(rows)
    protected, truth, months = protect_small(geography, municipalities, incidents)
    attack, shown = attack_of(protected, geography, municipalities, months)
    hidden = [key for key in attack.index if key not in shown]
    required = small_requirements(geography, truth, hidden)
    assert narrowed_cells(attack, truth, required) == []
    # the old label: a primary cell holds 1..2 (non-sensitive rows of the table)
    labelled = [
        k
        for k in hidden
        if k in protected.counts.attrs["primary"] and k[2] not in {"SENSITIVE", "3", "4"}
    ]
    assert labelled, "the example has primary cells"
    for key in labelled:
        attack.highs.changeColBounds(attack.index[key], 1.0, 2.0)
    assert narrowed_cells(attack, truth, required), "labels would have narrowed some cell"
