"""The crime index and the share solved per police unit, district directorate and region."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transforms.domain.crime_index import indicators, population_by_level, with_directorates

UNITS = pd.DataFrame(
    [
        ("01", "region", None),
        ("0101", "district", "01"),
        ("0102", "district", "01"),
        ("010110", "unit", "0101"),
        ("010111", "unit", "0101"),
        ("010210", "unit", "0102"),
    ],
    columns=["code", "level", "parent_code"],
)


def figures(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["unit_code", "period", "found", "solved"])
    return frame.assign(tsk_code="101-903")


def test_the_index_is_offences_found_per_10000_people_as_the_ngo_map_counts_it() -> None:
    """mapakriminality.cz: Sum(Found) / Population * 10000; a directorate's is its units'
    sums over its units' population."""
    found = with_directorates(
        figures(
            [
                ("010110", "2025-01", 30, 12),
                ("010111", "2025-01", 10, 8),
                ("010210", "2025-01", 5, 0),
            ]
        ),
        UNITS,
    )
    people = population_by_level(UNITS, {"010110": 20_000, "010111": 5_000, "010210": 2_500})
    shown = indicators(found, people).set_index("code")
    assert shown.loc["010110", "crime_index"] == 15.0
    assert shown.loc["0101", "crime_index"] == pytest.approx(40 / 25_000 * 10_000)
    assert shown.loc["01", ["found", "population"]].tolist() == [45, 27_500]
    assert shown.loc["0101", "share_solved"] == 0.5
    assert shown.loc["010210", "share_solved"] == 0.0


def test_a_directorate_with_a_unit_missing_has_no_figure() -> None:
    """A sum over the units that reported would read as the whole directorate's."""
    found = with_directorates(
        figures([("010110", "2025-01", 30, 12), ("010210", "2025-01", 5, 0)]), UNITS
    ).set_index("code")
    assert np.isnan(found.loc["0101", "found"]) and np.isnan(found.loc["01", "found"])
    assert found.loc["0102", "found"] == 5


def test_no_population_gives_no_rate() -> None:
    found = with_directorates(figures([("010210", "2025-01", 5, 0)]), UNITS)
    shown = indicators(found, {"010210": 0}).set_index("code")
    assert np.isnan(shown.loc["010210", "crime_index"])
