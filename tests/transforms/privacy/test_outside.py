"""The police's own figures as outside knowledge: protection and the audit hold against a reader
who adds them to the release, checked against a plain LP attack written apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
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
    attack_targets,
    primary_cells,
    required_widths,
)
from transforms.privacy.outside import OutsideSums
from transforms.privacy.police_figures import PoliceFigures, police_knowledge
from transforms.privacy.suppression import protect

# TSK codes of the random tables' offences: "2" alone, the thefts group's two types, the
# sensitive type, and a code that counts more than the type it lists
CODES = {"101": {"2"}, "201": {"44", "45"}, "301": {"3"}, "401": {"45"}}


def plain_interval(
    cube: Cube, hidden: np.ndarray, outside: OutsideSums, cell: int
) -> tuple[float, float]:
    """Min and max of ``cell`` given every published cell, every relation of the cube and the
    outside sums, as dense LPs (an attacker written apart from the audit)."""
    n = len(cube.count)
    fixed = ~hidden
    eq_rows, eq_rhs, ub_rows, ub_rhs = [], [], [], []
    for totals, ptr, members, exact in (
        (cube.totals, cube.ptr, cube.members, True),
        (cube.at_least.totals, cube.at_least.ptr, cube.at_least.members, False),
    ):
        for r, total in enumerate(totals):
            row = np.zeros(n)
            row[members[ptr[r] : ptr[r + 1]]] += 1
            row[total] -= 1
            (eq_rows if exact else ub_rows).append(row)
            (eq_rhs if exact else ub_rhs).append(0.0)
    for r in range(len(outside)):
        row = np.zeros(n)
        row[outside.row_members(r)] = 1
        low, high = outside.lower[r], outside.upper[r]
        if low == high:
            eq_rows.append(row), eq_rhs.append(low)
            continue
        if np.isfinite(high):
            ub_rows.append(row), ub_rhs.append(high)
        if np.isfinite(low):
            ub_rows.append(-row), ub_rhs.append(-low)
    bounds = [
        (float(c), float(c)) if f else (0, None) for c, f in zip(cube.count, fixed, strict=True)
    ]
    unit = np.zeros(n)
    unit[cell] = 1
    arguments = {
        "A_eq": np.array(eq_rows),
        "b_eq": eq_rhs,
        "A_ub": np.array(ub_rows) if ub_rows else None,
        "b_ub": ub_rhs or None,
        "bounds": bounds,
        "method": "highs",
    }
    low = linprog(unit, **arguments)
    high = linprog(-unit, **arguments)
    assert low.status == 0 and high.status in (0, 3)
    return float(low.fun), (float(-high.fun) if high.status == 0 else np.inf)


def whole(low: float, high: float) -> float:
    return np.floor(high + 1e-6) - np.ceil(low - 1e-6)


@st.composite
def police_units(draw: st.DrawFn, cube: Cube) -> PoliceFigures:
    """Units inside each district (some cutting a municipality), the reports of some months
    counted from the cube's own records, and the code list above."""
    children = cube.geo.children()
    within: dict[str, frozenset[str]] = {}
    touching: dict[str, frozenset[str]] = {}
    for district in [c for c in cube.geo.codes if cube.geo.level[c] == "district"]:
        municipalities = sorted(children[district])
        cut = draw(st.lists(st.booleans(), min_size=len(municipalities) - 1,
                            max_size=len(municipalities) - 1))  # fmt: skip
        groups, current = [], [municipalities[0]]
        for municipality, new in zip(municipalities[1:], cut, strict=True):
            if new:
                groups.append(current)
                current = []
            current.append(municipality)
        groups.append(current)
        for i, members in enumerate(groups):
            unit = f"{district}U{i}"
            within[unit] = frozenset(members)
            touching[unit] = frozenset(members)
        if len(groups) > 1 and draw(st.booleans()):  # a boundary through the first unit's last
            shared = groups[0][-1]
            within[f"{district}U0"] = frozenset(groups[0][:-1])
            touching[f"{district}U1"] = touching[f"{district}U1"] | {shared}
    months = sorted(c for c in cube.period.codes if cube.period.level[c] == "month")
    reported = draw(st.lists(st.sampled_from(months), min_size=1, unique=True))
    cells = cube.cells
    rows = []
    for unit, members in touching.items():
        own = sorted(within[unit]) if within[unit] == members else None
        for month, (tsk, types) in ((m, c) for m in reported for c in CODES.items()):
            if own is None:  # the cut unit: its share of the shared municipality is drawn
                own = sorted(members)
            span = cells["period"].isin([m for m in months if m <= month])
            found = cells.loc[
                cells["geo_code"].isin(own) & span & cells["offence_code"].isin(types), "count"
            ].sum()
            if tsk == "401":
                found += draw(st.integers(0, 2))  # the code counts offences the files do not
            rows.append((unit, month, tsk, int(found)))
    reports = pd.DataFrame(rows, columns=["unit_code", "month", "tsk_code", "found"])
    return PoliceFigures(
        reports, within, touching, {k: frozenset(v) for k, v in CODES.items()},
        frozenset({"101", "201", "301"}),
    )  # fmt: skip


