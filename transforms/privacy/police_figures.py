"""The police's own statistics as a reader of the incident tables holds them.

The police publish, per police unit and month, the offences found since January by TSK code
(``transforms.sources.police_reports``). Where TSK codes and the incident types map onto each
other, such a figure is a sum of cells of the incident cube: the unit's municipalities × the
months since January × the types the code counts. The audit adds it as an outside sum
(``transforms.privacy.outside``):

- a code that counts exactly the listed types (``exact``), in a unit whose municipalities lie
  wholly inside it: ``Σ = figure``;
- a unit that cuts municipalities (an overlay, ``transforms.domain.police_overlay``): the
  municipalities wholly inside hold at most the figure, those it touches at least;
- a code that counts more than its types, or a year whose earlier months this release does not
  hold: the cells hold at most the figure.

A figure the true incident counts break (the two sources count differently there) tells a
reader nothing exact and is left out; the operator's report says how many.

Cells the figures alone determine (a district that is the union of whole units, a month between
two reports, a group whose every type a code counts exactly) are public before this release:
they are known cells, needing no protection, as an earlier release's are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.domain.counting import Cube, Dimension
from transforms.privacy.cells import NOTHING_KNOWN, KnownCells
from transforms.privacy.outside import (
    NO_OUTSIDE_SUMS,
    OutsideSums,
    atom_positions,
    coded_at_internal_nodes,
    outside_sums,
)


@dataclass(frozen=True)
class PoliceFigures:
    """The police's figures and how they meet the incident cube."""

    # unit_code, month (YYYY-MM: the report's last month), tsk_code, found (from January)
    reports: pd.DataFrame
    within: Mapping[str, frozenset[str]]  # unit → municipalities wholly inside it
    touching: Mapping[str, frozenset[str]]  # unit → municipalities it reaches
    offences: Mapping[str, frozenset[str]]  # TSK code → incident offence codes it counts
    exact: frozenset[str]  # TSK codes that count exactly those offences


@dataclass(frozen=True)
class OutsideKnowledge:
    sums: OutsideSums
    known: KnownCells
    figures: int  # police figures that meet the cube
    broken: int  # of them, figures the true counts break (left out)


NO_KEY = ("", "", "")  # a row that is a bound, not an equality
NOTHING_OUTSIDE = OutsideKnowledge(NO_OUTSIDE_SUMS, NOTHING_KNOWN, 0, 0)


def police_knowledge(cube: Cube, police: PoliceFigures) -> OutsideKnowledge:
    """The outside sums and the cells they determine, for one year's cube."""
    months = _month_leaves(cube.period)
    if not months or not len(police.reports):
        return NOTHING_OUTSIDE
    offence_index = cube.offence.index()
    in_cube = set(_leaves(cube.geo))
    mapped = {
        k: sorted(_topmost(cube.offence, {o for o in codes if o in offence_index}))
        for k, codes in police.offences.items()
    }
    rows: list[tuple[np.ndarray, float, float]] = []
    equal_keys: list[tuple[str, str, str]] = []
    for unit, month, tsk, found in police.reports[
        ["unit_code", "month", "tsk_code", "found"]
    ].itertuples(index=False):
        types = mapped.get(str(tsk), [])
        if not types or str(month) not in months:
            continue
        span = [f"{month[:4]}-{m:02d}" for m in range(1, int(month[5:]) + 1)]
        complete = all(m in months for m in span)
        within = police.within.get(unit, frozenset())
        touching = police.touching.get(unit, frozenset()) | within
        whole_in_cube = within <= in_cube and touching <= in_cube
        exact = complete and str(tsk) in police.exact and whole_in_cube
        in_span = [m for m in span if m in months]
        inside = _cells(cube, sorted(within & in_cube), in_span, types)
        if exact and within == touching:
            rows.append((inside, float(found), float(found)))
            equal_keys.append((unit, str(month), str(tsk)))
            continue
        rows.append((inside, -np.inf, float(found)))
        equal_keys.append(NO_KEY)
        if exact:
            rows.append((_cells(cube, sorted(touching), in_span, types), float(found), np.inf))
            equal_keys.append(NO_KEY)
    kept = [i for i, (members, _, _) in enumerate(rows) if len(members)]
    sums = outside_sums([rows[i] for i in kept])
    holding = sums.holding(cube.count)
    held_keys = {equal_keys[i] for i, ok in zip(kept, holding, strict=True) if ok} - {NO_KEY}
    known = _determined(cube, police, mapped, held_keys)
    return OutsideKnowledge(
        sums.subset(np.flatnonzero(holding)), known, len(sums), int((~holding).sum())
    )


