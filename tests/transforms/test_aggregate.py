"""Counting: every level adds up, and totals equal the input minus quarantine and exclusions."""

from __future__ import annotations

import pandas as pd
import pytest

from transforms.aggregate import ALL_OFFENCES, count_offences

GEOGRAPHY = pd.DataFrame(
    {
        "code": ["CZ", "R1", "D1", "D2", "M1", "M2", "M3"],
        "name": ["Česko", "Kraj", "Okres 1", "Okres 2", "Obec 1", "Obec 2", "Obec 3"],
        "level": [
            "country",
            "region",
            "district",
            "district",
            "municipality",
            "municipality",
            "municipality",
        ],
        "parent_code": [None, "CZ", "R1", "R1", "D1", "D1", "D2"],
        "population": [3000, 3000, 2000, 1000, 1500, 500, 1000],
    }
)


def incidents(rows: list[tuple[str, str, int, bool]]) -> pd.DataFrame:
    district = {"M1": "D1", "M2": "D1", "M3": "D2"}
    return pd.DataFrame(
        [
            {
                "municipality_code": m,
                "district_code": district[m],
                "region_code": "R1",
                "reported_month": month,
                "offence_group": group,
                "counted": counted,
            }
            for m, month, group, counted in rows
        ]
    )


@pytest.fixture
def table() -> pd.DataFrame:
    rows = (
        [("M1", "2025-01", 35, True)] * 4
        + [("M1", "2025-01", 1, True)]
        + [("M2", "2025-01", 35, True), ("M3", "2025-02", 97, True), ("M3", "2025-02", 97, False)]
    )
    return count_offences(
        incidents(rows),
        GEOGRAPHY,
        ["2025-01", "2025-02"],
        {1: "násilná", 35: "krádeže", 97: "přestupky"},
    )


def test_full_cube_with_zeros(table: pd.DataFrame) -> None:
    units, months, groups = 7, 2, 4  # 3 groups + all
    assert len(table) == units * months * groups
    assert not table.duplicated(["geo_level", "geo_code", "period", "offence_group"]).any()
    zero = table.query("geo_code == 'M2' and period == '2025-02' and offence_group == 'ALL'")
    assert zero["count"].tolist() == [0]


def test_totals_equal_counted_input(table: pd.DataFrame) -> None:
    country = table.query("geo_level == 'country' and offence_group == @ALL_OFFENCES")
    assert country["count"].sum() == 7  # 8 records, one excluded (not an offence)


def test_every_hierarchy_adds_up(table: pd.DataFrame) -> None:
    cells = table.set_index(["geo_code", "period", "offence_group"])["count"]
    for period in ("2025-01", "2025-02"):
        for group in ("1", "35", "97", ALL_OFFENCES):
            assert (
                cells["D1", period, group]
                == cells["M1", period, group] + cells["M2", period, group]
            )
            assert (
                cells["R1", period, group]
                == cells["D1", period, group] + cells["D2", period, group]
            )
            assert cells["CZ", period, group] == cells["R1", period, group]
        assert cells["M1", period, ALL_OFFENCES] == sum(
            cells["M1", period, g] for g in ("1", "35", "97")
        )


def test_group_names_are_attached(table: pd.DataFrame) -> None:
    names = table.drop_duplicates("offence_group").set_index("offence_group")["offence_group_name"]
    assert names["35"] == "krádeže"
