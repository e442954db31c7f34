"""Cell suppression and the LP audit, checked on random tables and against a plain LP attack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from scipy.optimize import linprog

from tests.transforms.privacy.strategies import PARENT, SENSITIVE, TYPES, cubes, geography
from transforms.aggregate import (
    Cube,
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
)
from transforms.privacy.audit import audit
from transforms.privacy.policy import load_policy
from transforms.privacy.suppression import (
    PUBLISHED,
    SUPPRESSED_PRIMARY,
    SUPPRESSED_SECONDARY,
    KnownCells,
    primary_cells,
    protect,
    published_table,
    status_categories,
    status_codes,
)

POLICY, _ = load_policy(Path(__file__).resolve().parents[3] / "policy" / "disclosure.yaml")
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def plain_lp_interval(cube: Cube, status: np.ndarray, cell: int) -> tuple[float, float]:
    """An independent attack: dense equations of every relation, one LP per bound."""
    count = cube.cells["count"].to_numpy().astype(float)
    hidden = np.flatnonzero(status != PUBLISHED)
    col = {int(c): i for i, c in enumerate(hidden)}
    rows, rhs = [], []
    for r, total in enumerate(cube.totals):
        row = np.zeros(len(hidden))
        constant = 0.0
        for member, sign in [*[(m, 1.0) for m in cube.relation_members(r)], (total, -1.0)]:
            if int(member) in col:
                row[col[int(member)]] += sign
            else:
                constant -= sign * count[member]
        if row.any():
            rows.append(row)
            rhs.append(constant)
    unit = np.zeros(len(hidden))
    unit[col[cell]] = 1
    low = linprog(unit, A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
    high = linprog(-unit, A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
    assert low.status == 0 and high.status in (0, 3)  # 3: unbounded above, nothing to learn
    return float(low.fun), (float(-high.fun) if high.status == 0 else np.inf)


@SLOW
@given(cubes())
def test_protected_tables_pass_the_audit_and_lose_nothing(cube: Cube) -> None:
    protection = protect(cube, POLICY, SENSITIVE)
    status = protection.status
    count = cube.cells["count"].to_numpy()
    published = status == PUBLISHED
    sensitive = cube.cells["offence_code"].isin({str(c) for c in SENSITIVE}).to_numpy()
    # (a) no published count in [1, threshold-1]
    assert not (published & ~sensitive & (count >= 1) & (count < 3)).any()
    assert not (published & sensitive & (count >= 1) & (count < 10)).any()
    # sensitive offences never below the district level
    fine = cube.cells["geo_level"].eq("municipality").to_numpy()
    assert not (published & sensitive & fine).any()
    # (b) the audit passes, checked again from scratch
    _, required, _ = primary_cells(cube, POLICY, SENSITIVE)
    assert audit(cube, status, required).passed
    # (e) nothing lost: every cell is there, published ones with their true value
    assert set(np.unique(status)) <= {PUBLISHED, SUPPRESSED_PRIMARY, SUPPRESSED_SECONDARY}
    assert len(status) == len(count)


@SLOW
@given(cubes())
def test_the_published_table_says_what_protection_decided(cube: Cube) -> None:
    """Each cell once, in the cube's order, with its codes and names as text, its status, and
    its count only where published."""
    protection = protect(cube, POLICY, SENSITIVE)
    names = {c: f'name of {c}, "quoted"' for c in cube.geo.codes[1:]}  # the first unnamed
    table = published_table(
        cube, protection, POLICY, names, {}, {c: c.lower() for c in cube.offence.codes}
    )
    cells = cube.cells
    for key in ("geo_level", "geo_code", "period_type", "period", "offence_level", "offence_code"):
        assert table[key].astype("str").tolist() == cells[key].tolist(), key
    geo_names = [None if pd.isna(name) else name for name in table["geo_name"]]
    assert geo_names == [names.get(c) for c in cells["geo_code"]]
    offence_names = cells["offence_code"].str.lower().tolist()
    assert table["offence_name"].astype("str").tolist() == offence_names
    assert table["status"].astype(object).tolist() == protection.status.tolist()
    published = protection.status == PUBLISHED
    assert table["count"][published].tolist() == cells["count"][published].tolist()
    assert table["count"][~published].isna().all()


def test_a_status_outside_the_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of"):
        status_categories(np.array([PUBLISHED, "hidden"], dtype=object))
    with pytest.raises(ValueError, match="not a position"):
        status_categories(np.array([0, 3], dtype=np.int8))


def test_statuses_by_name_and_by_code_are_the_same_categories() -> None:
    names = np.array([SUPPRESSED_SECONDARY, PUBLISHED, SUPPRESSED_PRIMARY, PUBLISHED], dtype=object)
    codes = status_codes(names)
    assert codes.dtype == np.int8 and codes.tolist() == [2, 0, 1, 0]
    assert status_codes(codes) is codes
    assert status_categories(codes).tolist() == status_categories(names).tolist() == names.tolist()


@settings(max_examples=15, deadline=None)
@given(cubes(max_count=6))
def test_audit_intervals_match_a_plain_lp_attack(cube: Cube) -> None:
    protection = protect(cube, POLICY, SENSITIVE)
    result = audit(cube, protection.status, protection.required_width)
    for row in result.cells.itertuples():
        low, high = plain_lp_interval(cube, protection.status, row.cell)
        # the audit's interval is inside the exact one and, where exact, equal to it
        assert low - 1e-6 <= row.lower and row.upper <= high + 1e-6
        if row.exact and np.isfinite(high):
            assert (row.lower, row.upper) == pytest.approx((low, high), abs=1e-6)
        # the verdict is the exact LP's verdict
        assert bool(row.ok) == (high - low >= row.required - 1e-6)


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
        offence_dimension(TYPES, PARENT),
    )


def test_suppressing_one_partner_in_a_row_is_caught() -> None:
    """The classic mistake: hide a small cell and one neighbour; the other total gives it away."""
    cube = two_municipalities_two_types()
    primary, required, _ = primary_cells(cube, POLICY, SENSITIVE)
    status = np.where(primary, SUPPRESSED_PRIMARY, PUBLISHED).astype(object)
    # hide only the row partner of the small cell (000001 × 44): the column still betrays it
    labels = cube.cells[["geo_code", "period", "offence_code"]].apply(tuple, axis=1).tolist()
    status[labels.index(("000001", "2025-01", "44"))] = SUPPRESSED_SECONDARY
    result = audit(cube, status, required)
    assert not result.passed
    small = labels.index(("000000", "2025-01", "44"))
    assert small in set(result.failing["cell"])
    assert result.failing.set_index("cell").loc[small, "width"] == pytest.approx(0)
    # and protect() finds a pattern that holds
    assert audit(cube, protect(cube, POLICY, SENSITIVE).status, required).passed


def test_previously_published_cells_are_known_to_the_attacker() -> None:
    """Differencing across releases: a cell published before is as good as published now."""
    cube = two_municipalities_two_types()
    protection = protect(cube, POLICY, SENSITIVE)
    assert audit(cube, protection.status, protection.required_width).passed
    secondary = np.flatnonzero(protection.status == SUPPRESSED_SECONDARY)
    count = cube.cells["count"].to_numpy()
    known = KnownCells(secondary, count[secondary])  # as if an old release showed them
    assert not audit(cube, protection.status, protection.required_width, known).passed
    # protecting with that knowledge avoids the known cells and passes
    again = protect(cube, POLICY, SENSITIVE, known=known)
    assert audit(cube, again.status, again.required_width, known).passed
