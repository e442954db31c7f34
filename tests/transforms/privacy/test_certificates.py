"""Certificates of protection, checked against an exact LP attack on random tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from tests.transforms.privacy.strategies import PARENT, SENSITIVE, TYPES, cubes, geography
from tests.transforms.privacy.test_suppression import POLICY, plain_lp_interval
from transforms.aggregate import (
    Cube,
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
)
from transforms.privacy.audit import audit
from transforms.privacy.certificates import Certification, certify
from transforms.privacy.suppression import (
    PUBLISHED,
    SUPPRESSED_PRIMARY,
    primary_cells,
    protect,
)

EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def statuses(hidden: np.ndarray) -> np.ndarray:
    return np.where(hidden, SUPPRESSED_PRIMARY, PUBLISHED).astype(object)


def certified_by_protection(
    cube: Cube,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Certification]:
    """(primary cells, required widths, protected cells, the certificates protection chose)."""
    hidden, required, _ = primary_cells(cube, POLICY, SENSITIVE)
    targets = np.flatnonzero(required > 0)
    none = np.zeros(len(hidden), dtype=bool)
    made = certify(cube, hidden, none, required, targets, may_hide=True, cap=1e6, batches=2)
    return hidden, required, targets, made


@EXAMPLES
@given(cubes())
def test_every_certificate_lies_inside_the_exact_interval(cube: Cube) -> None:
    """A certificate names two feasible tables: the exact LP interval can only be wider."""
    hidden, _, targets, made = certified_by_protection(cube)
    assert (made.hidden | ~hidden).all()  # protection only ever hides more
    status = statuses(made.hidden)
    for cell in targets[made.width[targets] > 0]:
        low, high = plain_lp_interval(cube, status, int(cell))
        assert low - 1e-6 <= made.lower[cell] <= cube.cells["count"].iat[cell]
        assert cube.cells["count"].iat[cell] <= made.upper[cell] <= high + 1e-6
        assert made.upper[cell] - made.lower[cell] == pytest.approx(made.width[cell])


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
        offence_dimension(TYPES, PARENT),
    )
    hidden, required, _ = primary_cells(cube, POLICY, SENSITIVE)
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
    protection = protect(cube, POLICY, SENSITIVE)
    primary, required, _ = primary_cells(cube, POLICY, SENSITIVE)
    status = statuses(primary)
    with_hints = audit(cube, status, required, hints=protection.hints)
    without = audit(cube, status, required)
    assert with_hints.passed == without.passed
    assert set(with_hints.failing["cell"]) == set(without.failing["cell"])
    assert audit(cube, protection.status, required, hints=protection.hints).passed


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes(max_count=6))
def test_scoped_lp_attacks_reach_the_exact_verdict(cube: Cube) -> None:
    """Scopes (the rest of the table handed to the attacker) only ever prove cells safe that
    are safe; what they cannot prove is attacked exactly, so the verdict is the plain LP's."""
    import transforms.privacy.audit as audit_module

    protection = protect(cube, POLICY, SENSITIVE)
    _, required, _ = primary_cells(cube, POLICY, SENSITIVE)
    status = protection.status.copy()
    secondary = np.flatnonzero(status == "suppressed_secondary")
    status[secondary[::2]] = PUBLISHED  # a weaker pattern: some cells fail
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit_module, "SCOPED_ABOVE", 0)
        result = audit(cube, status, required)
    for row in result.cells.itertuples():
        if row.certificate:
            continue
        low, high = plain_lp_interval(cube, status, row.cell)
        assert low - 1e-6 <= row.lower and row.upper <= high + 1e-6
        assert bool(row.ok) == (high - low >= row.required - 1e-6)


def test_a_large_table_is_proven_by_certificates_alone() -> None:
    """The path that scales: on a 300-municipality synthetic country (about 440,000 cells) every
    protected cell gets a certificate, so neither protection nor the audit needs an LP, and
    the national totals of all offences stay published."""
    from transforms.synthetic import country_hierarchy, offence_records, offence_tree

    units = country_hierarchy(300)
    names, parent = offence_tree()
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    cube = build_cube(
        offence_records(units, names, parent, per_year=67_000),
        geography_dimension(units),
        period_dimension(months),
        offence_dimension(names, parent),
    )
    protection = protect(cube, POLICY, {6, 7})
    result = audit(cube, protection.status, protection.required_width, hints=protection.hints)
    assert result.passed
    assert len(result.cells) > 10_000
    assert result.cells["certificate"].all() and result.lp_solves == 0
    headline = cube.cells.query("geo_level == 'country' and offence_code == 'ALL'").index
    assert (protection.status[headline] == PUBLISHED).all()
    # without the hints the audit finds its own certificates and reaches the same verdict
    assert audit(cube, protection.status, protection.required_width).passed
