"""The operator's report: what protection costs, and the least any protection could cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given

from tests.transforms.privacy.strategies import (
    PARENT,
    POLICY,
    SENSITIVE,
    SLOW,
    TYPES,
    cubes,
    geography,
)
from transforms.domain.counting import (
    NONSENSITIVE,
    Cube,
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
)
from transforms.privacy.cells import SECONDARY_CODE
from transforms.privacy.report import protection_cost, tally, unavoidable_secondary
from transforms.privacy.suppression import protect


def one_municipality(months: list[int]) -> Cube:
    """A municipality with ``months[i]`` offences of type 44 in month i + 1 of 2025, beside a
    busy neighbour in the same district."""
    rows = []
    for month, n in enumerate(months, start=1):
        rows += [("000000", f"2025-{month:02d}", "44")] * n
        rows += [("000001", f"2025-{month:02d}", "44")] * 20
    labels = [f"2025-{m:02d}" for m in range(1, len(months) + 1)]
    return build_cube(
        pd.DataFrame(rows, columns=["geo", "period", "offence"]),
        geography_dimension(geography([2])),
        period_dimension(labels),
        offence_dimension(TYPES, PARENT, SENSITIVE),
    )


def forced_cells(cube: Cube) -> set[tuple[str, str, str]]:
    protection = protect(cube, POLICY)
    forced = unavoidable_secondary(
        cube, protection.codes, protection.table, protection.required_width
    )
    keys = cube.keys(np.flatnonzero(forced))
    return set(keys[["geo_code", "period", "offence_code"]].itertuples(index=False, name=None))


def test_a_year_over_one_small_month_forces_a_secondary_cell() -> None:
    """1 + 5 + 4 = 10: with the year and two months published, the 1 is their difference, so
    the municipality's year or one of its other months must be hidden, whatever the algorithm:
    the year of the type, of its group and of the headline (all three hold the same offences)."""
    cube = one_municipality([1, 5, 4])
    assert forced_cells(cube) == {
        ("000000", "2025", "44"),
        ("000000", "2025", "35"),
        ("000000", "2025", NONSENSITIVE),
    }


def test_small_months_that_protect_each_other_force_nothing() -> None:
    """1 + 2 + 4: the reader learns that the two small months hold 3 together, so each of them
    ranges over 0..3, as wide as the policy asks: no secondary cell is forced."""
    assert forced_cells(one_municipality([1, 2, 4])) == set()


def test_two_single_offences_are_still_too_narrow() -> None:
    """1 + 1 + 4: two small months of 2 together range over 0..2 each, narrower than 3."""
    assert ("000000", "2025", NONSENSITIVE) in forced_cells(one_municipality([1, 1, 4]))


@SLOW
@given(cubes())
def test_the_least_is_a_lower_bound_protection_respects(cube: Cube) -> None:
    """Every forced year has a secondary cell among itself and its months (same unit and
    offence), in every protected table: the bound the report prints is never above what
    protection hides."""
    protection = protect(cube, POLICY)
    forced = unavoidable_secondary(
        cube, protection.codes, protection.table, protection.required_width
    )
    secondary = (protection.codes == SECONDARY_CODE).reshape(cube.shape)
    g, p, o = np.unravel_index(np.flatnonzero(forced), cube.shape)
    index = cube.period.index()
    for gi, pi, oi in zip(g, p, o, strict=True):
        months = [index[k] for k in cube.period.children()[cube.period.codes[pi]]]
        assert secondary[gi, pi, oi] or secondary[gi, months, oi].any()
    cost = protection_cost(
        tally(cube, protection.codes, protection.table, protection.required_width), 1
    )
    least = cost["least_municipal_headlines_hidden_as_secondary"]
    actual = cost["municipal_headlines_hidden_as_secondary"]
    assert least is None or least <= actual