def _cells(cube: Cube, geo: list[str], periods: list[str], offences: list[str]) -> np.ndarray:
    """The cube cells of every combination of the given codes."""
    g, p, o = (
        np.array([d.index()[c] for c in codes], dtype=np.int64)
        for d, codes in ((cube.geo, geo), (cube.period, periods), (cube.offence, offences))
    )
    grid = np.ix_(g, p, o)
    return ((grid[0] * cube.shape[1] + grid[1]) * cube.shape[2] + grid[2]).ravel()


def _determined(
    cube: Cube,
    police: PoliceFigures,
    mapped: Mapping[str, list[str]],
    held: set[tuple[str, str, str]],
) -> KnownCells:
    """Cells whose value the exact figures alone give: the cell's municipalities are a union
    of whole units, its records a union of exact codes' types, and its months run from the
    month after a report to a report's month, for every such unit and code."""
    reported: dict[tuple[str, str], set[str]] = {}
    for unit, month, tsk in held:
        reported.setdefault((unit, tsk), set()).add(month)
    units = {u for u, _ in reported}
    codes = {k for _, k in reported}
    geo_leaves = {g: set(_leaves(cube.geo, g)) for g in cube.geo.codes}
    unit_sets = {u: set(police.within[u]) for u in units}
    atoms = _offence_atoms(cube)
    code_atoms = {k: set().union(*(atoms[t] for t in mapped[k])) for k in codes}
    periods = {
        p: (span[0], span[-1])
        for p in cube.period.codes
        if cube.period.level[p] != "part" and (span := sorted(_leaves(cube.period, p)))
    }
    geo_index, period_index, offence_index = (
        d.index() for d in (cube.geo, cube.period, cube.offence)
    )
    cells: list[int] = []
    for g, leaves in geo_leaves.items():
        inside = [u for u in units if unit_sets[u] <= leaves]
        if not inside or set().union(*(unit_sets[u] for u in inside)) != leaves:
            continue
        for o in cube.offence.codes:
            own = [k for k in codes if code_atoms[k] <= atoms[o]]
            if not own or set().union(*(code_atoms[k] for k in own)) != atoms[o]:
                continue
            for p, (first, last) in periods.items():
                before = _previous_month(first)
                if all(
                    last in reported.get((u, k), set())
                    and (first.endswith("-01") or before in reported.get((u, k), set()))
                    for u in inside
                    for k in own
                ):
                    flat = (geo_index[g] * cube.shape[1] + period_index[p]) * cube.shape[2]
                    cells.append(flat + offence_index[o])
    if not cells:
        return NOTHING_KNOWN
    found = np.unique(np.array(cells, dtype=np.int64))
    return KnownCells(found, cube.count[found])


def _previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year:04d}-{number - 1:02d}" if number > 1 else f"{year - 1:04d}-12"


def _month_leaves(period: Dimension) -> set[str]:
    return {c for c in period.codes if period.level[c] == "month"}


def _leaves(dim: Dimension, under: str | None = None) -> list[str]:
    """The leaves of ``dim`` (below ``under``, itself included, when given)."""
    children = dim.children()
    if under is None:
        return [c for c in dim.codes if c not in children]
    found, stack = [], [under]
    while stack:
        node = stack.pop()
        kids = children.get(node, [])
        if not kids:
            found.append(node)
        stack.extend(kids)
    return found


def _topmost(offence: Dimension, codes: set[str]) -> set[str]:
    """The codes none of whose ancestors is in the set: a type's cell holds its subtypes."""
    return {c for c in codes if not any(a in codes for a in offence.ancestors_or_self(c)[1:])}


def _offence_atoms(cube: Cube) -> dict[str, set[str]]:
    """Per offence node, the nodes whose own records it counts (``outside.atom_positions``)."""
    positions = atom_positions(cube.offence, coded_at_internal_nodes(cube))
    codes = cube.offence.codes
    return {codes[i]: {codes[a] for a in atoms} for i, atoms in enumerate(positions)}