@SLOW
@given(st.data())
def test_protection_holds_against_a_reader_who_adds_the_police_figures(data: st.DataObject) -> None:
    cube = data.draw(cubes(max_count=6))
    police = data.draw(police_units(cube))
    outside = police_knowledge(cube, police)
    protection = protect(cube, POLICY, outside.known, outside=outside.sums)
    hidden = protection.codes != PUBLISHED_CODE
    result = audit(cube, protection.codes, protection.required_width, outside.known,
                   outside=outside.sums)  # fmt: skip
    assert result.passed
    # every protected cell keeps its width, or as much as the police figures alone leave it
    _, protected = attack_targets(hidden, protection.required_width, outside.known)
    everything_hidden = np.ones(len(cube.count), dtype=bool)
    for cell in protected[:15]:
        width = whole(*plain_interval(cube, hidden, outside.sums, int(cell)))
        before = whole(*plain_interval(cube, everything_hidden, outside.sums, int(cell)))
        assert width >= min(protection.required_width[cell], before)


@SLOW
@given(st.data())
def test_a_cell_taken_as_public_is_what_the_police_figures_alone_give(
    data: st.DataObject,
) -> None:
    """The cells protection skips as already public are determined by the figures without
    any cell of the release: a reader knows them before we publish."""
    cube = data.draw(cubes(max_count=6))
    police = data.draw(police_units(cube))
    outside = police_knowledge(cube, police)
    everything_hidden = np.ones(len(cube.count), dtype=bool)
    for cell, value in zip(outside.known.cells[:15], outside.known.counts[:15], strict=True):
        low, high = plain_interval(cube, everything_hidden, outside.sums, int(cell))
        assert low == high == value


def three_municipalities() -> Cube:
    """A shop theft (type 44) of 1 in municipality 000000 among larger cells, in one district
    of three municipalities."""
    counts = {("000000", "44"): 1, ("000001", "44"): 7, ("000002", "44"): 6,
              ("000000", "45"): 9, ("000001", "45"): 8, ("000002", "45"): 5}  # fmt: skip
    base = pd.DataFrame(
        [(g, "2025-01", o) for (g, o), n in counts.items() for _ in range(n)],
        columns=["geo", "period", "offence"],
    )
    return build_cube(
        base,
        geography_dimension(geography([3])),
        period_dimension(["2025-01"]),
        offence_dimension(TYPES, PARENT, SENSITIVE),
    )


def test_a_police_unit_of_two_municipalities_gives_away_a_cell_hidden_with_the_third() -> None:
    """The small cell hidden in a box with municipality 000002 holds against the table alone;
    the police's figure for the unit {000000, 000001} with 000001's published cell tells it.
    Protection that knows the figure hides more, and holds."""
    cube = three_municipalities()
    labels = cube.cells[["geo_code", "period", "offence_code"]].apply(tuple, axis=1).tolist()
    primary, primary_required, _ = primary_cells(cube, POLICY)
    codes = np.where(primary, PRIMARY_CODE, PUBLISHED_CODE).astype(np.int8)
    for key in [("000002", "44"), ("000000", "45"), ("000002", "45")]:
        for period in ("2025-01", "2025"):
            codes[labels.index((key[0], period, key[1]))] = SECONDARY_CODE
    required = required_widths(cube, POLICY, codes != PUBLISHED_CODE, primary_required)
    assert audit(cube, codes, required).passed
    unit = {"U": frozenset({"000000", "000001"})}
    reports = pd.DataFrame(
        [("U", "2025-01", "144", 8)], columns=["unit_code", "month", "tsk_code", "found"]
    )
    police = PoliceFigures(reports, unit, unit, {"144": frozenset({"44"})}, frozenset({"144"}))
    outside = police_knowledge(cube, police)
    assert (outside.figures, outside.broken) == (1, 0)
    result = audit(cube, codes, required, outside.known, outside=outside.sums)
    failing = {labels[c] for c in result.failing["cell"]}
    assert ("000000", "2025-01", "44") in failing
    aware = protect(cube, POLICY, outside.known, outside=outside.sums)
    assert audit(
        cube, aware.codes, aware.required_width, outside.known, outside=outside.sums
    ).passed


def test_a_figure_the_true_counts_break_is_left_out() -> None:
    cube = three_municipalities()
    units = {"U": frozenset({"000000", "000001"})}
    reports = pd.DataFrame(
        [("U", "2025-01", "44", 5)], columns=["unit_code", "month", "tsk_code", "found"]
    )
    police = PoliceFigures(reports, units, units, {"44": frozenset({"44"})}, frozenset({"44"}))
    outside = police_knowledge(cube, police)
    assert (outside.figures, outside.broken, len(outside.sums)) == (1, 1, 0)
    assert isinstance(outside.known, KnownCells) and len(outside.known) == 0


def test_two_broken_reports_tell_nothing_of_the_month_between_them() -> None:
    """The police count a January theft our files do not hold: January's report and
    January–February's both miss by one, while their difference is February's true count. A
    reader cannot tell such a pair from two reports that are wrong in different months, so
    February stays unknown: no figure names it, and no cell counts as public before the
    release (which would excuse the release from protecting it)."""
    thefts = [("000000", "2025-01")] * 2 + [("000000", "2025-02"), ("000001", "2025-02")]
    cube = build_cube(
        pd.DataFrame([(g, p, "44") for g, p in thefts], columns=["geo", "period", "offence"]),
        geography_dimension(geography([3])),
        period_dimension(["2025-01", "2025-02"]),
        offence_dimension(TYPES, PARENT, SENSITIVE),
    )
    units = {"U": frozenset({"000000", "000001"})}
    reports = pd.DataFrame(
        [("U", "2025-01", "144", 3), ("U", "2025-02", "144", 5)],
        columns=["unit_code", "month", "tsk_code", "found"],
    )
    police = PoliceFigures(reports, units, units, {"144": frozenset({"44"})}, frozenset({"144"}))
    outside = police_knowledge(cube, police)
    assert (outside.figures, outside.broken, len(outside.sums)) == (2, 2, 0)
    assert len(outside.known) == 0
