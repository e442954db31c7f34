"""Certificates of protection, checked against an exact LP attack on random tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from tests.transforms.privacy.strategies import PARENT, SENSITIVE, TYPES, cubes, geography
from tests.transforms.privacy.test_suppression import POLICY, plain_lp_interval, whole
from transforms.domain.counting import (
    Cube,
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
    sensitive_nodes,
)
from transforms.privacy.audit import audit
from transforms.privacy.cells import (
    PRIMARY_CODE,
    PUBLISHED_CODE,
    SECONDARY_CODE,
    primary_cells,
    required_widths,
)
from transforms.privacy.certificates import Certification, certify
from transforms.privacy.policy import sensitive_codes
from transforms.privacy.suppression import protect

EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def statuses(hidden: np.ndarray) -> np.ndarray:
    return np.where(hidden, PRIMARY_CODE, PUBLISHED_CODE).astype(np.int8)


def certified_by_protection(
    cube: Cube,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Certification]:
    """(primary cells, required widths, protected cells, the certificates protection chose)."""
    hidden, required, _ = primary_cells(cube, POLICY)
    targets = np.flatnonzero(required > 0)
    none = np.zeros(len(hidden), dtype=bool)
    made = certify(cube, hidden, none, required, targets, may_hide=True, cap=1e6, batches=2)
    return hidden, required, targets, made


@EXAMPLES
@given(cubes())
def test_every_certificate_lies_inside_the_exact_interval(cube: Cube) -> None:
    """A certificate names two feasible tables: the exact LP interval can only be wider."""
    hidden, _, _targets, made = certified_by_protection(cube)
    assert (made.hidden | ~hidden).all()  # protection only ever hides more
    # every cell a chosen direction moves, secondary ones too, within the exact interval
    for cell in np.flatnonzero(made.width > 0):
        low, high = plain_lp_interval(cube, made.hidden, int(cell))
        assert low - 1e-6 <= made.lower[cell] <= cube.count[cell]
        assert cube.count[cell] <= made.upper[cell] <= high + 1e-6
        assert whole(made.lower[cell], made.upper[cell]) == made.width[cell]
        assert made.width[cell] >= 1


@EXAMPLES
@given(cubes())
def test_the_audit_refinds_protection_certificates_from_statuses_alone(cube: Cube) -> None:
    hidden, required, targets, made = certified_by_protection(cube)
    proven = targets[made.width[targets] + 1e-9 >= required[targets]]
    none = np.zeros(len(hidden), dtype=bool)
    checked = certify(
        cube, made.hidden, none, required, targets, may_hide=False, cap=1e6, hints=made.hints
    )
    assert (checked.width[proven] + 1e-9 >= required[proven]).all()
    assert (checked.hidden == made.hidden).all()  # the audit never hides anything


def test_a_certificate_must_not_move_a_cell_readers_already_know() -> None:
    """Cells published by the previous release are constants: no direction may change them."""
    base = pd.DataFrame(
        [("000000", "2025-01", "44")] * 1
        + [("000001", "2025-01", "44")] * 7
        + [("000000", "2025-01", "45")] * 9
        + [("000001", "2025-01", "45")] * 8,
        columns=["geo", "period", "offence"],
    )
    cube = build_cube(
        base,
        geography_dimension(geography([2])),
        period_dimension(["2025-01"]),
        offence_dimension(TYPES, PARENT, SENSITIVE),
    )
    hidden, required, _ = primary_cells(cube, POLICY)
    targets = np.flatnonzero(required > 0)
    free = certify(
        cube, hidden, np.zeros(len(hidden), bool), required, targets, may_hide=True, cap=1e6
    )
    assert (free.width[targets] >= required[targets]).all()
    # freeze every cell the free pattern hid as a secondary: none of them may be used again
    frozen = free.hidden & ~hidden
    bound = certify(cube, hidden, frozen, required, targets, may_hide=True, cap=1e6)
    assert not (bound.hidden & frozen).any()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes())
def test_stale_hints_prove_nothing(cube: Cube) -> None:
    """Hints from a full protection, checked against the primary pattern alone (the secondary
    cells published): a direction through a published cell holds nothing, so the verdict is the
    one the audit reaches without hints."""
    protection = protect(cube, POLICY)
    primary, required, _ = primary_cells(cube, POLICY)
    status = statuses(primary)
    with_hints = audit(cube, status, required, hints=protection.hints)
    without = audit(cube, status, required)
    assert with_hints.passed == without.passed
    assert set(with_hints.failing["cell"]) == set(without.failing["cell"])
    assert audit(cube, protection.codes, protection.required_width, hints=protection.hints).passed


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes(max_count=6))
def test_scoped_lp_attacks_reach_the_exact_verdict(cube: Cube) -> None:
    """Scopes (the rest of the table handed to the attacker) only ever prove cells safe that
    are safe; what they cannot prove is attacked exactly, so the verdict is the plain LP's."""
    import transforms.privacy.audit as audit_module

    protection = protect(cube, POLICY)
    _, primary_required, _ = primary_cells(cube, POLICY)
    codes = protection.codes.copy()
    secondary = np.flatnonzero(codes == SECONDARY_CODE)
    codes[secondary[::2]] = PUBLISHED_CODE  # a weaker pattern: some cells fail
    hidden = codes != PUBLISHED_CODE
    required = required_widths(cube, POLICY, hidden, primary_required)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit_module, "SCOPED_ABOVE", 0)
        result = audit(cube, codes, required)
    for row in result.cells.itertuples():
        if row.certificate:
            continue
        low, high = plain_lp_interval(cube, hidden, row.cell)
        assert low - 1e-6 <= row.lower and row.upper <= high + 1e-6
        assert bool(row.ok) == (whole(low, high) >= row.required)


def test_a_large_table_is_proven_by_certificates_alone() -> None:
    """The path that scales: on a 300-municipality synthetic country (about 440,000 cells)
    every hidden non-zero cell of the offences published at every level, secondary ones
    included, gets a certificate, and the country's headline totals stay published. Sensitive
    offences form a branch of their own with two types: a cell of theirs whose required width
    of 10 no product of that small branch reaches is proven by the LP (a handful of solves)."""
    from testdata.national import country_hierarchy, offence_records, offence_tree

    units = country_hierarchy(300)
    names, parent = offence_tree()
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    cube = build_cube(
        offence_records(units, names, parent, per_year=67_000),
        geography_dimension(units),
        period_dimension(months),
        offence_dimension(names, parent, sensitive_codes(POLICY, names, parent)),
    )
    protection = protect(cube, POLICY)
    result = audit(cube, protection.codes, protection.required_width, hints=protection.hints)
    assert result.passed
    assert len(result.cells) > 10_000
    sensitive = sensitive_nodes(cube.offence)[cube.coordinates()[2]]
    by_lp = result.cells.loc[~result.cells["certificate"], "cell"].to_numpy()
    assert sensitive[by_lp].all()
    assert len(by_lp) < 0.01 * len(result.cells) and result.lp_solves < 200
    cells = cube.cells
    headline = cells.query("geo_level == 'country' and offence_code == 'NONSENSITIVE'").index
    assert not protection.hidden[headline].any()
    # without the hints the audit finds its own certificates and reaches the same verdict
    assert audit(cube, protection.codes, protection.required_width).passed
