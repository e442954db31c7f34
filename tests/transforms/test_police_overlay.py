"""Police units over municipalities: membership by area share and population apportioned."""

from __future__ import annotations

from itertools import pairwise

import geopandas as gpd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.domain.police_overlay import (
    EQUAL_AREA,
    municipality_shares,
    unit_membership,
    unit_population,
)


def frame(shapes: dict[str, shapely.Geometry]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": list(shapes)}, geometry=list(shapes.values()), crs=EQUAL_AREA
    ).to_crs("EPSG:4326")


def strip(x0: float, x1: float) -> shapely.Geometry:
    """A rectangle 10 km tall between x0 and x1 km, somewhere in Bohemia (LAEA metres)."""
    return shapely.box(4_600_000 + x0 * 1000, 3_000_000, 4_600_000 + x1 * 1000, 3_010_000)


def test_a_border_strip_is_a_drawing_difference_and_a_real_split_is_a_split() -> None:
    """Municipality A lies in unit 1 but for 0.5 % (a border drawn differently); B is split
    30/70; C is wholly in unit 2."""
    towns = frame({"A": strip(0, 10), "B": strip(10, 20), "C": strip(20, 30)})
    units = frame({"U1": strip(0.05, 13), "U2": strip(13, 30)})
    shares = municipality_shares(units, towns)
    within, touching = unit_membership(shares)
    assert within == {"U1": frozenset({"A"}), "U2": frozenset({"C"})}
    assert touching == {"U1": frozenset({"A", "B"}), "U2": frozenset({"B", "C"})}
    population = unit_population(shares, {"A": 1000, "B": 500, "C": 200})
    assert population["U1"] == pytest.approx(1000 + 150, abs=1)
    assert population["U2"] == pytest.approx(350 + 200, abs=1)


def test_a_municipality_without_a_population_adds_nothing() -> None:
    towns = frame({"A": strip(0, 10), "B": strip(10, 20)})
    units = frame({"U1": strip(0, 20)})
    population = unit_population(municipality_shares(units, towns), {"A": 1000, "B": None})
    assert population.to_dict() == {"U1": pytest.approx(1000)}


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 20), min_size=1, max_size=6),
    st.lists(st.integers(1, 20), min_size=1, max_size=6),
    st.lists(st.integers(0, 100_000), min_size=6, max_size=6),
)
def test_no_one_is_counted_twice_or_lost(
    town_widths: list[int], unit_widths: list[int], people: list[int]
) -> None:
    """Units and municipalities tile the same strip in different cuts: the units' populations
    add up to the municipalities'."""
    scale = sum(town_widths) / sum(unit_widths)
    edges = [0.0]
    for w in town_widths:
        edges.append(edges[-1] + w)
    towns = frame({f"T{i}": strip(a, b) for i, (a, b) in enumerate(pairwise(edges))})
    cuts = [0.0]
    for w in unit_widths:
        cuts.append(cuts[-1] + w * scale)
    cuts[-1] = edges[-1]
    units = frame({f"U{i}": strip(a, b) for i, (a, b) in enumerate(pairwise(cuts))})
    population = {f"T{i}": people[i] for i in range(len(town_widths))}
    shares = municipality_shares(units, towns)
    assert unit_population(shares, population).sum() == pytest.approx(
        sum(population.values()), rel=1e-6
    )
    within, touching = unit_membership(shares)
    for unit in within:
        assert within[unit] <= touching[unit]
    # every municipality is wholly in one unit or touched by two or more
    for town in population:
        holders = [u for u in within if town in within[u]]
        reaching = [u for u in touching if town in touching[u]]
        assert len(holders) == 1 or len(reaching) >= 2
