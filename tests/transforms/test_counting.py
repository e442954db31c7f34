"""The counting cube: every level of every hierarchy adds up, and nothing is lost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.domain.counting import (
    NONSENSITIVE,
    SENSITIVE,
    build_cube,
    geography_dimension,
    offence_dimension,
    offence_labels,
    period_dimension,
    sensitive_nodes,
)

ALL = NONSENSITIVE  # no type here is sensitive: the headline counts every record

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
    }
)
TYPES = {1: "násilná", 2: "ublížení", 3: "loupež", 35: "krádeže", 44: "v obchodě"}
PARENT = {1: None, 2: 1, 3: 1, 35: None, 44: 35}


BASE = pd.DataFrame(
    [("M1", "2025-01", "2")] * 4
    + [
        ("M1", "2025-01", "3"),
        ("M2", "2025-01", "44"),
        ("M3", "2025-02", "44"),
        ("M3", "2025-02", "35"),
    ],
    columns=["geo", "period", "offence"],
)


def counted(base: pd.DataFrame):
    return build_cube(
        base,
        geography_dimension(GEOGRAPHY),
        period_dimension(["2025-01", "2025-02"]),
        offence_dimension(TYPES, PARENT),
    )


@pytest.fixture
def cube():
    return counted(BASE)


def test_codes_as_categories_count_as_text(cube) -> None:
    """The release counts categories (a year's records are not spelled out as strings)."""
    as_categories = counted(BASE.astype("category").iloc[::-1])
    pd.testing.assert_frame_equal(as_categories.cells, cube.cells)
    for part in ("totals", "ptr", "members"):
        assert (getattr(as_categories, part) == getattr(cube, part)).all()


def test_a_record_missing_a_code_is_not_counted_and_an_unknown_code_is_an_error(cube) -> None:
    missing = pd.DataFrame([(None, "2025-01", "2"), ("M1", None, "2")], columns=BASE.columns)
    for extra in (missing, missing.astype("category")):
        assert (counted(pd.concat([BASE, extra], ignore_index=True)).count == cube.count).all()
    # an unused category outside the cube is no record: only the codes rows use must be known
    unused = BASE.astype({"geo": pd.CategoricalDtype(["M1", "M2", "M3", "M9"])})
    assert (counted(unused).count == cube.count).all()
    with pytest.raises(KeyError, match="M9"):
        counted(pd.concat([BASE, pd.DataFrame([("M9", "2025-01", "2")], columns=BASE.columns)]))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["CZ", "R1", "D1", "D2", "M1", "M2", "M3"]),
            st.sampled_from(["2025-01", "2025-02"]),
            st.sampled_from([str(t) for t in TYPES]),
        ),
        max_size=40,
    )
)
def test_every_cell_counts_the_records_below_it(records: list[tuple[str, str, str]]) -> None:
    """Each cell counts the records at or below it on all three hierarchies (records at
    internal nodes included), as a record-by-record count says."""
    cube = counted(pd.DataFrame(records, columns=["geo", "period", "offence"]))
    dims = (cube.geo, cube.period, cube.offence)
    keys = cube.cells[["geo_code", "period", "offence_code"]].itertuples(index=False)
    expected = [
        sum(
            all(
                code in dim.ancestors_or_self(own)
                for code, dim, own in zip(key, dims, record, strict=True)
            )
            for record in records
        )
        for key in keys
    ]
    assert cube.cells["count"].tolist() == expected


def cell(cube, geo: str, period: str, offence: str) -> int:
    c = cube.cells
    row = c[(c["geo_code"] == geo) & (c["period"] == period) & (c["offence_code"] == offence)]
    return int(row["count"].iloc[0])


def test_full_cube_with_zeros(cube) -> None:
    assert cube.shape == (7, 3, 6)  # 7 units; 2025 + 2 months; the headline + 5 types
    assert len(cube.cells) == 7 * 3 * 6
    assert cell(cube, "M2", "2025-02", ALL) == 0
    assert not cube.cells.duplicated(["geo_code", "period", "offence_code"]).any()


def test_totals_equal_the_input(cube) -> None:
    assert cell(cube, "CZ", "2025", ALL) == 8
    assert cell(cube, "D1", "2025-01", "1") == 5
    assert cell(cube, "M3", "2025", "35") == 2  # one coded at the group itself, one below


def test_relations_hold_and_cover_every_hierarchy(cube) -> None:
    count = cube.cells["count"].to_numpy()
    sums = np.add.reduceat(count[cube.members], cube.ptr[:-1])
    assert (sums == count[cube.totals]).all()
    # geography: D1 = M1 + M2 for every period and offence
    labels = cube.cells.apply(lambda r: (r.geo_code, r.period, r.offence_code), axis=1).tolist()
    described = {
        (labels[t], tuple(sorted(labels[m] for m in cube.relation_members(r))))
        for r, t in enumerate(cube.totals)
    }
    assert (("D1", "2025-01", "2"), (("M1", "2025-01", "2"), ("M2", "2025-01", "2"))) in described
    assert (("M1", "2025", "2"), (("M1", "2025-01", "2"), ("M1", "2025-02", "2"))) in described
    assert (("M1", "2025-01", "1"), (("M1", "2025-01", "2"), ("M1", "2025-01", "3"))) in described


