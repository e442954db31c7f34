"""Police units over municipalities: membership by area share and population apportioned."""

from __future__ import annotations

import json
import shutil
from itertools import pairwise

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sample_pipeline import promote_geography, promote_police_units
from transforms.domain.police_overlay import (
    EQUAL_AREA,
    assigned_shares,
    municipality_shares,
    unit_membership,
    unit_population,
    with_assignment,
)
from transforms.pipeline.boundaries import load_current_geography
from transforms.pipeline.police_districts import load_current_police_units
from transforms.pipeline.publish.police_figures import unit_shares
from transforms.plumbing.settings import Settings
from transforms.sources.police_assignment import read_unit_assignment
from transforms.sources.text import SchemaError


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


def test_the_polices_assignment_table_wins_over_the_overlay() -> None:
    """B lies 30/70 across the units' drawn border; the police's table gives it to U1."""
    towns = frame({"A": strip(0, 10), "B": strip(10, 20), "C": strip(20, 30)})
    units = frame({"U1": strip(0, 13), "U2": strip(13, 30)})
    overlay = municipality_shares(units, towns)
    table = pd.DataFrame(
        {
            "municipality_name": ["Alfa", "Beta", "Praha"],
            "district_name": ["Okres", "Okres", "Praha"],
            "region_name": "Kraj",
            "unit_name": ["OOP Jedna", "OOP JEDNA", "KŘP Praha"],
            "whole": [True, True, False],
        }
    )
    assigned, report = assigned_shares(
        table,
        pd.DataFrame(
            {"code": ["A", "B", "C"], "name": ["Alfa", "Beta", "Gama"], "district_name": "Okres"}
        ),
        pd.DataFrame({"code": ["U1", "U2"], "name": ["OOP Jedna", "OOP Dva"]}),
    )
    assert report == {"units_not_found": [], "municipalities_not_found": []}
    within, touching = unit_membership(with_assignment(overlay, assigned))
    assert within == {"U1": frozenset({"A", "B"}), "U2": frozenset({"C"})}
    assert touching["U2"] == frozenset({"C"})  # B is no longer split


def test_the_real_assignment_table_reads_every_municipality(shared_sources) -> None:
    """The police's table as mapakriminality.cz holds it: 6,247 municipalities under 456 units,
    and the four cities several units police kept apart for the overlay."""
    table = read_unit_assignment(
        (shared_sources / "czech-crime" / "OOP_dislokace.xlsx").read_bytes()
    )
    whole = table[table["whole"]]
    assert len(whole) == 6247 and whole["unit_name"].nunique() == 456
    assert sorted(table.loc[~table["whole"], "municipality_name"]) == [
        "Brno", "Ostrava", "Plzeň", "Praha"
    ]  # fmt: skip
    assert ("Aš", "Cheb", "OOP Aš") in set(
        zip(whole["municipality_name"], whole["district_name"], whole["unit_name"], strict=True)
    )


def test_a_workbook_without_the_header_row_is_refused(tmp_path) -> None:
    path = tmp_path / "a.xlsx"
    pd.DataFrame({"x": ["Aš"], "y": ["Cheb"]}).to_excel(path, index=False)
    with pytest.raises(SchemaError, match="no single header row"):
        read_unit_assignment(path.read_bytes())


def test_an_assignment_table_beside_the_police_file_decides_the_units_membership(
    tmp_path, sample_dir
) -> None:
    """The operator puts the police's table beside the KML: it is kept as a snapshot with the
    units, and where it names a municipality's unit, that unit holds it (here one the polygons
    place elsewhere)."""
    data_in = tmp_path / "in"
    shutil.copytree(sample_dir, data_in)
    settings = Settings(data_root=tmp_path / "data", data_in=data_in)
    promote_geography(settings, "t")
    geography, version = load_current_geography(settings)
    names = dict(zip(geography["code"], geography["name"], strict=True))
    town = geography[geography["level"] == "municipality"].iloc[0]
    promote_police_units(settings, "t")
    units = load_current_police_units(settings)
    overlay = unit_shares(settings, _units_version(settings), version)
    first = overlay.loc[overlay["municipality_code"] == town["code"], "unit_code"].iloc[0]
    other = units[(units["level"] == "unit") & (units["code"] != first)].iloc[0]
    rows = [["OBEC", "OKRES", "KRAJ", "OOP"],
            [town["name"], names[town["parent_code"]], "kraj", other["name"]]]  # fmt: skip
    pd.DataFrame(rows).to_excel(
        data_in / "police_districts" / "dislokace.xlsx", header=False, index=False
    )
    promote_police_units(settings, "t")
    shares = unit_shares(settings, _units_version(settings), version)
    mine = shares[shares["municipality_code"] == town["code"]]
    assert mine[["unit_code", "share"]].values.tolist() == [[other["code"], 1.0]]


def _units_version(settings: Settings) -> str:
    pointer = settings.canonical_dir / "police_districts" / "current.json"
    return str(json.loads(pointer.read_text())["version"])
