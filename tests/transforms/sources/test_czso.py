"""ČSÚ population in its tidy CSV form."""

from __future__ import annotations

import pytest

from testdata.sample import TOWNS, population_csv
from transforms.sources.czso import read_population_csv
from transforms.sources.text import SchemaError

COLUMNS = (
    "idhod,hodnota,stapro_kod,pohlavi_cis,pohlavi_kod,pohlavi_txt,"
    "vuzemi_cis,vuzemi_kod,vuzemi_txt,casref_do"
)


def test_municipal_totals_keep_leading_zeros_and_skip_sex_rows() -> None:
    population = read_population_csv(population_csv(), "usual residents")
    assert population.by_municipality["563889"] == 104000
    assert len(population.by_municipality) == len(TOWNS)
    assert population.reference_date == "2024-12-31"


def test_latest_reference_date_wins_and_other_territories_are_ignored() -> None:
    data = "\n".join(
        [
            COLUMNS,
            "1,100,2406,,,,43,001234,Obec,2023-12-31",
            "2,110,2406,,,,43,001234,Obec,2024-12-31",
            "3,9999,2406,,,,101,3503,Okres,2024-12-31",
        ]
    ).encode()
    population = read_population_csv(data, "x")
    assert population.by_municipality == {"001234": 110}


def test_two_totals_for_one_municipality_are_refused() -> None:
    data = "\n".join(
        [
            COLUMNS,
            "1,100,2406,,,,43,001234,Obec,2024-12-31",
            "2,110,2406,,,,43,001234,Obec,2024-12-31",
        ]
    ).encode()
    with pytest.raises(SchemaError, match="several totals"):
        read_population_csv(data, "x")


def test_missing_column_is_named() -> None:
    with pytest.raises(SchemaError, match=r"\['vuzemi_kod'\]"):
        read_population_csv(b"hodnota,vuzemi_cis\n1,43\n", "x")