def test_a_relation_that_does_not_hold_is_kept_as_an_inequality(cube) -> None:
    """An offence coded at group 35 itself: 35 ≠ 44 there, so that relation is no equation;
    a reader still knows 35 ≥ 44, and so does the audit."""
    labels = [
        (g, p, o)
        for g, p, o in cube.cells[["geo_code", "period", "offence_code"]].itertuples(index=False)
    ]
    totals = {labels[t] for t in cube.totals}
    assert ("M3", "2025-02", "35") not in totals
    assert ("M2", "2025-01", "35") in totals  # there 35 = 44 holds
    at_least = cube.at_least
    inequalities = {
        (
            labels[t],
            tuple(labels[m] for m in at_least.members[at_least.ptr[r] : at_least.ptr[r + 1]]),
        )
        for r, t in enumerate(at_least.totals)
    }
    assert (("M3", "2025-02", "35"), (("M3", "2025-02", "44"),)) in inequalities
    count = cube.count
    sums = np.add.reduceat(count[at_least.members], at_least.ptr[:-1])
    assert (count[at_least.totals] > sums).all()


SENSITIVE_TYPES = {
    1: "NÁSILNÁ",
    2: "ublížení",
    3: "Znásilnění",
    6: "pohlavní zneužití dítěte",
    35: "KRÁDEŽE",
    44: "v obchodě",
}
SENSITIVE_PARENT = {1: None, 2: 1, 3: 1, 6: 3, 35: None, 44: 35}


def test_sensitive_offences_form_their_own_branch() -> None:
    """Sensitive types (and everything below them) hang under SENSITIVE; their group's other
    offences stay under NONSENSITIVE, so no municipal total holds a sensitive offence."""
    dim = offence_dimension(SENSITIVE_TYPES, SENSITIVE_PARENT, {3, 6})
    assert dim.parent["3"] == SENSITIVE and dim.parent["6"] == "3"
    assert dim.parent["2"] == "1" and dim.parent["1"] == NONSENSITIVE
    assert dim.level[NONSENSITIVE] == dim.level[SENSITIVE] == "total"
    assert dim.level["1"] == "group" and dim.level["3"] == "type"
    assert dict(zip(dim.codes, sensitive_nodes(dim), strict=True)) == {
        NONSENSITIVE: False,
        SENSITIVE: True,
        "1": False,
        "2": False,
        "3": True,
        "6": True,
        "35": False,
        "44": False,
    }
    labels = offence_labels(dim, SENSITIVE_TYPES, SENSITIVE_PARENT)
    assert labels["1"] == "NÁSILNÁ – bez citlivých / excluding sensitive offences"
    assert labels["35"] == "KRÁDEŽE" and labels["3"] == "Znásilnění"
    with pytest.raises(ValueError, match="below a sensitive one"):
        offence_dimension(SENSITIVE_TYPES, SENSITIVE_PARENT, {3})  # 6 is below 3
    # without sensitive offences there is no SENSITIVE root
    assert SENSITIVE not in offence_dimension(TYPES, PARENT).codes


def test_cells_are_found_by_their_codes(cube) -> None:
    keys = cube.cells.sample(frac=1, random_state=3)
    assert (cube.cell_numbers(keys) == keys.index.to_numpy()).all()


@given(st.lists(st.integers(min_value=0, max_value=7 * 3 * 6 - 1), max_size=40))
def test_the_keys_of_some_cells_are_those_of_the_cell_table(cells: list[int]) -> None:
    """Protection stages its certificates' cells, and the audit names failing cells, by the
    keys of those cells alone: they must be the cell table's, in the same types."""
    cube = counted(BASE)
    key = ["geo_code", "period", "offence_code"]
    expected = cube.cells[key].iloc[cells].reset_index(drop=True)
    pd.testing.assert_frame_equal(cube.keys(np.array(cells, dtype=np.int64)), expected)
    assert (cube.cell_numbers(cube.keys(np.array(cells, dtype=np.int64))) == cells).all()


def test_codes_outside_the_cube_find_no_cell(cube) -> None:
    keys = pd.DataFrame(
        {
            "geo_code": ["M1", "M9", "M1", None, "CZ"],
            "period": ["2025-01", "2025-01", "2024-12", "2025-01", "2025"],
            "offence_code": ["2", "2", "2", "2", ALL],
        }
    )
    numbers = cube.cell_numbers(keys)
    assert numbers[1:4].tolist() == [-1, -1, -1]
    assert cube.cells.loc[numbers[0], ["geo_code", "period", "offence_code"]].tolist() == [
        "M1",
        "2025-01",
        "2",
    ]
    assert cube.cells.loc[numbers[4], ["geo_code", "period", "offence_code"]].tolist() == [
        "CZ",
        "2025",
        ALL,
    ]
