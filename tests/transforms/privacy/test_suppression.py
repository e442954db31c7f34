"""Cell suppression and the LP audit, checked on random tables and against a plain LP attack."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from scipy.optimize import linprog

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
    Cube,
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
)
from transforms.privacy.audit import audit
from transforms.privacy.cells import (
    PRIMARY_CODE,
    PUBLISHED_CODE,
    SECONDARY_CODE,
    KnownCells,
    below_sensitive_level,
    hidden_cells,
    primary_cells,
    public_statuses,
    required_widths,
    table_cells,
)
from transforms.privacy.suppression import protect, published_table


def plain_lp_interval(cube: Cube, hidden: np.ndarray, cell: int) -> tuple[float, float]:
    """An independent attack: dense equations of every relation (and the inequalities of types
    with offences coded at them), one LP per bound."""
    count = cube.count.astype(float)
    variables = np.flatnonzero(hidden)
    col = {int(c): i for i, c in enumerate(variables)}
    rows, rhs, upper_rows, upper_rhs = [], [], [], []
    relations = [
        (cube.totals, cube.ptr, cube.members, True),
        (cube.at_least.totals, cube.at_least.ptr, cube.at_least.members, False),
    ]
    for totals, ptr, members, exact in relations:
        for r, total in enumerate(totals):
            row = np.zeros(len(variables))
            constant = 0.0
            for member, sign in [*[(m, 1.0) for m in members[ptr[r] : ptr[r + 1]]], (total, -1.0)]:
                if int(member) in col:
                    row[col[int(member)]] += sign
                else:
                    constant -= sign * count[member]
            if row.any():
                (rows if exact else upper_rows).append(row)
                (rhs if exact else upper_rhs).append(constant)
    unit = np.zeros(len(variables))
    unit[col[cell]] = 1
    arguments = {
        "A_eq": np.array(rows) if rows else None,
        "b_eq": rhs or None,
        "A_ub": np.array(upper_rows) if upper_rows else None,
        "b_ub": upper_rhs or None,
        "bounds": (0, None),
        "method": "highs",
    }
    low = linprog(unit, **arguments)
    high = linprog(-unit, **arguments)
    assert low.status == 0 and high.status in (0, 3)  # 3: unbounded above, nothing to learn
    return float(low.fun), (float(-high.fun) if high.status == 0 else np.inf)


def whole(low: float, high: float) -> float:
    return np.floor(high + 1e-6) - np.ceil(low - 1e-6)


@SLOW
@given(cubes())
def test_protected_tables_pass_the_audit_and_lose_nothing(cube: Cube) -> None:
    protection = protect(cube, POLICY)
    codes = protection.codes
    count = cube.count
    published = codes == PUBLISHED_CODE
    sensitive = np.asarray(cube.cells["offence_code"].isin({"SENSITIVE", *map(str, SENSITIVE)}))
    # (a) no published count in [1, threshold-1]
    assert not (published & ~sensitive & (count >= 1) & (count < 3)).any()
    assert not (published & sensitive & (count >= 1) & (count < 10)).any()
    # sensitive offences never below the district level, and no row of the table there
    fine = cube.cells["geo_level"].eq("municipality").to_numpy()
    assert not (published & sensitive & fine).any()
    assert (protection.table == ~(sensitive & fine)).all()
    # (b) the audit passes, checked again from scratch, secondary cells included
    _, primary_required, _ = primary_cells(cube, POLICY)
    required = required_widths(cube, POLICY, ~published, primary_required)
    below = below_sensitive_level(cube, POLICY)
    assert (required[~published & (count > 0) & ~below] >= 1).all()
    assert audit(cube, codes, required).passed
    # (c) a municipality's sensitive cells need no proof of their own: each one is as wide
    # as the policy asks of a sensitive cell (or its municipality is its whole district)
    whole_district = {code for code, kids in cube.geo.children().items() if len(kids) == 1}
    for cell in np.flatnonzero(below & (count > 0))[:12]:
        district = cube.geo.parent[cube.geo.codes[np.unravel_index(cell, cube.shape)[0]]]
        low, high = plain_lp_interval(cube, ~published, int(cell))
        assert whole(low, high) >= 10 or district in whole_district
    # (e) nothing lost: every cell has one of the statuses
    assert set(np.unique(codes)) <= {PUBLISHED_CODE, PRIMARY_CODE, SECONDARY_CODE}


@SLOW
@given(cubes())
def test_the_published_table_says_what_protection_decided(cube: Cube) -> None:
    """Each row of the table once, in the cube's order, with its codes and names as text, its
    status (published or suppressed, never why), and its count only where published."""
    protection = protect(cube, POLICY)
    names = {c: f'name of {c}, "quoted"' for c in cube.geo.codes[1:]}  # the first unnamed
    table = published_table(
        cube, protection, POLICY, names, {}, {c: c.lower() for c in cube.offence.codes}
    )
    rows = np.flatnonzero(protection.table)
    cells = cube.cells.iloc[rows].reset_index(drop=True)
    for key in ("geo_level", "geo_code", "period_type", "period", "offence_level", "offence_code"):
        assert table[key].astype("str").tolist() == cells[key].tolist(), key
    geo_names = [None if pd.isna(name) else name for name in table["geo_name"]]
    assert geo_names == [names.get(c) for c in cells["geo_code"]]
    assert (
        table["offence_name"].astype("str").tolist() == cells["offence_code"].str.lower().tolist()
    )
    hidden = protection.hidden[rows]
    assert table["status"].astype(str).tolist() == [
        "suppressed" if h else "published" for h in hidden
    ]
    assert table["count"][~hidden].tolist() == cells["count"][~hidden].tolist()
    assert table["count"][hidden].isna().all()


def test_a_status_outside_the_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of"):
        hidden_cells(np.array(["published", "suppressed_primary"], dtype=object))
    with pytest.raises(ValueError, match="not a position"):
        hidden_cells(np.array([0, 3], dtype=np.int8))


def test_the_public_status_never_says_why() -> None:
    codes = np.array([SECONDARY_CODE, PUBLISHED_CODE, PRIMARY_CODE, PUBLISHED_CODE])
    assert public_statuses(codes).tolist() == ["suppressed", "published", "suppressed", "published"]
    assert hidden_cells(codes).tolist() == [True, False, True, False]
    names = np.array(["suppressed", "published"], dtype=object)
    assert hidden_cells(names).tolist() == [True, False]


@settings(max_examples=15, deadline=None)
@given(cubes(max_count=6))
def test_audit_intervals_match_a_plain_lp_attack(cube: Cube) -> None:
    protection = protect(cube, POLICY)
    result = audit(cube, protection.codes, protection.required_width)
    for row in result.cells.itertuples():
        low, high = plain_lp_interval(cube, protection.hidden, row.cell)
        # the audit's interval is inside the exact one and, where exact, equal to it
        assert low - 1e-6 <= row.lower and row.upper <= high + 1e-6
        if row.exact and np.isfinite(high):
            assert (row.lower, row.upper) == pytest.approx((low, high), abs=1e-6)
        # the verdict is the exact LP's verdict, in whole numbers
        assert bool(row.ok) == (whole(low, high) >= row.required)


def two_municipalities_two_types() -> Cube:
    """One small cell (1) among larger ones, in a 2 × 2 table with its margins."""
    base = pd.DataFrame(
        [("000000", "2025-01", "44")] * 1
        + [("000001", "2025-01", "44")] * 7
        + [("000000", "2025-01", "45")] * 9
        + [("000001", "2025-01", "45")] * 8,
        columns=["geo", "period", "offence"],
    )
    return build_cube(
        base,
        geography_dimension(geography([2])),
        period_dimension(["2025-01"]),
        offence_dimension(TYPES, PARENT, SENSITIVE),
    )


def labels_of(cube: Cube) -> list[tuple[str, str, str]]:
    return cube.cells[["geo_code", "period", "offence_code"]].apply(tuple, axis=1).tolist()


def test_suppressing_one_partner_in_a_row_is_caught() -> None:
    """The classic mistake: hide a small cell and one neighbour; the other total gives it away."""
    cube = two_municipalities_two_types()
    primary, primary_required, _ = primary_cells(cube, POLICY)
    codes = np.where(primary, PRIMARY_CODE, PUBLISHED_CODE).astype(np.int8)
    # hide only the row partner of the small cell (000001 × 44): the column still betrays it
    labels = labels_of(cube)
    codes[labels.index(("000001", "2025-01", "44"))] = SECONDARY_CODE
    required = required_widths(cube, POLICY, codes != PUBLISHED_CODE, primary_required)
    result = audit(cube, codes, required)
    assert not result.passed
    small = labels.index(("000000", "2025-01", "44"))
    assert small in set(result.failing["cell"])
    assert result.failing.set_index("cell").loc[small, "width"] == pytest.approx(0)
    # and protect() finds a pattern that holds
    protection = protect(cube, POLICY)
    assert audit(cube, protection.codes, protection.required_width).passed


def test_a_hidden_secondary_cell_is_never_recomputed_exactly() -> None:
    """A secondary cell alone in a relation is exactly its total minus the published parts:
    the audit now asks every hidden non-zero cell for a width of at least one."""
    cube = two_municipalities_two_types()
    primary, primary_required, _ = primary_cells(cube, POLICY)
    labels = labels_of(cube)
    codes = np.where(primary, PRIMARY_CODE, PUBLISHED_CODE).astype(np.int8)
    # hide the whole 2 × 2 block and its four margins except the grand total (all cells of a
    # geography × offence square): the small cell is safe, but a margin of the period axis...
    for key in labels:
        if key[1] == "2025-01" and key[0] in ("000000", "000001") and key[2] in ("44", "45"):
            codes[labels.index(key)] = max(codes[labels.index(key)], SECONDARY_CODE)
    required = required_widths(cube, POLICY, codes != PUBLISHED_CODE, primary_required)
    result = audit(cube, codes, required)
    # the year cells of the four leaves are published and equal their single month: every
    # hidden month cell is recomputed exactly, the secondary ones included
    failing = {labels[c] for c in result.failing["cell"]}
    assert ("000001", "2025-01", "44") in failing  # a secondary cell, exactly its year


def test_previously_published_cells_are_known_to_the_attacker() -> None:
    """Differencing across releases: a cell published before is as good as published now."""
    cube = two_municipalities_two_types()
    protection = protect(cube, POLICY)
    assert audit(cube, protection.codes, protection.required_width).passed
    secondary = np.flatnonzero(protection.codes == SECONDARY_CODE)
    known = KnownCells(secondary, cube.count[secondary])  # as if an old release showed them
    assert not audit(cube, protection.codes, protection.required_width, known).passed
    # protecting with that knowledge avoids the known cells and passes
    again = protect(cube, POLICY, known=known)
    assert audit(cube, again.codes, again.required_width, known).passed


def test_the_table_has_no_row_for_a_sensitive_offence_below_the_district() -> None:
    cube = two_municipalities_two_types()
    table = table_cells(cube, POLICY)
    municipal = cube.cells["geo_level"].eq("municipality").to_numpy()
    sensitive = cube.cells["offence_code"].isin({"SENSITIVE", "3"}).to_numpy()
    assert (table == ~(municipal & sensitive)).all()
